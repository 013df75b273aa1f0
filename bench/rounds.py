"""Interleaved rounds: the same loopback bench run on two builds in turn (``mpic bench --against``).

On a shared machine one run of each build says more about the machine's minute than about the
code: the figures of one build move by tens of percent between runs. The fair comparison is
interleaved (the other build, this build, the other, ...), with each figure's median over the
rounds and, since both runs of a round met the same machine, the median of the per-round ratios
(this build / the other) with their range. This module holds that loop and that arithmetic; the
runs themselves are :func:`bench.report.loopback_report`'s.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable

from bench.report import flatten

SIDES = ("against", "this")
"""The build compared with (``--against``), then this build (the working tree's or ``--dist``)."""

HEADLINE = (
    ("CAA c=10 requests/s", "caa.concurrency.10.rps"),
    ("CPU per request, c=10 (ms)", "caa.concurrency.10.cpu_ms_per_request"),
    ("coordinator CPU per request, c=10 (ms)", "caa.concurrency.10.cpu_ms_per_request_by_role.coordinator"),
    ("perspective CPU per check, c=10 (ms)", "caa.concurrency.10.cpu_ms_per_request_by_role.perspective_per_check"),
    ("CAA sequential p50 (ms)", "caa.sequential.p50_ms"),
    ("CAA sequential p99 (ms)", "caa.sequential.p99_ms"),
    ("hung perspective p99 (ms)", "hung_perspective.p99_ms"),
    ("partitioned perspective p99 (ms)", "partitioned_perspective.p99_ms"),
    ("coordinator RSS after the burst (MiB)", "rss_mib.coordinator_after_burst"),
    ("perspective RSS after the burst (MiB)", "rss_mib.perspective_after_burst"),
)
"""The figures the summary prints, when the runs have them (every figure is in the JSON)."""


def interleave(run: Callable[[str], dict[str, Any]], rounds: int,
               say: Callable[[str], None]) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` rounds of ``run(side)``, each round the other build first, then this one."""
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for number in range(1, rounds + 1):
        for side in SIDES:
            say(f"round {number} of {rounds}: {side}")
            runs[side].append(run(side))
    return runs


def figures(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Every numeric figure both builds have in every round: each side's runs and median, and the
    per-round ratios (this / against) with their median, min and max (None where a run gave 0)."""
    flat = {side: [flatten(report) for report in reports] for side, reports in runs.items()}
    keys = set.intersection(*(set(f) for side in SIDES for f in flat[side])) if all(flat.values()) else set()
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(keys):
        entry: dict[str, Any] = {}
        for side in SIDES:
            values = [f[key] for f in flat[side]]
            entry[side] = {"runs": values, "median": statistics.median(values)}
        ratios = [b / a for a, b in zip(entry["against"]["runs"], entry["this"]["runs"]) if a]
        entry["ratio"] = ({"runs": ratios, "median": statistics.median(ratios), "min": min(ratios),
                           "max": max(ratios)} if len(ratios) == len(entry["this"]["runs"]) else None)
        out[key] = entry
    return out


def rounds_report(run: Callable[[str], dict[str, Any]], rounds: int, builds: dict[str, dict[str, Any]],
                  say: Callable[[str], None]) -> dict[str, Any]:
    """The report of ``mpic bench --against``: the builds, every run, and :func:`figures`."""
    runs = interleave(run, rounds, say)
    return {"target": "loopback, interleaved", "rounds": rounds, "builds": builds, "runs": runs,
            "figures": figures(runs)}


def _g(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def summary(report: dict[str, Any]) -> list[str]:
    """The headline figures: each build's median and runs, and the median paired ratio with its range."""
    named = {side: f"{b['dist']} (wheelhouse {b['wheelhouse_sha256'][:12]})" for side, b in report["builds"].items()}
    n = report["rounds"]
    lines = [f"{n} interleaved round{'s' if n != 1 else ''}: against = {named['against']}, this = {named['this']}"]
    for label, key in HEADLINE:
        entry = report["figures"].get(key)
        if entry is None:
            continue
        line = (f"{label}: against {_g(entry['against']['median'])} "
                f"({'; '.join(_g(v) for v in entry['against']['runs'])}), "
                f"this {_g(entry['this']['median'])} ({'; '.join(_g(v) for v in entry['this']['runs'])})")
        ratio = entry["ratio"]
        line += (f", paired ratio {ratio['median']:.3f} ({ratio['min']:.3f} to {ratio['max']:.3f})"
                 if ratio is not None else ", no ratio (a run of the other build gave 0)")
        lines.append(line)
    return lines
