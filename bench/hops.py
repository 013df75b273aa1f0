"""Where a WAN request's time goes beyond the quorum-RTT bound, hop by hop (``mpic bench --fleet``).

From what the fleet records for the requests of the CAA sequential phase, joined by request id:
the coordinator's audit lines (``response``: the handler's ``duration_ms``; ``perspective_result``: each call's
``latency_ms``), the perspectives'
``check`` lines (``duration_ms``: the check with its resolver lookup) and each WAN relay's own
report of how much longer than the set delay it held what it sent (SIGUSR1,
:mod:`local.daemons.relay`). Per request, the **deciding** perspective is the last one the
coordinator awaited (its answer completed the quorum); every figure is the median over the requests:

- ``front_ms``: the client's p50 minus the coordinator handler's p50: client TLS, the front
  HAProxy (TLS, HTTP), the coordinator's HTTP layer;
- ``coordinator_ms``: the handler's time minus the deciding call's latency: validation and audit
  before the calls, sending them, and after the deciding answer the verdict and its audit lines;
- ``relay_set_ms``: 2 x the deciding region's one-way delay; ``relay_late_ms``: the relay's own
  p50 of the hold beyond that delay, both directions summed;
- ``path_ms``: the deciding call's latency minus 2 x the delay, its check and ``relay_late_ms``:
  the region's HAProxy and TLS + HTTP at both ends of the call;
- ``check_ms``: the deciding perspective's check (incl. its resolver's lookup);
- ``rest_ms``: the client's p50 minus the bound and every hop above (medians do not add up exactly).
"""

from __future__ import annotations

import datetime as _dt
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, Iterable


def _us(iso: str) -> float:
    """Microseconds since the epoch of an audit timestamp (RFC 3339, microseconds)."""
    return _dt.datetime.fromisoformat(iso).timestamp() * 1e6


def read_audit(files: Iterable[Path], since_us: float, until_us: float) -> list[dict[str, Any]]:
    """The audit lines of ``files`` written between the two times (microseconds since the epoch)."""
    out = []
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    doc = json.loads(line)
                    at = _us(doc["at"])
                except (ValueError, KeyError, TypeError):
                    continue
                if since_us <= at <= until_us:
                    out.append(doc)
    return out


def last_relay_holds(log: Path) -> dict[str, Any] | None:
    """The last ``relay_holds`` report in a relay's log (None when there is none)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if '"relay_holds"' in line:
            try:
                return json.loads(line)["relay_holds"]
            except (ValueError, KeyError):
                return None
    return None


def breakdown(lines: list[dict[str, Any]], delays_ms: dict[str, float], client_p50_ms: float, bound_ms: float,
              holds: dict[str, dict[str, Any]], target: str, check_type: str = "caa") -> dict[str, Any]:
    """The hop table (module docstring) of the requests for ``target`` in ``lines``; ``holds``: each
    region's relay report. Empty when no request could be joined."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for doc in lines:
        ours = doc.get("target") in (target, None) and doc.get("check_type") in (check_type, None)
        if doc.get("request_id") and ours:
            by_id.setdefault(doc["request_id"], []).append(doc)
    rows = []
    for events in by_id.values():
        first = {}
        for doc in events:
            first.setdefault(doc["event"], doc)
        response = first.get("response")
        calls = {d["perspective"]: d for d in events if d["event"] == "perspective_result"
                 and d.get("latency_ms") is not None and d.get("outcome") != "cancelled"}
        checks = {d["perspective"]: d for d in events if d["event"] == "check"}
        if not (response and calls) or response.get("target") != target:
            continue
        decider = max(calls, key=lambda code: calls[code]["latency_ms"])
        if decider not in checks or decider not in delays_ms:
            continue
        latency = calls[decider]["latency_ms"]
        rows.append({"decider": decider, "handler": response["duration_ms"],
                     "coordinator": response["duration_ms"] - latency,
                     "call_over": latency - 2 * delays_ms[decider] - checks[decider]["duration_ms"],
                     "check": checks[decider]["duration_ms"]})
    if not rows:
        return {}
    decider = Counter(r["decider"] for r in rows).most_common(1)[0][0]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    report = holds.get(decider) or {}
    late = sum(report.get(d, {}).get("late_ms_p50", 0.0) for d in ("to_upstream", "to_client"))
    out = {"requests": len(rows), "deciding_region": decider, "client_p50_ms": client_p50_ms, "bound_ms": bound_ms,
           "front_ms": client_p50_ms - med("handler"), "coordinator_ms": med("coordinator"),
           "relay_set_ms": 2 * delays_ms[decider], "relay_late_ms": late, "path_ms": med("call_over") - late,
           "check_ms": med("check")}
    out["rest_ms"] = client_p50_ms - bound_ms - sum(out[k] for k in (
        "front_ms", "coordinator_ms", "relay_late_ms", "path_ms", "check_ms"))
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def catches(pid: int, signum: int) -> bool:
    """``pid`` handles ``signum`` (``SigCgt`` of /proc/PID/status): a relay started from an older
    kit, without the report, would die of SIGUSR1 instead."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    except (OSError, ValueError):
        pass
    return False
