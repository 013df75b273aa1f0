"""``mpic bench``: how fast the runtime answers, what it costs in CPU and memory, how it behaves with
a hung or a partitioned perspective.

By default it starts the BUILT runtime on loopback (:mod:`bench.runtime`: the wheelhouse of
``./scripts/mpic build``, built first when missing, five perspectives over mTLS, coordinators,
Knot); ``--fleet local`` measures the running local fleet instead (:mod:`bench.fleet`). The
phases and the report: :mod:`bench.phases`; the method and the figures: docs/performance.md.
``--lambda`` measures the cold start of each built Lambda zip instead (:mod:`bench.lambdas`).
``--json FILE`` writes the report (stable keys, for comparison across commits); ``--compare
OLD.json`` prints every figure next to the one of an earlier report. ``--against DIR --rounds N``
runs the loopback bench on another build and on this one in turn, N rounds, and reports each
figure's medians and the median of the per-round ratios (:mod:`bench.rounds`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from cli import app
from bench.lambdas import RUNS, lambda_report
from bench.lambdas import summary as lambda_summary
from bench.load import BenchError
from bench.report import METHODS, comparison, commit, loopback_report, machine, summary
from bench import rounds as benchrounds
from cli.common import EXIT_FAILED, EXIT_OK, LOCAL_FLEET, fail, fail_input, guarded, progress, reported
from artifacts.dist import load_manifest, machine_architecture
from plan.artifacts import LAMBDA_HANDLERS, PLATFORMS, Built, lambda_name, wheelhouse_name


def parse_levels(text: str) -> list[int]:
    """``"1,10,50"`` -> [1, 10, 50] (sorted, unique, each 1..500)."""
    try:
        levels = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise fail_input(f"--concurrency {text}: give numbers separated by commas, e.g. 1,10,50") from None
    if not levels or levels[0] < 1 or levels[-1] > 500:
        raise fail_input(f"--concurrency {text}: each level must be 1..500, e.g. 1,10,50")
    return levels


def built_runtime(dist: Path | None, say: Any, option: str = "--dist") -> Built:
    """The wheelhouse to run: of ``dist`` as it is (another build, e.g. an older commit's; ``option``
    names it in the error), else the working tree's, built first when missing or stale (as ``mpic up`` does)."""
    from cli.fleet import build_missing
    from config.stackfile import load_stack
    from artifacts.dist import require_artifacts

    if dist is None:
        guarded(build_missing, "local", say)
        return guarded(require_artifacts, load_stack("local"))
    manifest = load_manifest(dist)
    found = manifest.find("wheelhouse", wheelhouse_name(PLATFORMS[machine_architecture()])) if manifest else None
    if found is None:
        raise fail_input(f"{option} {dist}: no {machine_architecture()} wheelhouse in {dist}/manifest.json; "
                         "run ./scripts/mpic build wheel there")
    return Built(dist, (found,))


def built_zips(dist: Path | None, say: Any) -> Built:
    """The Lambda zips of this machine's architecture, one per role: of ``dist`` as they are (another
    build), else the working tree's, built first when missing or stale (``mpic build lambda``)."""
    from artifacts.builder import build
    from artifacts.dist import dist_dir, source_sha256

    names = [lambda_name(role, machine_architecture()) for role in LAMBDA_HANDLERS]
    folder = dist if dist is not None else dist_dir()

    def found() -> list[Any]:
        manifest = load_manifest(folder)
        if manifest is None or (dist is None and manifest.source_sha256 != source_sha256()):
            return []
        zips = [manifest.find("lambda", name) for name in names]
        return zips if all(z is not None and Built(folder, ()).path(z).exists() for z in zips) else []

    zips = found()
    if not zips and dist is not None:
        raise fail_input(f"--dist {dist}: no {' and '.join(names)} in {folder}/manifest.json; "
                         "run ./scripts/mpic build lambda there")
    if not zips:
        say("build: the Lambda zips are missing or stale: ./scripts/mpic build lambda")
        guarded(build, ["lambda"], folder, say=say)
        zips = found()
        if not zips:
            raise fail(f"build lambda: {folder}/manifest.json still has no {' and '.join(names)}", EXIT_FAILED)
    return Built(folder, tuple(zips))


ROUNDS = 3
"""Interleaved rounds of ``--against`` when ``--rounds`` is not given (the issue's "medians of 3")."""


def check_rounds(against: Path | None, rounds: int | None, fleet: str | None, cold: bool,
                 compare: Path | None) -> None:
    """``--against`` and ``--rounds`` go together, on the loopback bench only."""
    if against is None:
        if rounds is not None:
            raise fail_input(f"--rounds {rounds}: rounds interleave two builds; give the other one with "
                             "--against DIR (e.g. an older commit's dist/)")
        return
    other = ("--fleet " + fleet) if fleet is not None else "--lambda" if cold else \
        ("--compare " + str(compare)) if compare is not None else None
    if other is not None:
        raise fail_input(f"--against {against} runs the loopback bench on two builds in turn; {other} does not "
                         "combine with it: choose one")
    if rounds is not None and not 1 <= rounds <= 15:
        raise fail_input(f"--rounds {rounds}: give 1..15 interleaved rounds, e.g. --rounds 3")


