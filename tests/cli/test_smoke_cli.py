"""``mpic smoke``: a deployed stack that cannot be reached is one line and exit 2 before any test
runs; ``--json`` is one report built from pytest's JUnit XML."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import smoke as smoke_cli
from cli.__main__ import app

runner = CliRunner()


def _path_with(tmp_path: Path, pulumi: str | None) -> str:
    """A PATH holding python but no Pulumi CLI, or a fake one running ``pulumi`` (a shell body)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if pulumi is not None:
        tool = bin_dir / "pulumi"
        tool.write_text(f"#!/bin/sh\n{pulumi}\n")
        tool.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


@pytest.mark.parametrize("pulumi, needle", [
    (None, "the Pulumi CLI is not installed"),
    ("echo 'error: no stack named aws-hosts found' >&2; exit 255", "failed: error: no stack named aws-hosts found"),
    ("echo '{}'", "has no coordinator_url output: deploy it first"),
    ("echo 'not json'", "has no coordinator_url output"),
])
def test_a_deployed_stack_out_of_reach_is_one_line_and_exit_2(tmp_path, monkeypatch, pulumi, needle):
    monkeypatch.setenv("PATH", _path_with(tmp_path, pulumi))
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: calls.append(a) or 0)
    out = runner.invoke(app, ["smoke", "aws-hosts"])
    assert out.exit_code == 2 and needle in out.output and calls == [], out.output
    assert len(out.output.strip().splitlines()) == 1 and "Traceback" not in out.output
    as_json = runner.invoke(app, ["smoke", "aws-hosts", "--json"])
    assert as_json.exit_code == 2 and needle in json.loads(as_json.stdout)["error"]["message"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.smoke.test_api" name="test_ok"/>
<testcase classname="tests.smoke.test_api" name="test_bad"><failure message="assert 503 == 200">x</failure></testcase>
<testcase classname="tests.smoke.test_hosts" name="test_skip"><skipped message="local only"/></testcase>
</testsuite></testsuites>"""


def test_json_report_from_the_suites_junit_xml(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_with(tmp_path, "echo '{\"coordinator_url\": \"https://mpic.example-ca.net\"}'"))
    seen = {}

    def fake_pytest(argv, **kwargs):
        seen.update(argv=argv, stdout=kwargs.get("stdout"))
        Path(next(a for a in argv if a.startswith("--junitxml=")).split("=", 1)[1]).write_text(JUNIT)
        return 1

    monkeypatch.setattr(subprocess, "call", fake_pytest)
    out = runner.invoke(app, ["smoke", "aws-hosts", "--json", "-k", "api"])
    doc = json.loads(out.stdout)
    assert out.exit_code == 1 and doc["ok"] is False and doc["stack"] == "aws-hosts"
    assert doc["counts"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    assert {"name": "tests.smoke.test_api::test_bad", "outcome": "failed", "message": "assert 503 == 200"} in doc["tests"]
    assert "-k" in seen["argv"] and "--json" not in seen["argv"]  # --json is the command's, never pytest's
    assert smoke_cli.junit_report(tmp_path / "missing.xml", "x", 4)["counts"]["passed"] == 0


def test_a_stack_file_path_is_resolved_from_where_the_operator_stands(tmp_path, monkeypatch):
    path = tmp_path / "Pulumi.mine.yaml"
    path.write_text((Path(smoke_cli.KIT_ROOT) / "stacks" / "Pulumi.local.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    seen = {}
    monkeypatch.setattr(subprocess, "call", lambda argv, **kw: seen.update(env=kw["env"]) or 0)
    out = runner.invoke(app, ["smoke", "Pulumi.mine.yaml"])
    assert out.exit_code == 0 and seen["env"]["MPIC_SMOKE_STACK"] == str(path)
    assert os.path.isabs(seen["env"]["MPIC_SMOKE_STACK"])
