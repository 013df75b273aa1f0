"""Fault tests on the real local fleet (namespaces, HAProxy, Unbound, nft), bounded in time."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from local.actions import faults
from local.actions.client import mpic

pytestmark = [pytest.mark.root, pytest.mark.fleet]


def _verdict(resp: dict) -> dict[str, tuple[bool, list]]:
    return {p["perspective_code"]: (p["check_response"]["check_passed"], p["check_response"].get("errors") or [])
            for p in resp["perspectives"]}


def _codes(fleet) -> list[str]:
    return [p["code"] for p in fleet["perspectives"]]


NOT_AWAITED = "mpic_error:coordinator:early_quorum_cancelled"


def _not_awaited(errors: list) -> bool:
    return [e["error_type"] for e in errors] == [NOT_AWAITED]


def test_baseline_quorum_passes_the_rest_not_awaited(fleet, dns_change):
    code, resp = mpic(fleet, dns_change)
    assert code == 200 and resp["is_valid"] is True, resp
    verdict = _verdict(resp)
    assert sum(ok for ok, _ in verdict.values()) >= resp["actual_orchestration_parameters"]["quorum_count"]
    assert all(ok or _not_awaited(errors) for ok, errors in verdict.values()), verdict


def test_replicas_killed_under_20s_load_zero_failed_requests(healed, dns_change):
    """20 s of load at concurrency 4; a perspective replica (t=4 s) and a coordinator replica
    (t=10 s) are SIGKILLed: no request may fail."""
    fleet = healed
    region = _codes(fleet)[0]
    stop_at = time.monotonic() + 20
    lock = threading.Lock()
    results: list[tuple[float, int, bool, int]] = []

    def worker() -> None:
        while time.monotonic() < stop_at:
            t = time.monotonic()
            code, resp = mpic(fleet, dns_change, timeout=30)
            ok = code == 200 and isinstance(resp, dict) and resp.get("is_valid") is True
            failed_persp = sum(1 for p in resp.get("perspectives", []) if not p["check_response"]["check_passed"]) \
                if isinstance(resp, dict) else -1
            with lock:
                results.append((time.monotonic() - t, code, ok, failed_persp))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    time.sleep(4)
    killed_p = faults.kill_replica(fleet["stack"], region)
    time.sleep(6)
    killed_c = faults.kill_replica(fleet["stack"], "coordinator")
    for th in threads:
        th.join(40)
    lat = sorted(r[0] * 1000 for r in results)
    failed = [r for r in results if not r[2]]
    persp_failures = sum(r[3] for r in results if r[3] > 0)
    print(f"\nload: {len(results)} requests in 20 s, killed {killed_p} and {killed_c}; failed {len(failed)}; "
          f"perspective-level failures {persp_failures}; p50 {statistics.median(lat):.0f} ms, "
          f"p95 {lat[int(len(lat) * 0.95) - 1]:.0f} ms")
    assert len(results) >= 40
    assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"


def test_whole_region_down_still_valid(healed, dns_change):
    fleet = healed
    region = _codes(fleet)[1]
    faults.kill_region(fleet["stack"], region)
    code, resp = mpic(fleet, dns_change)
    assert code == 200 and resp["is_valid"] is True, resp
    verdict = _verdict(resp)
    assert verdict[region][0] is False and verdict[region][1], verdict[region]
    assert all(ok for code_, (ok, _) in verdict.items() if code_ != region)
    assert resp["actual_orchestration_parameters"]["quorum_count"] == len(verdict) - 1


def test_two_regions_cut_invalid_with_reasons(healed, dns_change):
    fleet = healed
    cut = _codes(fleet)[2:4]
    for region in cut:
        faults.partition(fleet["stack"], region)
    t = time.monotonic()
    code, resp = mpic(fleet, dns_change)
    took = time.monotonic() - t
    assert code == 200 and resp["is_valid"] is False, resp
    verdict = _verdict(resp)
    for region in cut:
        ok, errors = verdict[region]
        assert not ok and errors and errors[0]["error_message"], verdict[region]
    assert all(ok for code_, (ok, _) in verdict.items() if code_ not in cut)
    assert took < 15, f"the coordinator's perspective timeout bounds a partition ({took:.1f} s)"


def test_resolvers_stopped_give_a_clear_perspective_error(healed, dns_change):
    """Two regions without their resolvers: invalid (3 of 5 < quorum 4), decided by the first
    resolver error; each of the two reports that error or that it was not awaited."""
    fleet = healed
    regions = _codes(fleet)[3:5]
    for region in regions:
        faults.kill_resolver(fleet["stack"], region)
    code, resp = mpic(fleet, dns_change)
    assert code == 200 and resp["is_valid"] is False, resp
    verdict = _verdict(resp)
    messages = []
    for region in regions:
        ok, errors = verdict[region]
        assert not ok and errors, verdict[region]
        if not _not_awaited(errors):
            messages.append(" ".join(e["error_message"] for e in errors).lower())
    assert messages, verdict
    for message in messages:
        assert any(w in message for w in ("dns", "nameserver", "resolver", "lookup", "timeout", "unavailable")), message


def test_coordinator_replica_killed_other_answers(healed, dns_change):
    fleet = healed
    faults.kill_replica(fleet["stack"], "coordinator")
    for _ in range(10):
        code, resp = mpic(fleet, dns_change)
        assert code == 200 and resp["is_valid"] is True


def test_a_slow_region_is_not_awaited_two_slow_regions_slow_the_answer(healed, dns_change):
    """Early quorum (on by default, as in every cloud target): one region 4 s slower does not hold
    the answer (the other four make the quorum) and is reported as not awaited; with two regions
    slowed by 100 ms one way, the quorum needs one of them: the answer takes a round trip longer."""
    fleet = healed
    slow, also = _codes(fleet)[0], _codes(fleet)[1]

    def timed(n: int = 5) -> tuple[float, dict]:
        lat, resp = [], {}
        for _ in range(n):
            t = time.monotonic()
            code, resp = mpic(fleet, dns_change)
            assert code == 200 and resp["is_valid"] is True, resp
            lat.append((time.monotonic() - t) * 1000)
        return statistics.median(lat), resp

    before, _ = timed()
    assert faults.slow(fleet["stack"], slow, 4000) >= 4000
    one_slow, resp = timed(3)
    ok, errors = _verdict(resp)[slow]
    assert not ok and _not_awaited(errors), _verdict(resp)[slow]
    assert one_slow < 4000, f"the slow region held the answer: {one_slow:.0f} ms"
    faults.heal(fleet["stack"])
    faults.slow(fleet["stack"], slow, 100)
    faults.slow(fleet["stack"], also, 100)
    two_slow, _ = timed()
    print(f"\nmedian {before:.0f} ms; one region +4000 ms: {one_slow:.0f} ms (not awaited); "
          f"two regions +100 ms: {two_slow:.0f} ms")
    assert two_slow >= before + 150, (before, two_slow)  # >= one round trip (2 x 100 ms) of a slow one


def test_fault_input_errors(fleet):
    with pytest.raises(faults.FaultError):
        faults.kill_region(fleet["stack"], "mars-north-1")
    with pytest.raises(faults.FaultError):
        faults.slow(fleet["stack"], _codes(fleet)[0], -5)