def interleaved_report(against: Path, dist: Path | None, rounds: int, methods: list[str], levels: list[int],
                       duration: float, idle: float, say: Any) -> dict[str, Any]:
    """``--against``: the loopback bench on ``against``'s build and on this one (or ``dist``'s), in turn."""
    built = {"against": built_runtime(against, say, "--against"), "this": built_runtime(dist, say)}
    builds = {side: {"dist": str(b.dist), "wheelhouse_sha256": b.artifacts[0].sha256} for side, b in built.items()}
    return benchrounds.rounds_report(
        lambda side: loopback_report(built[side], methods, levels, duration, idle, say), rounds, builds, say)


@app.command("bench", rich_help_panel=LOCAL_FLEET)
def bench_cmd(
    duration: float = typer.Option(8.0, "--duration", help="Seconds of each phase (sequential, each concurrency)."),
    concurrency: str = typer.Option("1,10,50", "--concurrency", help="Concurrency levels, e.g. 1,10,50."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the report (JSON) to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object instead of lines."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="An earlier report (--out) to compare with."),
    fleet: Optional[str] = typer.Option(None, "--fleet", help="Measure the running local fleet of this stack "
                                        "(e.g. local, local-wan) instead of starting the runtime."),
    idle: float = typer.Option(60.0, "--idle", help="Seconds after the burst at which the coordinator's idle "
                               "memory is read."),
    methods: str = typer.Option(",".join(METHODS), "--methods", help="Methods to measure: caa, dns-change."),
    dist: Optional[Path] = typer.Option(None, "--dist", help="Run the wheelhouse of another build folder "
                                        "(e.g. an older commit's dist/) as it is (with --lambda: its Lambda zips)."),
    cold: bool = typer.Option(False, "--lambda", help="Measure the cold start of each built Lambda zip "
                              "(coordinator, perspective): import, settings, first request, memory, zip size."),
    runs: int = typer.Option(RUNS, "--runs", help="Cold starts of each Lambda zip (--lambda); figures are their p50."),
    against: Optional[Path] = typer.Option(None, "--against", help="Another build folder (e.g. an older commit's "
                                           "dist/) to run in turn with this build, interleaved: medians and "
                                           "paired ratios."),
    rounds: Optional[int] = typer.Option(None, "--rounds", help="Interleaved rounds with --against (default 3)."),
    sched: bool = typer.Option(False, "--sched", help="With --fleet on a WAN stack: also split CAA's sequential "
                               "time by process, from the scheduler's record (needs perf: Debian's linux-perf)."),
) -> None:
    """Benchmark the runtime: latency, throughput, CPU and memory per role, a hung or partitioned perspective."""
    if cold and fleet is not None:
        raise fail_input(f"--lambda measures the built zips on this machine, --fleet {fleet} a running fleet; "
                         "choose one")
    if not 1 <= runs <= 50:
        raise fail_input(f"--runs {runs}: give 1..50 cold starts per zip, e.g. --runs 10")
    check_rounds(against, rounds, fleet, cold, compare)
    if sched and fleet is None:
        raise fail_input("--sched splits the time of a running fleet's requests by process; give --fleet STACK "
                         "(a stack with mpic:wanDelay, e.g. --fleet local-wan)")
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
    with reported():  # the fleet's errors (not up, not root) with their exit codes
        try:
            if against is not None:
                report = interleaved_report(against, dist, rounds or ROUNDS, chosen, levels, duration, idle, say)
            elif cold:
                report = lambda_report(built_zips(dist, say), runs, say)
            elif fleet is not None:
                from bench.fleet import fleet_report

                report = fleet_report(fleet, chosen, levels, duration, idle, say, sched)
            else:
                report = loopback_report(built_runtime(dist, say), chosen, levels, duration, idle, say)
        except BenchError as exc:
            raise fail(f"bench: {exc}", EXIT_FAILED) from None
    report["machine"] = machine()
    report["commit"] = commit()
    if old is not None:
        report["compared_with"] = {"file": str(compare), "lines": comparison(old, report)}
    if out is not None:
        out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    if as_json:
        typer.echo(json.dumps(report, indent=1, sort_keys=True))
        raise typer.Exit(EXIT_OK)
    shown = benchrounds.summary if against is not None else lambda_summary if cold else summary
    for line in shown(report):
        typer.echo(line)
    if old is not None:
        typer.echo(f"\ncompared with {compare}:")
        for line in report["compared_with"]["lines"]:
            typer.echo(line)
