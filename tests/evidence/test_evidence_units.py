"""The evidence layer on lines the runtime's own writer produced (service.audit): chains checked,
coordinators reconciled with perspectives, windows sliced, CloudWatch Logs read (moto), bundles
written and verified, the command's answers."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.__main__ import app
from evidence import bundle, chain, collect, sources
from evidence.sources import Window
from service.audit import AuditLog

runner = CliRunner()


def _fleet(folder: Path, *, rid: str = "mpic-1", outcome: str = "pass", perspective_line: bool = True,
           response: bool = True, direct: bool = False, mismatch: bool = False) -> None:
    """One coordinator and one perspective writer with one request between them."""
    c = AuditLog(str(folder / "primary--c1.jsonl"), site="primary", replica="c1")
    p = AuditLog(str(folder / "eu-west-1--p1.jsonl"), role="perspective", site="eu-west-1", replica="p1")
    c.write("request", request_id=rid, trace_id="t")
    if perspective_line:
        p.write("check", request_id=None if direct else rid, outcome=outcome)
    with c.batch():
        c.write("perspective_result", request_id=rid, perspective="us-east-1" if mismatch else "eu-west-1",
                outcome="identity_mismatch" if mismatch else outcome)
        c.write("attempt", request_id=rid, quorum="1/2", rirs_passing=["RIPE NCC"], is_valid=False)
        if response:
            c.write("response", request_id=rid, outcome="invalid")
    c.close()
    p.close()


def _check(folder: Path, **kw: Any) -> dict[str, Any]:
    files = [(f.name, chain.split_lines(f.read_text())) for f in sorted(folder.glob("*.jsonl"))]
    return chain.check_all(files, **kw)


def test_a_whole_record_summarises(tmp_path):
    _fleet(tmp_path)
    s = _check(tmp_path)
    assert (s["requests"], s["responses"], s["interrupted"], s["attempts"]) == (1, {"invalid": 1}, 0, 1)
    assert s["perspectives"] == {"eu-west-1": {"pass": 1}} and s["quorum_results"] == {"1/2": 1}
    assert s["attempts_below_quorum"] == 1 and s["rirs_passing"] == {"RIPE NCC": 1}
    assert s["writers"] == {"eu-west-1--p1.jsonl": 1, "primary--c1.jsonl": 1}


@pytest.mark.parametrize("kw,says", [
    ({"perspective_line": False}, "has no such line of its own"),
    ({"outcome": "fail", "perspective_line": True}, None),  # agrees: whole
    ({"direct": True}, "ran a check without a request id"),
])
def test_reconciliation(tmp_path, kw, says):
    _fleet(tmp_path, **kw)
    if kw.get("direct"):  # the coordinator's own result stays consistent: only the direct check is at fault
        p = AuditLog(str(tmp_path / "eu-west-1--p1.jsonl"), role="perspective", site="eu-west-1", replica="p1")
        p.write("check", request_id="mpic-1", outcome="pass")
        p.close()
    if says is None:
        _check(tmp_path)
        return
    with pytest.raises(chain.Broken, match=says):
        _check(tmp_path)


def test_a_perspective_line_needs_its_request_and_its_result(tmp_path):
    _fleet(tmp_path)
    p = AuditLog(str(tmp_path / "eu-west-1--p1.jsonl"), role="perspective", site="eu-west-1", replica="p1")
    p.write("check", request_id="mpic-unknown", outcome="pass")
    p.close()
    with pytest.raises(chain.Broken, match="which no coordinator recorded"):
        _check(tmp_path)
    assert _check(tmp_path, lenient_before="9999")["requests"] == 1  # before a window: its request may precede it


def test_interrupted_and_mismatched_requests_are_no_breaks(tmp_path):
    _fleet(tmp_path, response=False)  # the coordinator died before its batch
    assert _check(tmp_path)["interrupted"] == 1
    other = tmp_path / "b"
    other.mkdir()
    _fleet(other, mismatch=True)  # eu-west-1 answered where us-east-1 was called
    assert _check(other)["perspectives"] == {"us-east-1": {"identity_mismatch": 1}}
    third = tmp_path / "c"
    third.mkdir()
    _fleet(third, mismatch=False)
    c = AuditLog(str(third / "primary--c1.jsonl"), site="primary", replica="c1")
    c.write("request", request_id="mpic-2")
    c.write("response", request_id="mpic-2", outcome="invalid")
    c.close()
    p = AuditLog(str(third / "eu-west-1--p1.jsonl"), role="perspective", site="eu-west-1", replica="p1")
    p.write("check", request_id="mpic-2", outcome="pass")
    p.close()
    with pytest.raises(chain.Broken, match="recorded no result of eu-west-1"):
        _check(third)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.mark.parametrize("change,says", [
    (lambda ls: ls[:1] + ls[2:], "a line was deleted"),
    (lambda ls: [ls[0], ls[2], ls[1]] + ls[3:], "follows seq"),
    (lambda ls: ls[:3] + [ls[3].replace('"attempt"', '"atempt"')] + ls[4:], "prev is not the SHA-256"),
    (lambda ls: ls[1:], "lines before it were removed"),
    (lambda ls: ls[:2] + ["{not json"] + ls[3:], "not a JSON line"),
    (lambda ls: ls[:2] + [ls[2].replace('"chain":"', '"chain":"x', 1)] + ls[3:], "without a chain start"),
    (lambda ls: [ls[0].replace('"prev":null', '"prev":"x"')] + ls[1:], "a chain start with a prev"),
])
def test_every_kind_of_break_names_its_line(tmp_path, change, says):
    _fleet(tmp_path)
    path = tmp_path / "primary--c1.jsonl"
    path.write_text("\n".join(change(_lines(path))) + "\n")
    with pytest.raises(chain.Broken, match=says) as err:
        _check(tmp_path)
    assert err.value.where.startswith("primary--c1.jsonl:")


def test_restarts_and_torn_tails_chain_on(tmp_path):
    _fleet(tmp_path)
    path = tmp_path / "primary--c1.jsonl"
    with path.open("a") as fh:
        fh.write('{"seq":9,"torn')
    _fleet(tmp_path, rid="mpic-2")  # both writers restarted: new chains after the old ones
    assert _check(tmp_path)["writers"] == {"eu-west-1--p1.jsonl": 2, "primary--c1.jsonl": 2}
    lines = _lines(path)
    start = next(i for i, ln in enumerate(lines) if i and '"chain_start"' in ln)
    path.write_text("\n".join(lines[:start - 2] + lines[start:]) + "\n")  # the last lines before the restart gone
    with pytest.raises(chain.Broken, match="lines were removed or edited"):
        _check(tmp_path)


def test_windows_slice_each_writer(tmp_path):
    texts = [f'{{"seq":{i},"prev":null,"chain":"c","at":"2026-12-0{i}T00:00:00+00:00"}}' for i in range(1, 6)]
    assert Window("2026-12-02", "2026-12-04").slice(texts, sources.line_time) == texts[1:4]
    assert Window("2026-12-09").slice(texts, sources.line_time) == []
    assert sources.line_time("no time") is None and Window()._inside(None) is False
    assert sources._millis("2026-12-01") == int(dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert sources._millis("2026-12-01T00:00:01") == sources._millis("2026-12-01") + 1000


def test_cloudwatch_logs_are_read_per_writer(monkeypatch, tmp_path):
    """The AWS path, against moto: one stream per writer, read back in order, windowed."""
    import boto3
    from moto import mock_aws

    _fleet(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        logs = boto3.client("logs", region_name="eu-west-1")
        logs.create_log_group(logGroupName="/mpic/lab/audit")
        now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
        for f in sorted(tmp_path.glob("*.jsonl")):
            logs.create_log_stream(logGroupName="/mpic/lab/audit", logStreamName=f.stem)
            logs.put_log_events(logGroupName="/mpic/lab/audit", logStreamName=f.stem, logEvents=[
                {"timestamp": now + i, "message": line} for i, line in enumerate(_lines(f))])
        # a Lambda's stream: the platform's own lines around the records, a name that is no file name
        lam = "2026/12/07/[$LATEST]0123abcd"
        logs.create_log_stream(logGroupName="/mpic/lab/audit", logStreamName=lam)
        record = _lines(sorted(tmp_path.glob("*.jsonl"))[0])[0]
        logs.put_log_events(logGroupName="/mpic/lab/audit", logStreamName=lam, logEvents=[
            {"timestamp": now, "message": "START RequestId: 1 Version: $LATEST"},
            {"timestamp": now + 1, "message": record + "\n"},
            {"timestamp": now + 2, "message": "REPORT RequestId: 1 Duration: 2.0 ms"}])
        said: list[str] = []
        got = dict(sources.from_cloudwatch(logs, "/mpic/lab/audit", "eu-west-1", Window("2026-01-01"),
                                              said.append))
        assert got.pop("eu-west-1--2026_12_07_LATEST_0123abcd") == [record]
        assert got == {f"eu-west-1--{f.stem}": _lines(f) for f in tmp_path.glob("*.jsonl")} and said
        assert chain.check_all(got.items())["requests"] == 1


def test_bundle_round_trip_and_its_command(tmp_path, monkeypatch):
    folder = tmp_path / "exported"
    folder.mkdir()
    _fleet(folder)
    out = tmp_path / "b.tar.gz"
    res = runner.invoke(app, ["evidence", "local", "--from-dir", str(folder), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["bundle"] == str(out) and summary["verification"] == {"whole": True}
    res = runner.invoke(app, ["evidence", "verify", str(out)])
    assert res.exit_code == 0 and "whole" in res.output and "requests 1" in res.output
    text = runner.invoke(app, ["evidence", "local", "--from-dir", str(folder), "--out", str(tmp_path / "c.tar.gz"),
                               "--from", "2026-01-01", "--to", "2099-12-31T00:00:00Z"])
    assert text.exit_code == 0 and "whole" in text.output
    (folder / "primary--c1.jsonl").write_text("\n".join(_lines(folder / "primary--c1.jsonl")[1:]) + "\n")
    broken = runner.invoke(app, ["evidence", "local", "--from-dir", str(folder), "--out", str(tmp_path / "d.tar.gz")])
    assert broken.exit_code == 1 and "NOT whole" in broken.output
    assert runner.invoke(app, ["evidence", "verify", str(tmp_path / "d.tar.gz")]).exit_code == 1


@pytest.mark.parametrize("args,says", [
    (["evidence", "verify"], "give the bundle"),
    (["evidence", "local", "extra.tar.gz"], "unexpected"),
    (["evidence", "local", "--from", "yesterday"], "not an ISO 8601"),
    (["evidence", "local", "--from-dir", "/nonexistent/x"], "no such folder"),
    (["evidence", "{loki}"], "mpic:audit.sink, loki"),
])
def test_bad_input_is_exit_2(args, says, tmp_path):
    import yaml

    from config.stackfile import stack_path

    doc = yaml.safe_load(stack_path("k8s").read_text())
    doc["config"]["mpic:audit"] = {"sink": {"kind": "loki", "endpoint": "https://loki.example-ca.net:3100"}}
    (tmp_path / "Pulumi.loki.yaml").write_text(yaml.safe_dump(doc))
    res = runner.invoke(app, [a.replace("{loki}", str(tmp_path / "Pulumi.loki.yaml")) for a in args])
    assert res.exit_code == 2 and says in res.output, res.output


def test_a_file_that_is_no_bundle(tmp_path):
    import io
    import tarfile

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    res = runner.invoke(app, ["evidence", "verify", str(junk)])
    assert res.exit_code == 1 and "not a readable bundle" in res.output
    empty = tmp_path / "empty.tar.gz"
    bundle.write(empty, [], lambda builds: {}, Window(), lambda m: None)
    with tarfile.open(empty, "r:gz") as tar:
        summary = tar.extractfile("summary.json").read()
    with tarfile.open(empty, "w:gz") as tar:  # the manifest gone
        info = tarfile.TarInfo("summary.json")
        info.size = len(summary)
        tar.addfile(info, io.BytesIO(summary))
    with pytest.raises(chain.Broken, match="no manifest"):
        bundle.verify(empty)


def test_a_torn_last_line_is_no_break_and_is_counted(tmp_path):
    _fleet(tmp_path)
    with (tmp_path / "primary--c1.jsonl").open("a") as fh:
        fh.write('{"seq":5,"cut')  # the coordinator was killed mid-write and has not restarted
    assert _check(tmp_path)["torn_tails"] == 1
    with (tmp_path / "primary--c1.jsonl").open("a") as fh:
        fh.write('\n{"seq":6}\n')
    with pytest.raises(chain.Broken, match="not a JSON line"):
        _check(tmp_path)


def test_aws_stacks_read_every_region(monkeypatch, tmp_path):
    from config.stackfile import load_stack
    from plan import audit as audit_plan

    cfg = load_stack("aws-hosts")
    asked: list[str] = []

    class Logs:
        def __init__(self, region: str):
            asked.append(region)

        def get_paginator(self, name: str) -> Any:
            class P:
                def paginate(self, **kw: Any) -> list[dict]:
                    return [{"events": []}]
            return P()

    assert list(collect.writers(cfg, Window(), lambda m: None, logs=Logs)) == []
    assert asked == audit_plan.log_regions(cfg) and audit_plan.log_group(cfg) == "/mpic/aws-hosts/audit"


def test_k8s_s3_sink_is_read_back_per_writer_in_the_shippers_order(monkeypatch, tmp_path):
    """The objects Fluent Bit writes (plan.k8s.audit: <prefix><writer>/Y/M/D/HHMMSS-<n>.jsonl),
    read with boto3 against moto: each writer's objects joined in order, other keys ignored."""
    import boto3
    from moto import mock_aws

    from config.stackfile import load_stack

    cfg = load_stack("k8s")
    sink = cfg.audit.sink
    _fleet(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with mock_aws():
        s3 = boto3.client("s3", region_name=sink.region)
        s3.create_bucket(Bucket=sink.bucket)
        for f in tmp_path.glob("*.jsonl"):
            lines = _lines(f)
            # three objects: the 10th of a second sorts after the 9th; a leading "/" as Fluent Bit may write
            parts = [("2026/12/07/120000-9", lines[:1]), ("2026/12/07/120000-10", lines[1:2]),
                     ("2026/12/07/120001-0", lines[2:])]
            for i, (name, chunk) in enumerate(parts):
                if chunk:
                    key = ("/" if i == 1 else "") + f"mpic/k8s/{f.stem}/{name}.jsonl"
                    s3.put_object(Bucket=sink.bucket, Key=key, Body=("\n".join(chunk) + "\n").encode())
        s3.put_object(Bucket=sink.bucket, Key="mpic/k8s/README", Body=b"not a record")
        said: list[str] = []
        got = dict(collect.writers(cfg, Window(), said.append, s3=lambda region, endpoint: s3))
        assert got == {f.stem: _lines(f) for f in tmp_path.glob("*.jsonl")}
        assert chain.check_all(got.items())["requests"] == 1 and any("s3://" in m for m in said)


def test_a_failing_aws_read_is_one_message_and_leaves_no_bundle(monkeypatch, tmp_path):
    from botocore.exceptions import NoCredentialsError

    def no_credentials(*args, **kwargs):
        raise NoCredentialsError()

    monkeypatch.setattr(collect, "_boto3_logs", lambda region: type("C", (), {"get_paginator": no_credentials})())
    out = tmp_path / "b.tar.gz"
    res = runner.invoke(app, ["evidence", "aws-hosts", "--out", str(out)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "reading the audit lines from AWS failed: Unable to locate credentials" in res.output
    assert "AWS_PROFILE" in res.output and list(tmp_path.iterdir()) == []  # no half bundle
