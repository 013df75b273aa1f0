"""The canary on the real local fleet: the runtime's canary writes its TXT into Knot (RFC 2136,
TSIG, one record only), asks the coordinator through its load balancer and reports the margin;
the alarms follow a region down and back; /readyz follows the quorum."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from typer.testing import CliRunner

from cli.__main__ import app
from local.roles import canary as local_canary
from local.actions import faults
from local.engine import private
from local.actions.client import api_request
from local.engine.state import State
from service import canary
from service.settings_canary import CanaryDnsSettings, CanarySettings

pytestmark = [pytest.mark.root, pytest.mark.fleet]
runner = CliRunner()


def _state(fleet) -> State:
    return State.load(fleet["stack"])


def _settings(fleet) -> CanarySettings:
    """The canary's settings as it reads them in its own folder (local/engine/private.py), seen from root."""
    own = private.folder(_state(fleet), local_canary.NAME)
    doc = yaml.safe_load((own / "settings.yaml").read_text())
    assert doc["ca_file"] == str(private.root(_state(fleet)) / "ca.crt")
    return CanarySettings(**{**doc, "ca_file": str(own / "ca.crt")})


def test_the_fleet_runs_its_canary_from_up(fleet):
    state = _state(fleet)
    assert "canary" in state.data["processes"] and state.data["processes"]["canary"]["netns"] is None
    deadline = time.monotonic() + 60
    while not local_canary.history(state) and time.monotonic() < deadline:
        time.sleep(0.5)
    report = local_canary.report(state)
    assert report["last"] is not None and report["record"] == f"_mpic-canary.canary.{fleet['test_domain']}"


def test_a_run_in_process_writes_the_record_and_measures_the_margin(fleet):
    settings = _settings(fleet)
    assert settings.dns.provider == "rfc2136" and settings.sink.kind == "file"
    result = canary.run(settings)
    assert result.ok, result
    assert (result.passed, result.quorum, result.margin) == (5, 4, 1)
    assert set(result.latency_ms) == {p["code"] for p in fleet["perspectives"]}
    assert local_canary.history(_state(fleet))[-1]["at"] == result.at


def test_knot_takes_the_canary_record_only_and_only_with_its_key(fleet):
    settings = _settings(fleet)
    dns = settings.dns
    good = canary.Rfc2136Writer(dns)
    with pytest.raises(canary.CanaryError, match="refused|REFUSED|NOTAUTH"):  # the ACL: one owner name, TXT only
        good.set_txt(f"www.{fleet['test_domain']}", "x")
    forged = CanaryDnsSettings(**{**dns.model_dump(), "key_secret": "Zm9yZ2VkLWtleS1mb3JnZWQta2V5LWZvcmdlZC1rZXk="})
    with pytest.raises(canary.CanaryError, match="refused|NOTAUTH"):
        canary.Rfc2136Writer(forged).set_txt(f"_mpic-canary.canary.{fleet['test_domain']}", "x")


def test_the_lambda_handler_runs_the_same_canary_and_prints_cloudwatch_metrics(fleet, tmp_path, monkeypatch, capsys):
    from service import lambda_handler

    doc = _settings(fleet).model_dump(mode="json")
    doc["api_key"] = _settings(fleet).api_key.get_secret_value()
    doc["dns"]["key_secret"] = _settings(fleet).dns.key_secret.get_secret_value()
    doc["sink"] = {"kind": "emf"}
    path = tmp_path / "canary.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("MPIC_SETTINGS_FILE", str(path))
    lambda_handler._state.pop("canary", None)
    try:
        out = lambda_handler.canary_handler({"source": "aws.scheduler"}, None)
    finally:
        lambda_handler._state.pop("canary", None)
    assert out["ok"] and out["margin"] == 1
    emf = json.loads([ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")][-1])
    assert emf["Margin"] == 1 and emf["Valid"] == 1 and emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MPIC/Canary"


def _canary_cli(*args: str):
    res = runner.invoke(app, ["canary", *args])
    return res.exit_code, res.stdout


def test_margin_alarm_follows_a_region_down_and_back(healed):
    fleet = healed
    code, out = _canary_cli("--once")
    assert code == 0 and "margin 1 (5 passed, quorum 4)" in out and "alarms: none" in out, out
    region = fleet["perspectives"][1]["code"]
    faults.kill_region(fleet["stack"], region)
    code, out = _canary_cli("--once", "--json")
    report = json.loads(out)
    assert code == 1 and report["last"]["margin"] == 0 and report["alarms"] == ["margin"], out
    assert report["last"]["ok"] is True  # still corroborating: one failure away from not
    faults.heal(fleet["stack"])
    code, out = _canary_cli("--once")
    assert code == 0 and "alarms: none" in out, out
    status = runner.invoke(app, ["status"])
    assert "canary: ok, margin 1" in status.stdout


def _readyz(fleet) -> int:
    return api_request(fleet["coordinator_url"], fleet["ca_cert"], path="/readyz", timeout=10,
                       resolver=fleet.get("client_resolver"))[0]


def test_readyz_turns_503_below_the_quorum_and_200_after_heal(healed):
    fleet = healed
    assert _readyz(fleet) == 200
    for region in [p["code"] for p in fleet["perspectives"]][3:5]:
        faults.partition(fleet["stack"], region)
    deadline = time.monotonic() + 20
    while _readyz(fleet) != 503:  # the answer is cached for 5 s
        assert time.monotonic() < deadline, "/readyz still 200 with 3 of 5 perspectives reachable (quorum 4)"
        time.sleep(0.5)
    faults.heal(fleet["stack"])
    deadline = time.monotonic() + 20
    while _readyz(fleet) != 200:
        assert time.monotonic() < deadline, "/readyz did not recover after heal"
        time.sleep(0.5)
