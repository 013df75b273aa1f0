"""``mpic bench``: a tiny real run of the built runtime (the JSON's shape, not its figures), the
comparison, bad input, and the local fleet's scenario (its state, plan and faults faked)."""

from __future__ import annotations

import asyncio
import json
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from bench import report as bench_report
from cli import bench as bench_cli
from bench.load import BenchError, Samples, Target, percentile
from bench.phases import concurrency_figures, quorum_rtt
from artifacts.dist import dist_dir

runner = CliRunner()
LATENCY = {"p50_ms", "p99_ms"}


def run(*args: str) -> Any:
    result = runner.invoke(app, ["bench", *args])
    assert "Traceback" not in result.output, result.output
    return result


def test_a_tiny_run_writes_every_figure_and_compares(artifacts: Any, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    result = run("--duration", "1", "--concurrency", "2", "--idle", "0", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    for method in ("caa", "dns-change"):
        assert LATENCY <= set(report[method]["sequential"])
        level = report[method]["concurrency"]["2"]
        assert {"rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "cpu_ms_per_request_by_role", "loadavg"} <= set(level)
        assert level["requests"] > 0 and level["failures"] == 0 and level["cpu_ms_per_request"] >= 0
        assert {"coordinator", "perspectives", "perspective_per_check"} <= set(level["cpu_ms_per_request_by_role"])
    for fault in ("hung_perspective", "partitioned_perspective"):
        assert LATENCY | {"p99_added_ms"} <= set(report[fault])
    assert {"coordinator_after_burst", "coordinator_after_idle", "perspective_after_burst"} <= set(report["rss_mib"])
    assert report["rss_mib"]["coordinator_after_burst"] > 10
    assert report["audit_lines"]["coordinator"] >= 7 * report["caa"]["concurrency"]["2"]["requests"]
    assert report["machine"]["cpus"] >= 1 and len(report["loadavg_start"]) == 3
    assert "caa: sequential p50" in result.output
    again = run("--duration", "0.5", "--concurrency", "1", "--idle", "0", "--methods", "caa",
                "--dist", str(dist_dir()), "--compare", str(out))
    assert again.exit_code == 0, again.output
    assert "compared with" in again.output and "caa.sequential.p50_ms" in again.output


@pytest.mark.parametrize("args,words", [
    (["--concurrency", "a,b"], "numbers"), (["--concurrency", "0"], "1..500"),
    (["--methods", "website-change"], "caa, dns-change"), (["--duration", "0"], "--duration"),
    (["--compare", "/nonexistent.json"], "--compare"), (["--dist", "/nonexistent"], "wheelhouse"),
    (["--rounds", "3"], "--against DIR"), (["--sched"], "give --fleet STACK"), (["--against", "/nonexistent"], "--against /nonexistent: no"),
    (["--against", "/x", "--rounds", "0"], "1..15"), (["--against", "/x", "--fleet", "local"], "--fleet local"),
    (["--against", "/x", "--lambda"], "--lambda does not"), (["--against", "/x", "--compare", "o.json"], "--compare o.json"),
])
def test_bad_input_is_exit_2(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and words in result.output


def test_percentiles_and_figures() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([3, 1, 2, 4], 0.5) == 2 and percentile(list(range(1, 101)), 0.99) == 99
    samples = Samples(latencies=[0.002, 0.004], elapsed=0.5, cpu={"coordinator": 0.002, "perspectives": 0.01})
    figures = concurrency_figures(samples, 5)
    assert figures["rps"] == 4.0 and figures["cpu_ms_per_request"] == 6.0
    assert figures["cpu_ms_per_request_by_role"]["perspective_per_check"] == 1.0
    assert quorum_rtt([188, 52, 160, 80, 112], 4, 170.5) == {
        "rtts_ms": [52, 80, 112, 160, 188], "quorum": 4, "bound_ms": 160, "p50_ms": 170.5, "p50_over_bound_ms": 10.5}


def test_comparison_lines_and_summary() -> None:
    old = {"caa": {"sequential": {"p50_ms": 4.0, "requests": 10}}, "loadavg_start": [1, 1, 1], "x": 0}
    new = {"caa": {"sequential": {"p50_ms": 3.0, "requests": 12}}, "x": 1}
    lines = bench_report.comparison(old, new)
    assert any(line.startswith("caa.sequential.p50_ms") and "-25%" in line for line in lines)
    assert not any("requests" in line or "loadavg" in line for line in lines)
    assert any(line.startswith("x ") and line.endswith("-") for line in lines)
    report = {"quorum_rtt": quorum_rtt([52, 80], 2, 90.0), "loadavg_start": [1, 2, 3], "loadavg_end": [1, 2, 3]}
    assert "quorum-RTT bound 80" in "\n".join(bench_report.summary(report))


def test_a_failed_setup_is_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise BenchError("caa: the setup request was not valid")

    monkeypatch.setattr(bench_cli, "built_runtime", lambda dist, say: None)
    monkeypatch.setattr(bench_cli, "loopback_report", broken)
    result = run("--duration", "1")
    assert result.exit_code == 1 and "setup request" in result.output


# ------------------------------------------------------------------------------ the local fleet
def _fake_fleet(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    from local.actions import challenges, faults
    from local.engine import lifecycle, state
    from local import errors as local_errors

    regions = [types.SimpleNamespace(code=c, delay_ms=d, replicas=(1, 2)) for c, d in
               (("us-west-2", 26), ("eu-west-1", 40), ("ap-northeast-1", 80), ("sa-east-1", 56), ("af-south-1", 94))]
    plan = types.SimpleNamespace(regions=regions, test_domain="fleet-test.example", wan_delay=True)
    procs = {"coordinator#1": {"pid": 11, "role": "coordinator"}, "perspective@a": {"pid": 12, "role": "perspective"},
             "unbound@a": {"pid": 13, "role": "resolver"}, "relay@a": {"pid": 14, "role": "wan"}}
    fleet_state = types.SimpleNamespace(stack="local-wan", data={"processes": procs, "runtime": "abc"})
    monkeypatch.setattr(local_errors, "require_root", lambda: None)
    monkeypatch.setattr(lifecycle, "status", lambda stack: {"coordinator_url": "https://mpic.fleet-test.example:443",
                                                            "api_key": "k", "ca_cert": "/ca.pem",
                                                            "client_resolver": "10.213.0.5"})
    monkeypatch.setattr(state, "load_state", lambda stack: fleet_state)
    monkeypatch.setattr(state, "load_plan", lambda st: plan)
    monkeypatch.setattr(challenges, "set_txt", lambda stack, name, value, record: calls.append(f"set {name}"))
    monkeypatch.setattr(challenges, "unset", lambda stack, name, rtype, record: calls.append(f"unset {name}"))
    monkeypatch.setattr(faults, "slow", lambda stack, region, ms: calls.append(f"slow {region} {ms}"))
    monkeypatch.setattr(faults, "partition", lambda stack, region: calls.append(f"partition {region}"))
    monkeypatch.setattr(faults, "heal", lambda stack: calls.append("heal"))


def test_the_fleet_scenario_reads_the_fleet_and_heals_its_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import fleet as benchfleet

    calls: list[str] = []
    _fake_fleet(monkeypatch, calls)
    scenario, cleanup = benchfleet.fleet_scenario(None)
    # the coordinator is a name that fails over: resolved by the fleet's client resolver
    assert scenario.target == Target("https://mpic.fleet-test.example:443", "k", "/ca.pem", "10.213.0.5")
    assert scenario.roles["coordinator"] == [11] and scenario.roles["perspectives"] == [12]
    assert scenario.roles["resolvers"] == [13] and scenario.roles["wan_relays"] == [14]
    assert sorted(scenario.quorum_rtts_ms or []) == [52, 80, 112, 160, 188]
    assert scenario.info["faulty_region"] == "af-south-1"

    async def faults() -> None:
        for name in ("hung_perspective", "partitioned_perspective"):
            async with scenario.faults[name]() as target:
                assert target == scenario.target

    asyncio.run(faults())
    cleanup()
    assert calls == ["set _mpic-bench.fleet-test.example", f"slow af-south-1 {benchfleet.HUNG_MS}", "heal",
                     "partition af-south-1", "heal", "unset _mpic-bench.fleet-test.example"]


def test_sched_probes_a_wan_fleet_and_refuses_one_without_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import fleet as benchfleet
    from bench.sched import SchedProbe
    from config.errors import ConfigError
    from local.engine import state

    calls: list[str] = []
    _fake_fleet(monkeypatch, calls)
    scenario, cleanup = benchfleet.fleet_scenario(None, sched=True)
    cleanup()
    assert isinstance(scenario.hops, benchfleet.FleetHops) and isinstance(scenario.hops.sched, SchedProbe)
    assert scenario.hops.sched.pids[(None, "coordinator")] == [11]
    plain = types.SimpleNamespace(regions=[types.SimpleNamespace(code="a", delay_ms=0, replicas=(1,))], test_domain="fleet-test.example", wan_delay=False)
    monkeypatch.setattr(state, "load_plan", lambda st: plain)
    with pytest.raises(ConfigError, match="no WAN delay .*--fleet local-wan") as refused:
        benchfleet.fleet_scenario(None, sched=True)
    assert refused.value.exit_code == 2  # bad input, like every option that does not fit
    assert benchfleet.fleet_scenario(None)[0].hops is None  # without --sched the same fleet is measured


def test_sched_probe_gives_each_region_its_own_processes_and_the_primary_its_front() -> None:
    from bench.fleet import sched_probe

    procs = {"coordinator#1": {"pid": 1, "role": "coordinator", "region": None},
             "lb@primary": {"pid": 2, "role": "lb", "region": None}, "knot": {"pid": 3, "role": "dns"},
             **{f"{kind}@{r}": {"pid": pid + i, "role": kind, "region": r}
                for i, r in enumerate(("a", "b")) for kind, pid in
                (("wan", 10), ("lb", 20), ("perspective", 30), ("resolver", 40))}}
    probe = sched_probe(procs)
    assert probe.pids[(None, "coordinator")] == [1] and probe.pids[(None, "front_lb")] == [2]
    assert probe.pids[(None, "dns")] == [3]
    assert probe.pids[("b", "relay")] == [11] and probe.pids[("b", "lb")] == [21]  # not the primary's lb
    assert probe.pids[("a", "perspective")] == [30] and probe.pids[("a", "resolver")] == [40]


def test_fleet_report_runs_the_phases_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import fleet as benchfleet

    calls: list[str] = []
    _fake_fleet(monkeypatch, calls)

    async def measured(scenario: Any, methods: list[str], *args: Any) -> dict[str, Any]:
        assert list(scenario.bodies) == methods
        return {"target": scenario.info["target"]}

    monkeypatch.setattr(benchfleet, "measure", measured)
    assert benchfleet.fleet_report("local-wan", ["caa"], [1], 1.0, 0.0, print) == {"target": "fleet:local-wan"}

    async def refused(*args: Any) -> dict[str, Any]:
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(benchfleet, "measure", refused)
    with pytest.raises(BenchError, match="mpic.fleet-test.example"):
        benchfleet.fleet_report("local-wan", ["caa"], [1], 1.0, 0.0, print)
    assert calls.count("unset _mpic-bench.fleet-test.example") == 2


def test_fleet_option_measures_the_running_fleet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bench import fleet as benchfleet

    report = {"caa": {"sequential": {"p50_ms": 170.0, "p99_ms": 180.0}, "concurrency": {}},
              "quorum_rtt": quorum_rtt([52, 80, 112, 160, 188], 4, 170.0),
              "loadavg_start": [1, 1, 1], "loadavg_end": [1, 1, 1]}
    monkeypatch.setattr(benchfleet, "fleet_report", lambda *args: dict(report))
    result = run("--fleet", "local-wan", "--out", str(tmp_path / "f.json"))
    assert result.exit_code == 0, result.output
    assert "quorum-RTT bound 160" in result.output and "(+10.0 ms)" in result.output
    assert json.loads((tmp_path / "f.json").read_text())["quorum_rtt"]["p50_over_bound_ms"] == 10.0
    printed = run("--fleet", "local-wan", "--json", "--compare", str(tmp_path / "f.json"))
    doc = json.loads(printed.stdout)  # one JSON object on stdout, like every other command's --json
    assert printed.exit_code == 0 and doc["quorum_rtt"]["bound_ms"] == 160.0
    assert any(line.startswith("quorum_rtt.p50_ms") for line in doc["compared_with"]["lines"])


def test_invalid_answers_are_counted_and_an_empty_phase_is_an_error() -> None:
    from bench.phases import _check

    said: list[str] = []
    samples = Samples(latencies=[0.1])
    samples.add(0.2, 200, b'{"is_valid":false}', expect_valid=True)
    _check(samples, "caa c=2", said.append)
    assert samples.failures == 1 and "1 of 2 answers not valid" in said[0] and "is_valid" in said[0]
    with pytest.raises(BenchError, match="no request finished"):
        _check(Samples(), "caa c=2", said.append)


def test_a_connection_resolves_the_name_again_with_the_targets_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import load as benchload

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(benchload, "resolve", lambda name, resolver: asked.append((name, resolver)) or "127.0.0.1")

    async def scenario() -> tuple[int, bytes]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        target = Target(f"http://mpic.fleet-test.example:{port}", "k", resolver="192.0.2.53")
        conn = benchload.Connection(target, None)
        try:
            first = await conn.exchange(target.request({}))
            await conn.exchange(target.request({}))  # closed by the server: connects (and resolves) again
            return first
        finally:
            conn.close()
            server.close()

    assert asyncio.run(scenario()) == (200, b"ok")
    assert asked == [("mpic.fleet-test.example", "192.0.2.53")] * 2


# ------------------------------------------------------------------------------ --against: interleaved rounds
def _fake_report(rps: float, per_check: float) -> dict[str, Any]:
    return {"caa": {"concurrency": {"10": {"rps": rps, "cpu_ms_per_request_by_role": {"perspective_per_check": per_check},
                                           "requests": 100}}},
            "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [1.0, 1.0, 1.0]}


def test_against_runs_both_builds_in_turn_and_reports_medians_and_paired_ratios(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    builds = {"/old": "a" * 64, None: "b" * 64}
    monkeypatch.setattr(bench_cli, "built_runtime", lambda dist, say, option="--dist": types.SimpleNamespace(
        dist=Path(str(dist or "/work/dist")), artifacts=(types.SimpleNamespace(sha256=builds[dist and str(dist)]),)))
    order: list[str] = []
    figures = iter([(250.0, 1.0), (400.0, 0.6), (200.0, 1.2), (300.0, 0.9), (300.0, 1.0), (450.0, 0.5)])

    def measured(built: Any, methods: list[str], levels: list[int], duration: float, idle: float, say: Any) -> Any:
        order.append(str(built.dist))
        assert methods == ["caa"] and levels == [10] and duration == 2.0 and idle == 0.0
        return _fake_report(*next(figures))

    monkeypatch.setattr(bench_cli, "loopback_report", measured)
    out = tmp_path / "r.json"
    result = run("--against", "/old", "--methods", "caa", "--concurrency", "10", "--duration", "2", "--idle", "0",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    assert order == ["/old", "/work/dist"] * 3  # the default 3 rounds, the other build first in each
    report = json.loads(out.read_text())
    assert report["rounds"] == 3 and report["builds"]["against"]["wheelhouse_sha256"] == "a" * 64
    per_check = report["figures"]["caa.concurrency.10.cpu_ms_per_request_by_role.perspective_per_check"]
    assert per_check["against"] == {"runs": [1.0, 1.2, 1.0], "median": 1.0}
    assert per_check["this"]["median"] == 0.6 and per_check["ratio"]["runs"] == pytest.approx([0.6, 0.75, 0.5])
    assert per_check["ratio"]["median"] == pytest.approx(0.6) and per_check["ratio"]["min"] == pytest.approx(0.5)
    assert "caa.concurrency.10.requests" not in report["figures"]  # counts are not figures
    assert "3 interleaved rounds: against = /old (wheelhouse aaaaaaaaaaaa)" in result.output
    assert "perspective CPU per check, c=10 (ms): against 1 (1; 1.2; 1), this 0.6 (0.6; 0.9; 0.5), " \
           "paired ratio 0.600 (0.500 to 0.750)" in result.output
    assert "hung perspective" not in result.output  # only the figures the runs have


def test_rounds_figures_need_every_run_and_a_ratio_needs_a_nonzero_base() -> None:
    from bench import rounds

    runs = {"against": [{"a": 0.0, "b": 2.0, "c": 1.0}, {"a": 1.0, "b": 4.0}],
            "this": [{"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 1.0, "b": 1.0, "c": 1.0}]}
    out = rounds.figures(runs)
    assert set(out) == {"a", "b"}  # c is missing from a run of the other build
    assert out["a"]["ratio"] is None and out["b"]["ratio"]["runs"] == [0.5, 0.25]
    assert rounds.figures({"against": [], "this": []}) == {}
    report = {"rounds": 1, "builds": {s: {"dist": f"/{s}", "wheelhouse_sha256": s * 8} for s in rounds.SIDES},
              "figures": {"caa.concurrency.10.rps": out["a"]}}
    assert rounds.summary(report) == [
        "1 interleaved round: against = /against (wheelhouse againstagain), "
        "this = /this (wheelhouse thisthisthis)",
        "CAA c=10 requests/s: against 0.5 (0; 1), this 1 (1; 1), no ratio (a run of the other build gave 0)"]

