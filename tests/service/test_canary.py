"""service.canary without a fleet: the verdict arithmetic on coordinator answers, the sinks,
the Route53 writer (moto), the settings and the ``canary`` role's exits. The whole round trip
through a real fleet (RFC 2136 into Knot, the coordinator, the alarms) is tests/fleet/test_canary.py."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from service import canary
from service.__main__ import main
from service.settings_canary import CanaryDnsSettings, CanarySinkSettings

CODES = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]


class Writer:
    def __init__(self):
        self.records: dict[str, str] = {}

    def set_txt(self, name: str, value: str) -> None:
        self.records[name] = value


def coordinator(writer: Writer, *, failing: tuple[str, ...] = (), quorum: int = 4, caa: bool = True,
                accept_wrong: bool = False):
    """Answers like a coordinator that reads the writer's record: valid when the token matches
    and enough perspectives (not in ``failing``) pass."""
    calls = []

    def post(body: dict, await_all: bool) -> dict:
        calls.append((body, await_all))
        if body["check_type"] == "caa":
            return {"is_valid": caa, "perspectives": []}
        token = body["dcv_check_parameters"]["challenge_value"]
        match = writer.records.get(f"_mpic-canary.{body['domain_or_ip_target']}") == token or accept_wrong
        perspectives = [{"perspective_code": c, "check_response": {"check_passed": match and c not in failing,
                                                                    "timestamp_ns": 10**19}} for c in CODES]
        passed = sum(p["check_response"]["check_passed"] for p in perspectives)
        return {"is_valid": passed >= quorum, "actual_orchestration_parameters": {"quorum_count": quorum},
                "perspectives": perspectives}

    post.calls = calls  # type: ignore[attr-defined]
    return post


def test_a_healthy_fleet_has_margin_one_and_the_right_token_waits_for_everyone():
    w = Writer()
    post = coordinator(w)
    result = canary.run_once("canary.t.example", w, post)
    assert result.ok and (result.valid, result.rejected, result.caa_valid) == (True, True, True)
    assert (result.passed, result.quorum, result.margin) == (5, 4, 1) and result.error is None
    assert set(result.latency_ms) == set(CODES)
    (right, all_1), (wrong, all_2), (caa, all_3) = post.calls
    assert (all_1, all_2, all_3) == (True, False, False)  # only the margin needs every perspective
    assert right["dcv_check_parameters"]["challenge_value"] != wrong["dcv_check_parameters"]["challenge_value"]
    assert right["dcv_check_parameters"]["dns_name_prefix"] == "_mpic-canary" and caa["check_type"] == "caa"


@pytest.mark.parametrize("kwargs, margin, error", [
    ({"failing": ("eu-west-1",)}, 0, None),
    ({"failing": ("eu-west-1", "sa-east-1")}, -1, "expected right token valid"),
    ({"caa": False}, 1, "expected CAA valid"),
    ({"accept_wrong": True}, 1, "expected wrong token invalid"),
])
def test_what_the_canary_reports(kwargs, margin, error):
    w = Writer()
    result = canary.run_once("canary.t.example", w, coordinator(w, **kwargs))
    assert result.margin == margin and result.ok is (error is None) and result.error == error


def test_a_run_that_cannot_complete_is_a_failed_result_not_an_exception():
    class Broken:
        def set_txt(self, name, value):
            raise OSError("connection refused")

    result = canary.run_once("canary.t.example", Broken(), coordinator(Writer()))
    assert not result.ok and result.error == "OSError: connection refused" and result.margin is None


def test_metrics_formats():
    w = Writer()
    result = canary.run_once("canary.t.example", w, coordinator(w, failing=("eu-west-1",)))
    doc = canary.emf(result, "prod")
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MPIC/Canary" and directive["Dimensions"] == [["Stack"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"Valid", "Runs", "DurationMs", "Margin"}
    assert (doc["Valid"], doc["Margin"], doc["Runs"], doc["Stack"]) == (1, 0, 1, "prod")
    text = canary.prometheus_text(result, "prod")
    assert 'mpic_canary_margin{stack="prod"} 0\n' in text and 'mpic_canary_ok{stack="prod"} 1\n' in text
    assert 'mpic_canary_perspective_latency_seconds{stack="prod",perspective="eu-west-1"}' in text
    failed = canary.CanaryResult(at=1.0, domain="d", error="x")
    assert "Margin" not in canary.emf(failed, "p") and "mpic_canary_margin" not in canary.prometheus_text(failed, "p")


def test_sinks(tmp_path, capsys):
    result = canary.CanaryResult(at=5.0, domain="d", ok=True, margin=1, passed=5, quorum=4)
    canary.publish(result, CanarySinkSettings(kind="file", path=str(tmp_path / "r" / "results.jsonl")), "s")
    canary.publish(result, CanarySinkSettings(kind="file", path=str(tmp_path / "r" / "results.jsonl")), "s")
    lines = (tmp_path / "r" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["margin"] == 1
    canary.publish(result, CanarySinkSettings(kind="emf"), "s")
    assert json.loads(capsys.readouterr().out)["Margin"] == 1
    got = {}

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - the stdlib's name
            got["path"] = self.path
            got["body"] = self.rfile.read(int(self.headers["content-length"])).decode()
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        canary.publish(result, CanarySinkSettings(kind="pushgateway", url=url), "prod")
    finally:
        server.shutdown()
    assert got["path"] == "/metrics/job/mpic-canary/stack/prod" and 'mpic_canary_margin{stack="prod"} 1' in got["body"]


def test_route53_writer_against_moto(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for k, v in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        client = boto3.client("route53")
        zone = client.create_hosted_zone(Name="t.example.", CallerReference="c")["HostedZone"]["Id"].split("/")[-1]
        writer = canary.writer_for(CanaryDnsSettings(provider="route53", zone="t.example", zone_id=zone))
        writer.set_txt("_mpic-canary.canary.t.example", "tok1")
        writer.set_txt("_mpic-canary.canary.t.example", "tok2")  # replaced, not added
        sets = client.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        txt = [s for s in sets if s["Type"] == "TXT"]
        assert txt == [{"Name": "_mpic-canary.canary.t.example.", "Type": "TXT", "TTL": 1,
                        "ResourceRecords": [{"Value": '"tok2"'}]}]


@pytest.mark.parametrize("doc, needle", [
    ({"provider": "route53", "zone": "t.example"}, "needs zone_id"),
    ({"provider": "rfc2136", "zone": "t.example", "server": "1.2.3.4"}, "needs key_name, key_secret"),
])
def test_dns_settings_name_what_is_missing(doc, needle):
    with pytest.raises(ValueError, match=needle):
        CanaryDnsSettings(**doc)


def test_canary_role_exits(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stack: s\n")
    assert main(["canary", "--settings", str(bad)]) == 2
    assert "coordinator_url" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps({"stack": "s", "coordinator_url": "https://127.0.0.1:1", "api_key": "k",
                                "domain": "canary.t.example", "sink": {"kind": "file", "path": str(tmp_path / "r")},
                                "dns": {"provider": "rfc2136", "zone": "t.example", "server": "127.0.0.1",
                                        "port": 1, "key_name": "k", "key_secret": "c2VjcmV0"}}))
    assert main(["canary", "--settings", str(good), "--check"]) == 0
    with pytest.raises(ValueError, match="kind file needs path"):
        CanarySinkSettings(kind="file")
    assert main(["canary", "--settings", str(good), "--once"]) == 1  # nothing listens: a failed run, exit 1
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["ok"] is False and "Error" in printed["error"]
