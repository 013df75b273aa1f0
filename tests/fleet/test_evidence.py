"""The auditor's evidence of the local fleet, end to end (issue #21's acceptance).

Requests, a coordinator replica SIGKILLed under load, ``down``, ``up``, more requests; then
``mpic evidence local`` and ``mpic evidence verify``: whole, and the summary counts the requests
sent; one line edited, deleted or two swapped in the bundle: ``verify`` exits 1 naming the place.
Runs ``down`` and ``up`` of the session's fleet: the ``fleet`` dict is updated in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import subprocess
import tarfile
import threading
import time
from pathlib import Path

from local.roles import audit

from local.actions import faults

from local.engine import lifecycle
from local.actions.client import mpic

KIT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["./scripts/mpic", *args], cwd=KIT, capture_output=True, text=True, timeout=600)


def _caa(fleet: dict, trace: str) -> dict:
    return {"check_type": "caa", "domain_or_ip_target": fleet["test_domain"], "trace_identifier": trace}


def _send(fleet: dict, traces: list[str]) -> int:
    answered = 0
    for trace in traces:
        code, resp = mpic(fleet, _caa(fleet, trace), timeout=30)
        answered += code == 200 and resp.get("is_valid") is True
    return answered


def _repack(bundle: Path, out: Path, change, *, manifest: bool) -> Path:
    """A copy of ``bundle`` with one audit file changed by ``change(lines) -> lines``; the manifest
    recomputed when ``manifest`` (a forger who also rewrites it)."""
    with tarfile.open(bundle, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    target = next(n for n in sorted(files) if n.startswith("audit/primary--"))
    lines = files[target].decode().splitlines()
    files[target] = ("\n".join(change(lines)) + "\n").encode()
    if manifest:
        files["MANIFEST"] = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n"
                                    for n, d in sorted(files.items()) if n != "MANIFEST").encode()
    with tarfile.open(out, "w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_evidence_of_a_crash_a_restart_and_tampering(fleet, tmp_path):
    start = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    tag = f"ev-{secrets.token_hex(3)}"
    sent = answered = 0
    answered += _send(fleet, [f"{tag}-a{i}" for i in range(5)])
    sent += 5
    results: list[bool] = []
    stop = time.monotonic() + 4

    def load(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            results.append(_send(fleet, [f"{tag}-l{n}-{i}"]) == 1)
            i += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(3)]
    for th in threads:
        th.start()
    time.sleep(1.5)
    faults.kill_replica(fleet["stack"], "coordinator")  # SIGKILL, mid-load
    for th in threads:
        th.join(60)
    sent += len(results)
    answered += sum(results)
    lifecycle.down(fleet["stack"])
    assert audit.files(fleet["stack"]), "down keeps the audit records"
    fleet.update(lifecycle.up(fleet["stack"]))  # a new API key: every later test sees it
    answered += _send(fleet, [f"{tag}-b{i}" for i in range(5)])
    sent += 5
    assert answered == sent, (answered, sent)  # the load balancer replays what the killed replica held

    bundle = tmp_path / "evidence.tar.gz"
    res = _cli("evidence", fleet["stack"], "--from", start, "--out", str(bundle), "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    summary = json.loads(res.stdout)
    assert summary["verification"] == {"whole": True}
    with tarfile.open(bundle, "r:gz") as tar:
        names = tar.getnames()
        lines = [json.loads(ln) for n in names if n.startswith("audit/")
                 for ln in tar.extractfile(n).read().decode().splitlines() if ln.startswith("{")]
    ours = {ln["request_id"]: ln["trace_id"] for ln in lines
            if ln.get("event") == "request" and str(ln.get("trace_id", "")).startswith(tag)}
    finished = {ours[ln["request_id"]] for ln in lines if ln.get("event") == "response" and ln["request_id"] in ours
                and ln.get("outcome") == "valid"}
    assert len(finished) == sent, (len(finished), sent)  # every request sent, answered on record
    responded = {ln["request_id"] for ln in lines if ln.get("event") == "response"}
    assert summary["requests"] == sum(ln.get("event") == "request" for ln in lines)
    assert summary["interrupted"] == summary["requests"] - len(responded)
    assert summary["interrupted"] >= len(set(ours) - responded)  # what the killed replica held: on record, cut short
    assert summary["responses"]["valid"] >= sent
    assert {"attestation.json", "summary.json", "MANIFEST"} <= set(names)
    attest = json.loads(tarfile.open(bundle, "r:gz").extractfile("attestation.json").read())
    assert [p["code"] for p in attest["perspectives"]] == [p["code"] for p in fleet["perspectives"]]
    assert attest["compliance"][-1]["compliant"] is True and attest["builds_in_the_records"]
    assert len(attest["distances_km"]) == 15  # primary + 5 perspectives, every pair

    ok = _cli("evidence", "verify", str(bundle))
    assert ok.returncode == 0 and "whole" in ok.stdout, ok.stdout + ok.stderr

    def edit(ls):
        ls[3] = ls[3].replace('"event":', '"event" :', 1)
        return ls

    for name, change, manifest, says in (
        ("edited", edit, True, "prev is not the SHA-256 of the line before (audit/primary--"),
        ("deleted", lambda ls: ls[:3] + ls[4:], True, "a line was deleted"),
        ("swapped", lambda ls: ls[:3] + [ls[4], ls[3]] + ls[5:], True, "follows seq"),
        ("edited, manifest left", edit, False, "prev is not the SHA-256"),
    ):
        forged = _repack(bundle, tmp_path / f"{name}.tar.gz", change, manifest=manifest)
        res = _cli("evidence", "verify", str(forged))
        assert res.returncode == 1, (name, res.stdout, res.stderr)
        assert says in res.stderr and ".jsonl:" in res.stderr, (name, res.stderr)
    untouched = _repack(bundle, tmp_path / "summary-changed.tar.gz", lambda ls: ls, manifest=False)
    with tarfile.open(untouched, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    files["attestation.json"] = files["attestation.json"].replace(b'"compliant": true', b'"compliant": false', 1)
    with tarfile.open(untouched, "w:gz") as tar:
        for n, d in sorted(files.items()):
            info = tarfile.TarInfo(n)
            info.size = len(d)
            tar.addfile(info, io.BytesIO(d))
    res = _cli("evidence", "verify", str(untouched))
    assert res.returncode == 1 and "attestation.json: its SHA-256 is not the manifest's" in res.stderr
