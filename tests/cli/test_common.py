"""``cli.common``: one error contract for every command (exit codes; JSON on stdout under --json)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from cli.__main__ import app
from bench.load import BenchError
from artifacts.builder import BuildError
from cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NONCOMPLIANT, error_json, guarded, reported
from config.errors import ConfigError, NonCompliantError
from local.errors import ChallengeError, FleetError
from local.engine.proc import CommandError

runner = CliRunner()


@pytest.mark.parametrize("error,code,key,fix", [
    (NonCompliantError("not compliant", key="mpic:perspectives", value=["a"], fix="fix it", report=None),
     EXIT_NONCOMPLIANT, "mpic:perspectives", "fix it"),
    (ConfigError("bad", key="--count", value=1, fix="raise it"), EXIT_BAD_INPUT, "--count", "raise it"),
    (ChallengeError("no such method", key="--method", value="x", fix="name one"), EXIT_BAD_INPUT, "--method", "name one"),
    (FleetError("the fleet is down"), EXIT_FAILED, None, None),
    (BuildError("pip failed"), EXIT_FAILED, None, None),
    (BenchError("no server"), EXIT_FAILED, None, None),
    (CommandError("knotc failed"), EXIT_FAILED, None, None),
])
def test_reported_maps_errors_to_exit_codes_and_json(capsys, error, code, key, fix):
    for as_json in (False, True):
        with pytest.raises(typer.Exit) as exit_:
            with reported(as_json):
                raise error
        assert exit_.value.exit_code == code
        out, err = capsys.readouterr()
        if as_json:
            assert json.loads(out) == {"error": {**error_json(error), "key": key, "fix": fix}} and err == ""
        else:
            assert out == "" and str(error) in err


def test_guarded_returns_the_value_or_exits(capsys):
    assert guarded(lambda x: x + 1, 1) == 2
    with pytest.raises(typer.Exit):
        guarded(lambda: (_ for _ in ()).throw(ConfigError("no")))
    assert error_json(RuntimeError("plain")) == {"key": None, "value": None, "message": "plain", "fix": None}


def test_messages_print_as_written_not_as_rich_markup(capsys):
    with pytest.raises(typer.Exit):
        with reported():
            raise ConfigError("e.g. [us-west-2, eu-west-1] and [bold]not bold[/]")
    assert "e.g. [us-west-2, eu-west-1] and [bold]not bold[/]" in capsys.readouterr().err


@pytest.mark.parametrize("args,key,value", [
    (["nosuch", "--json"], "command", "nosuch"),
    (["suggest", "--count=five", "--json"], "--count", "five"),
    (["suggest", "--json", "--count"], "--count", None),
])
def test_usage_errors_under_json(args, key, value):
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert error["key"] == key and error["value"] == value and "--help" in error["fix"]


def test_a_json_command_that_succeeds_or_asks_for_help_keeps_its_exit_code():
    assert runner.invoke(app, ["check", "--help", "--json"]).exit_code == 0
    assert runner.invoke(app, ["check", "--regions", "us-east-1,us-east-2", "--json"]).exit_code == 1


def test_one_error_root_and_the_report_travels_with_the_refusal():
    from config.errors import KitError
    from config.gate import compliance_gate
    from config.model import StackConfig

    for cls in (ConfigError, NonCompliantError, ChallengeError, FleetError, BuildError, BenchError, CommandError):
        assert issubclass(cls, KitError), cls
    fleet = StackConfig.from_config({"target": "local", "perspectives": ["us-east-1", "us-east-2"],
                                     "asOf": "2026-12-15"}, name="t")
    with pytest.raises(NonCompliantError) as refused:
        compliance_gate(fleet)
    assert refused.value.exit_code == EXIT_NONCOMPLIANT and not refused.value.report.compliant
    assert {f.rule for f in refused.value.report.violations} >= {"R1", "R3"}
