"""``mpic bench``: how fast the runtime answers, what it costs in CPU and memory, how it behaves with
a hung or a partitioned perspective.

By default it starts the BUILT runtime on loopback (:mod:`cli.benchrun`: the wheelhouse of
``./scripts/mpic build``, built first when missing, five perspectives over mTLS, coordinators,
Knot); ``--fleet local`` measures the running local fleet instead (:mod:`cli.benchfleet`). The
phases and the report: :mod:`cli.benchphases`; the method and the figures: docs/performance.md.
``--json FILE`` writes the report (stable keys, for comparison across commits); ``--compare
OLD.json`` prints every figure next to the one of an earlier report.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Optional

import typer

from cli import app
from cli.benchload import BenchError
from cli.benchphases import Scenario, fixed_target, measure
from cli.common import EXIT_FAILED, fail, fail_input, guarded, progress
from artifacts.dist import load_manifest, machine_architecture
from plan.artifacts import PLATFORMS, Built, wheelhouse_name

METHODS = ("caa", "dns-change")
NOT_COMPARED = ("loadavg", "requests", "failures", "idle_samples", "settings", "schema", "machine", "runtime",
                "rtts_ms", "quorum", "burst_concurrency", "target")


def parse_levels(text: str) -> list[int]:
    """``"1,10,50"`` -> [1, 10, 50] (sorted, unique, each 1..500)."""
    try:
        levels = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise fail_input(f"--concurrency {text}: give numbers separated by commas, e.g. 1,10,50") from None
    if not levels or levels[0] < 1 or levels[-1] > 500:
        raise fail_input(f"--concurrency {text}: each level must be 1..500, e.g. 1,10,50")
    return levels


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


def built_runtime(dist: Path | None, say: Any) -> Built:
    """The wheelhouse to run: of ``dist`` as it is (another build, e.g. an older commit's), else the
    working tree's, built first when missing or stale (as ``mpic up`` does)."""
    from cli.fleet import build_missing
    from config.stackfile import load_stack
    from artifacts.dist import require_artifacts

    if dist is None:
        guarded(build_missing, "local", say)
        return guarded(require_artifacts, load_stack("local"))
    manifest = load_manifest(dist)
    found = manifest.find("wheelhouse", wheelhouse_name(PLATFORMS[machine_architecture()])) if manifest else None
    if found is None:
        raise fail_input(f"--dist {dist}: no {machine_architecture()} wheelhouse in {dist}/manifest.json; "
                         "run ./scripts/mpic build wheel there")
    return Built(dist, (found,))


def loopback_report(built: Built, methods: list[str], levels: list[int], duration: float, idle: float,
                    say: Any) -> dict[str, Any]:
    from cli import benchrun

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
        report = asyncio.run(measure(scenario, methods, levels, duration, idle, say))
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


@app.command("bench")
def bench_cmd(
    duration: float = typer.Option(8.0, "--duration", help="Seconds of each phase (sequential, each concurrency)."),
    concurrency: str = typer.Option("1,10,50", "--concurrency", help="Concurrency levels, e.g. 1,10,50."),
    json_file: Optional[Path] = typer.Option(None, "--json", help="Write the report (JSON) to this file."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="An earlier --json report to compare with."),
    fleet: Optional[str] = typer.Option(None, "--fleet", help="Measure the running local fleet of this stack "
                                        "(e.g. local, local-wan) instead of starting the runtime."),
    idle: float = typer.Option(60.0, "--idle", help="Seconds after the burst at which the coordinator's idle "
                               "memory is read."),
    methods: str = typer.Option(",".join(METHODS), "--methods", help="Methods to measure: caa, dns-change."),
    dist: Optional[Path] = typer.Option(None, "--dist", help="Run the wheelhouse of another build folder "
                                        "(e.g. an older commit's dist/) as it is."),
) -> None:
    """Benchmark the runtime: latency, throughput, CPU and memory per role, a hung or partitioned perspective."""
    levels = parse_levels(concurrency)
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    if not chosen or any(m not in METHODS for m in chosen):
        raise fail_input(f"--methods {methods}: choose among {', '.join(METHODS)}")
    if duration <= 0 or idle < 0:
        raise fail_input("--duration must be > 0 and --idle >= 0 seconds")
    old = None
    if compare is not None:
        try:
            old = json.loads(compare.read_text())
        except (OSError, ValueError) as exc:
            raise fail_input(f"--compare {compare}: {exc}") from None
    say = progress()
    try:
        if fleet is not None:
            from cli.benchfleet import fleet_report

            report = fleet_report(fleet, chosen, levels, duration, idle, say)
        else:
            report = loopback_report(built_runtime(dist, say), chosen, levels, duration, idle, say)
    except BenchError as exc:
        raise fail(f"bench: {exc}", EXIT_FAILED) from None
    report["machine"] = machine()
    report["commit"] = commit()
    if json_file is not None:
        json_file.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    for line in summary(report):
        typer.echo(line)
    if old is not None:
        typer.echo(f"\ncompared with {compare}:")
        for line in comparison(old, report):
            typer.echo(line)
