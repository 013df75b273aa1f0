"""The audit writer (service.audit): the writer's fields on every line, numbered and chained lines,
a restarted writer's link to the line before it, a torn last line closed, batches and their
exceptions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from service import __version__
from service.audit import AuditLog, iso_ns, last_line, line_sha256, writer_name


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_every_line_names_its_writer_and_chains_to_the_one_before(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path), role="perspective", site="eu-west-1", replica="host-1")
    log.write("check", request_id="r1", outcome="pass")
    with log.batch():
        log.write("perspective_result", request_id="r2")
        log.write("request", now=True, request_id="r2")  # written at once, before the batch
        log.write("attempt", request_id="r2")
    log.close()
    texts = _lines(path)
    records = [json.loads(t) for t in texts]
    assert [r["event"] for r in records] == ["chain_start", "check", "request", "perspective_result", "attempt"]
    assert [r["seq"] for r in records] == [0, 1, 2, 3, 4] and len({r["chain"] for r in records}) == 1
    assert records[0]["prev"] is None and records[0]["after"] is None
    assert all(records[i]["prev"] == line_sha256(texts[i - 1]) for i in range(1, len(texts)))
    assert all((r["role"], r["site"], r["replica"], r["version"]) == ("perspective", "eu-west-1", "host-1", __version__)
               for r in records)


def test_a_restarted_writer_links_its_chain_to_the_last_line(tmp_path):
    path = tmp_path / "a.jsonl"
    first = AuditLog(str(path), site="primary", replica="c1")
    first.write("request", request_id="r1")
    first.close()
    before = _lines(path)[-1]
    second = AuditLog(str(path), site="primary", replica="c1")
    second.close()
    start = json.loads(_lines(path)[-1])
    old = json.loads(before)
    assert start["event"] == "chain_start" and start["seq"] == 0 and start["chain"] != old["chain"]
    assert start["after"] == {"chain": old["chain"], "seq": 1, "sha256": line_sha256(before)}


def test_a_torn_last_line_is_closed_and_noted(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    log.write("request", request_id="r1")
    log.close()
    whole = _lines(path)[-1]
    with path.open("a") as fh:
        fh.write('{"seq":2,"prev":"ab')  # a crash in the middle of a write
    assert last_line(path) == (whole, len('{"seq":2,"prev":"ab'))
    AuditLog(str(path)).close()
    texts = _lines(path)
    assert texts[-2] == '{"seq":2,"prev":"ab'  # the fragment stays, on a line of its own
    start = json.loads(texts[-1])
    assert start["torn_bytes"] == len('{"seq":2,"prev":"ab') and start["after"]["sha256"] == line_sha256(whole)
    assert last_line(tmp_path / "missing.jsonl") == (None, 0)
    (tmp_path / "junk.jsonl").write_text("not json\n")
    AuditLog(str(tmp_path / "junk.jsonl")).close()
    assert json.loads(_lines(tmp_path / "junk.jsonl")[-1])["after"]["unreadable"] is True


def test_a_batch_is_written_whatever_ends_it(tmp_path):
    path = tmp_path / "a.jsonl"
    log = AuditLog(str(path))
    try:
        with log.batch():
            log.write("request", request_id="r1")
            with log.batch():  # joins the outer batch
                log.write("attempt", request_id="r1")
            raise RuntimeError("cancelled")
    except RuntimeError:
        pass
    log.close()
    assert [json.loads(t)["event"] for t in _lines(path)] == ["chain_start", "request", "attempt"]


def test_stdout_writer_and_names(capsys):
    log = AuditLog("-", role="coordinator", site="standby", replica="pod/1")
    log.write("response", request_id="r")
    out = [json.loads(t) for t in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in out] == ["chain_start", "response"] and out[0]["after"] is None
    assert log.writer.name == "standby--pod_1" == writer_name("standby", "pod/1")


def test_iso_ns_is_datetimes_rfc3339_to_the_microsecond_across_seconds() -> None:
    def exact(ns: int) -> str:
        return (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
                + dt.timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")

    start = 1_796_660_552 * 10**9
    # within a second, across its end, back to an earlier second, far away, and the edges of a microsecond
    for ns in (start + 123_456_789, start + 999_999_999, start + 10**9, start + 10**9 + 1_000, start + 5,
               start - 1, 0, 999, 1_000, 253_402_300_799 * 10**9 + 999_999_999, start + 999_999):
        assert iso_ns(ns) == exact(ns), ns
    assert iso_ns(start + 999_999_999).endswith(":32.999999+00:00")
