"""Early quorum agrees with open-mpic-core's own coordinator (property test) and stops early."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from open_mpic_core import (
    CaaCheckResponse,
    CaaCheckResponseDetails,
    CheckType,
    DcvAcmeDns01ValidationParameters,
    MpicCaaRequest,
    MpicCoordinator,
    MpicCoordinatorConfiguration,
    MpicDcvRequest,
    MpicRequestOrchestrationParameters,
    MpicRequestValidationException,
    CohortCreationException,
    CohortSelectionException,
    DcvCheckResponse,
    DcvCheckResponseDetailsBuilder,
    RemotePerspective,
)
from service.audit import AuditLog
from service.metrics import Metrics
from service.orchestration import (
    EARLY_QUORUM_ERROR,
    OrchestrationError,
    Orchestrator,
    RequestValidationFailed,
    decide,
    quorum_met,
)

RIRS = ["ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC"]
OUTCOMES = ["pass", "fail", "incomplete", "raise"]


def make_call(behaviour: dict[str, tuple[str, int]]) -> Any:
    """A core-style callback: outcome and how many loop turns each perspective takes."""

    async def call(perspective: RemotePerspective, check_type: CheckType, request: Any) -> Any:
        outcome, turns = behaviour[perspective.code]
        for _ in range(turns):
            await asyncio.sleep(0)
        if outcome == "raise":
            raise ConnectionError("perspective unreachable")
        completed = outcome != "incomplete"
        passed = outcome == "pass"
        if check_type == CheckType.CAA:
            return CaaCheckResponse(check_completed=completed, check_passed=passed,
                                    details=CaaCheckResponseDetails(caa_record_present=False), timestamp_ns=1)
        return DcvCheckResponse(check_completed=completed, check_passed=passed, timestamp_ns=1,
                                details=DcvCheckResponseDetailsBuilder.build_response_details(
                                    request.dcv_check_parameters.validation_method))

    return call


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 8))
    pool = [(f"p{i}", draw(st.sampled_from(RIRS))) for i in range(n)]
    behaviour = {code: (draw(st.sampled_from(OUTCOMES)), draw(st.integers(0, 6))) for code, _ in pool}
    count = draw(st.one_of(st.none(), st.integers(1, n + 1)))
    quorum = draw(st.one_of(st.none(), st.integers(0, n + 1)))
    params = None
    if draw(st.booleans()):
        params = MpicRequestOrchestrationParameters(
            perspective_count=count, quorum_count=quorum,
            max_attempts=draw(st.one_of(st.none(), st.integers(0, 4))),
            cohort_for_single_attempt=draw(st.one_of(st.none(), st.integers(0, 3))),
        )
    return dict(
        pool=pool, behaviour=behaviour, params=params,
        default_count=draw(st.integers(2, n)),
        global_max=draw(st.one_of(st.none(), st.integers(1, 3))),
        target=draw(st.sampled_from(["a.example", "b.example", "*.c.example", "D.example"])),
        dcv=draw(st.booleans()),
        early=draw(st.booleans()),
    )


def _request(s: dict[str, Any]) -> Any:
    if s["dcv"]:
        return MpicDcvRequest(domain_or_ip_target=s["target"], orchestration_parameters=s["params"],
                              dcv_check_parameters=DcvAcmeDns01ValidationParameters(key_authorization_hash="x"))
    return MpicCaaRequest(domain_or_ip_target=s["target"], orchestration_parameters=s["params"])


def _pool(s: dict[str, Any]) -> list[RemotePerspective]:
    return [RemotePerspective(code=c, rir=r) for c, r in s["pool"]]


async def _core(s: dict[str, Any]) -> Any:
    core = MpicCoordinator(make_call(s["behaviour"]), MpicCoordinatorConfiguration(
        _pool(s), s["default_count"], s["global_max"], "secret"))
    try:
        return await core.coordinate_mpic(_request(s))
    except MpicRequestValidationException:
        return "invalid-request"
    except (CohortCreationException, CohortSelectionException, ValueError) as exc:
        return f"cohort-error:{type(exc).__name__}"


async def _ours(s: dict[str, Any]) -> Any:
    orch = Orchestrator(_pool(s), s["default_count"], "secret", make_call(s["behaviour"]),
                        global_max_attempts=s["global_max"], early_quorum=s["early"], perspective_timeout=5)
    try:
        return await orch.coordinate(_request(s))
    except RequestValidationFailed:
        return "invalid-request"
    except OrchestrationError:
        return "cohort-error:CohortCreationException"
    except ValueError:
        return "cohort-error:ValueError"


def _summary(attempt: list[Any]) -> list[tuple[str, bool, bool, list[str]]]:
    return [(p.perspective_code, p.check_response.check_passed, p.check_response.check_completed,
             [e.error_type for e in p.check_response.errors or []]) for p in attempt]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_verdicts_agree_with_the_core(s: dict[str, Any]) -> None:
    core = asyncio.run(_core(s))
    ours = asyncio.run(_ours(s))
    if isinstance(core, str):
        # the core raises CohortCreationException for "no cohort"; a count of 1 surfaces as ValueError
        assert isinstance(ours, str)
        assert ours.split(":")[0] == core.split(":")[0]
        return
    assert not isinstance(ours, str), ours
    assert ours.is_valid == core.is_valid
    assert ours.actual_orchestration_parameters == core.actual_orchestration_parameters
    assert ours.request_orchestration_parameters == core.request_orchestration_parameters
    core_attempts = (core.previous_attempt_results or []) + [core.perspectives]
    our_attempts = (ours.previous_attempt_results or []) + [ours.perspectives]
    assert len(our_attempts) == len(core_attempts)
    for mine, theirs in zip(our_attempts, core_attempts):
        mine_s, theirs_s = _summary(mine), _summary(theirs)
        assert [m[0] for m in mine_s] == [t[0] for t in theirs_s]  # same cohort, same order
        for m, t in zip(mine_s, theirs_s):
            if m[3] == [EARLY_QUORUM_ERROR]:
                assert s["early"] and not m[1] and not m[2]
            else:
                assert m == t
    abandoned = any(EARLY_QUORUM_ERROR in m[3] for a in our_attempts for m in _summary(a))
    all_complete = all(outcome in ("pass", "fail") for outcome, _ in s["behaviour"].values())
    if all_complete or not abandoned:
        assert ours.mpic_completed == core.mpic_completed
    if not s["early"]:
        assert all(EARLY_QUORUM_ERROR not in m[3] for a in our_attempts for m in _summary(a))


@pytest.mark.parametrize(
    "size,quorum,passed,pending,expected",
    [
        (5, 4, ["ARIN", "RIPE NCC", "APNIC", "ARIN"], ["LACNIC"], True),
        (5, 4, ["ARIN", "ARIN", "ARIN", "ARIN"], ["LACNIC"], None),  # quorum count met, one RIR only
        (5, 4, ["ARIN", "ARIN", "ARIN", "ARIN"], [], False),
        (5, 4, ["ARIN", "RIPE NCC"], ["APNIC"], False),  # 2 failed already: 4 impossible
        (2, 2, ["ARIN", "ARIN"], [], True),  # size 2: no RIR rule
        (3, 2, ["ARIN"], ["ARIN"], False),  # best case still single-RIR
        (6, 4, ["ARIN", "APNIC", "ARIN"], ["RIPE NCC", "ARIN", "ARIN"], None),
    ],
)
def test_decide_table(size: int, quorum: int, passed: list[str], pending: list[str], expected: bool | None) -> None:
    assert decide(size, quorum, passed, pending) is expected
    if expected is not None:
        assert quorum_met(size, quorum, passed + pending) is expected or expected is True


def test_a_hanging_perspective_is_cut_off_and_reported(tmp_path: Any) -> None:
    pool = [RemotePerspective(code=c, rir=r) for c, r in
            [("a", "ARIN"), ("b", "RIPE NCC"), ("c", "APNIC"), ("d", "LACNIC"), ("e", "AFRINIC")]]
    async def call(p: RemotePerspective, check_type: CheckType, request: Any) -> Any:
        if p.code == "c":
            await asyncio.sleep(3600)
        return CaaCheckResponse(check_completed=True, check_passed=True,
                                details=CaaCheckResponseDetails(caa_record_present=False), timestamp_ns=1)

    audit = AuditLog(str(tmp_path / "a.jsonl"))
    metrics = Metrics()

    async def run(early: bool, timeout: float) -> tuple[Any, float]:
        orch = Orchestrator(pool, 5, "s", call, early_quorum=early, perspective_timeout=timeout,
                            audit=audit, metrics=metrics)
        t0 = time.perf_counter()
        resp = await orch.coordinate(MpicCaaRequest(domain_or_ip_target="x.example", trace_identifier="t-1"))
        return resp, time.perf_counter() - t0

    early_resp, early_s = asyncio.run(run(True, 0.5))
    late_resp, late_s = asyncio.run(run(False, 0.5))
    audit.close()
    assert early_resp.is_valid and late_resp.is_valid
    c_early = next(p for p in early_resp.perspectives if p.perspective_code == "c").check_response
    c_late = next(p for p in late_resp.perspectives if p.perspective_code == "c").check_response
    assert c_early.errors[0].error_type == EARLY_QUORUM_ERROR and not c_early.check_completed
    assert c_late.errors[0].error_type == "mpic_error:coordinator:remote_check"
    assert "no answer within 0.5 s" in c_late.errors[0].error_message
    print(f"early quorum {early_s * 1000:.1f} ms, without {late_s * 1000:.1f} ms (timeout 500 ms)")
    assert metrics.value("mpic_perspective_calls_total", perspective="c", check_type="caa", outcome="cancelled") == 1
    assert metrics.value("mpic_perspective_calls_total", perspective="c", check_type="caa", outcome="timeout") == 1
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 2 * (5 + 1)  # the chain's start, then per request 5 results and the attempt


def _five() -> list[RemotePerspective]:
    return [RemotePerspective(code=c, rir=r) for c, r in
            [("a", "ARIN"), ("b", "RIPE NCC"), ("c", "APNIC"), ("d", "LACNIC"), ("e", "AFRINIC")]]


def test_abandoned_calls_drain_within_the_grace_period_then_are_cancelled() -> None:
    """After an early decision the slow calls are not awaited; within abandon_grace they may still
    finish (keeping their connection), after it they are cancelled; aclose() stops the rest."""
    gates: dict[str, asyncio.Event] = {}
    cancelled: list[str] = []

    async def call(p: RemotePerspective, check_type: CheckType, request: Any) -> Any:
        if p.code in gates:
            try:
                await gates[p.code].wait()
            except asyncio.CancelledError:
                cancelled.append(p.code)
                raise
        return CaaCheckResponse(check_completed=True, check_passed=True,
                                details=CaaCheckResponseDetails(caa_record_present=False), timestamp_ns=1)

    async def scenario(grace: float) -> tuple[Metrics, Orchestrator, Any]:
        gates.clear()
        gates["e"] = asyncio.Event()
        metrics = Metrics()
        orch = Orchestrator(_five(), 5, "s", call, perspective_timeout=30, abandon_grace=grace, metrics=metrics)
        resp = await orch.coordinate(MpicCaaRequest(domain_or_ip_target="x.example"))
        return metrics, orch, resp

    async def finished_in_grace() -> Metrics:
        metrics, orch, resp = await scenario(30)
        assert resp.is_valid and len(orch._background) == 1
        gates["e"].set()  # the slow one answers within the grace period
        await asyncio.gather(*orch._background)
        return metrics

    async def cancelled_after_grace() -> Metrics:
        metrics, orch, _ = await scenario(0.01)
        await asyncio.gather(*orch._background)
        return metrics

    async def cancelled_at_once() -> Metrics:
        metrics, orch, _ = await scenario(0)
        assert not orch._background
        await asyncio.sleep(0)
        return metrics

    async def stopped_by_aclose() -> Metrics:
        metrics, orch, _ = await scenario(30)
        await orch.aclose()
        return metrics

    m = asyncio.run(finished_in_grace())
    assert m.value("mpic_abandoned_calls_total", outcome="finished") == 1 and cancelled == []
    m = asyncio.run(cancelled_after_grace())
    assert m.value("mpic_abandoned_calls_total", outcome="cancelled") == 1 and cancelled == ["e"]
    cancelled.clear()
    asyncio.run(cancelled_at_once())
    assert cancelled == ["e"]
    cancelled.clear()
    m = asyncio.run(stopped_by_aclose())
    assert cancelled == ["e"] and m.value("mpic_abandoned_calls_total", outcome="finished") == 0


def test_a_cancelled_request_cancels_its_calls() -> None:
    started: list[str] = []
    cancelled: list[str] = []

    async def call(p: RemotePerspective, check_type: CheckType, request: Any) -> Any:
        started.append(p.code)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(p.code)
            raise

    async def go() -> None:
        orch = Orchestrator(_five(), 5, "s", call, perspective_timeout=30)
        task = asyncio.create_task(orch.coordinate(MpicCaaRequest(domain_or_ip_target="x.example")))
        while len(started) < 5:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert sorted(cancelled) == ["a", "b", "c", "d", "e"]


def test_configured_default_quorum_applies_to_requests_without_one() -> None:
    """default_quorum_count (the stack's mpic:quorum): 5 of 5 with one failing perspective is
    invalid (the core default 4 of 5 is valid); early quorum decides with the same value; a cohort
    of another size keeps the operator's tolerance. The orchestrator keeps a request's own
    quorum_count (service.policy refuses one below the operator's before it gets here)."""
    behaviour = {"a": ("pass", 6), "b": ("pass", 6), "c": ("pass", 6), "d": ("pass", 6), "e": ("raise", 0)}

    async def run(default_quorum: int | None, early: bool, params: Any = None) -> Any:
        orch = Orchestrator(_five(), 5, "s", make_call(behaviour), early_quorum=early, perspective_timeout=5,
                            default_quorum_count=default_quorum)
        return await orch.coordinate(MpicCaaRequest(domain_or_ip_target="x.example", orchestration_parameters=params))

    for early in (True, False):
        strict = asyncio.run(run(5, early))
        assert strict.is_valid is False and strict.actual_orchestration_parameters.quorum_count == 5
        cancelled = [p for p in strict.perspectives
                     if EARLY_QUORUM_ERROR in [e.error_type for e in p.check_response.errors or []]]
        # early: "e" failed first, so 5 of 5 was impossible at once and the rest were not awaited
        assert len(cancelled) == (4 if early else 0)
        default = asyncio.run(run(None, early))
        assert default.is_valid is True and default.actual_orchestration_parameters.quorum_count == 4
    own = asyncio.run(run(5, True, MpicRequestOrchestrationParameters(perspective_count=5, quorum_count=4)))
    assert own.is_valid is True and own.actual_orchestration_parameters.quorum_count == 4
    same_size = asyncio.run(run(5, True, MpicRequestOrchestrationParameters(perspective_count=5)))
    assert same_size.actual_orchestration_parameters.quorum_count == 5
    # the operator's tolerance (0 failures of 5) holds for other cohort sizes too: 4 of 4
    other_size = asyncio.run(run(5, True, MpicRequestOrchestrationParameters(perspective_count=4)))
    assert other_size.actual_orchestration_parameters.quorum_count == 4
    with pytest.raises(RequestValidationFailed):  # the core's own check of a request's quorum stays
        asyncio.run(run(5, True, MpicRequestOrchestrationParameters(perspective_count=5, quorum_count=3)))
