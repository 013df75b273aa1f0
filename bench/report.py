"""The ``mpic bench`` report: the run on loopback (:func:`loopback_report`), the machine and commit
it was measured on, its summary lines and the comparison with an earlier report."""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import runtime as benchrun
from bench.load import run_client
from bench.phases import Scenario, fixed_target, measure
from plan.artifacts import Built

METHODS = ("caa", "dns-change")
NOT_COMPARED = ("compared_with", "loadavg", "requests", "failures", "idle_samples", "settings", "schema", "machine", "runtime",
                "rtts_ms", "quorum", "burst_concurrency", "target")


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:  # pragma: no cover - not Linux
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version()}


def commit() -> str:
    res = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return res.stdout.strip() if res.returncode == 0 else ""


def loopback_report(built: Built, methods: list[str], levels: list[int], duration: float, idle: float,
                    say: Any) -> dict[str, Any]:
    with ExitStack() as stack:
        run = benchrun.start(stack, built, say)
        roles = run.roles()
        scenario = Scenario(
            target=run.target(), bodies={m: benchrun.BODIES[m] for m in methods}, roles=roles,
            coordinator_pids=roles["coordinator"], perspective_pids=roles["perspectives"],
            spare=(run.target("spare"), run.roles("spare")),
            faults={"hung_perspective": lambda: fixed_target(run.target("hung")),
                    "partitioned_perspective": lambda: fixed_target(run.target("partitioned"))},
            info={"target": "loopback", "runtime": {"wheelhouse_sha256": built.artifacts[0].sha256}})
        report = run_client(measure(scenario, methods, levels, duration, idle, say))
        report["audit_lines"] = {"coordinator": run.audit_lines("coordinator-healthy")}
    return report


def flatten(data: Any, prefix: str = "") -> dict[str, float]:
    """Numeric figures of a report by dotted path (load averages and counts left out)."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in NOT_COMPARED:
                out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        out[prefix.rstrip(".")] = float(data)
    return out


def comparison(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per figure present in both reports: old, new, change."""
    before, after = flatten(old), flatten(new)
    lines = [f"{'figure':<58} {'old':>10} {'new':>10} {'change':>8}"]
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        change = f"{(b - a) / a * 100:+.0f}%" if a else "-"
        lines.append(f"{key:<58} {a:>10g} {b:>10g} {change:>8}")
    return lines


def summary(report: dict[str, Any]) -> list[str]:
    """The report as a few human lines."""
    lines = []
    for method in METHODS:
        if method not in report:
            continue
        seq = report[method]["sequential"]
        lines.append(f"{method}: sequential p50 {seq['p50_ms']} ms, p99 {seq['p99_ms']} ms")
        for level, f in report[method]["concurrency"].items():
            roles = f["cpu_ms_per_request_by_role"]
            lines.append(f"  c={level:<4} {f['rps']:>7} req/s  p50 {f['p50_ms']} ms  p99 {f['p99_ms']} ms  CPU "
                         f"{f['cpu_ms_per_request']} ms/request (coordinator {roles.get('coordinator')}, "
                         f"perspectives {roles.get('perspectives')})")
    for name in ("hung_perspective", "partitioned_perspective"):
        if name in report:
            f = report[name]
            lines.append(f"{name.replace('_', ' ')}: p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms "
                         f"({f['p99_added_ms']:+} ms p99)")
    rss = report.get("rss_mib", {})
    if rss:
        lines.append(f"RSS: coordinator {rss['coordinator_after_burst']} MiB after the burst, "
                     f"{rss['coordinator_after_idle']} MiB after {rss['idle_samples'][-1][0]:.0f} s idle; "
                     f"perspective {rss['perspective_after_burst']} MiB")
    if "quorum_rtt" in report:
        q = report["quorum_rtt"]
        lines.append(f"WAN: p50 {q['p50_ms']} ms, quorum-RTT bound {q['bound_ms']} ms "
                     f"({q['p50_over_bound_ms']:+} ms)")
    lines.append(f"load average: start {report['loadavg_start']}, end {report['loadavg_end']}")
    return lines
