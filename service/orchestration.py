"""MPIC orchestration with early quorum, mirroring open-mpic-core's verdict rules.

The core (``MpicCoordinator.coordinate_mpic``) waits for every perspective of a cohort. This
orchestrator reuses the core's building blocks (request validation, cohort shuffling and
grouping, default quorum, check-request construction, error responses, response builder) and
changes one thing: an attempt ends as soon as its outcome can no longer change.

Verdict rules (BR 3.2.2.9, as the core implements them):
- quorum: at least ``quorum_count`` perspectives of the cohort pass (default N-1 for N <= 5,
  N-2 for N >= 6: "2-5 remotes -> 1 allowed non-corroboration; 6 or more -> 2"); a request
  without a quorum_count whose cohort has the default size gets the operator's
  ``default_quorum_count`` instead when one is configured (see :meth:`Orchestrator.required_quorum`);
- RIR diversity: when the cohort has more than 2 perspectives, the passing ones span >= 2
  RIRs ("the remote perspectives that corroborate must fall within at least two RIRs");
- attempts: ``max_attempts`` (capped by the global setting) cohorts in turn; a new attempt
  never reuses a previous attempt's corroborations ("MUST NOT reuse").

Because passing more perspectives can only help, an attempt is decided *valid* once the
passes so far meet the rules, and *invalid* once the passes so far plus every perspective
still pending could not meet them. The perspectives not yet answered are reported with
``check_completed: false`` and error type ``EARLY_QUORUM_ERROR``; their answers are discarded,
and they do not count as incomplete for ``mpic_completed`` (which therefore equals the core's
value whenever the perspectives would have completed).
Their calls get ``abandon_grace`` seconds (default 1 s) to finish so that healthy perspectives
keep their keep-alive connection (cancelling mid-request would force a new TLS handshake on the
next request); then they are cancelled. ``abandon_grace: 0`` cancels at once. A request with
``X-MPIC-Await-All`` (the canary) waits for every perspective of its cohort.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from itertools import cycle
from typing import Any, Awaitable, Callable

from open_mpic_core import (
    CheckRequest,
    CheckResponse,
    CheckType,
    CohortCreationException,
    CohortCreator,
    CohortSelectionException,
    ErrorMessages,
    MpicCoordinator,
    MpicRequest,
    MpicRequestValidationMessages,
    MpicRequestValidator,
    MpicResponse,
    MpicResponseBuilder,
    MpicValidationError,
    PerspectiveResponse,
    RemoteCheckCallConfiguration,
    RemoteCheckException,
    RemotePerspective,
)
from service.audit import AuditLog, iso_ns
from service.context import (  # noqa: F401 - new_request_id: the coordinator's, from here
    answered_as, current_check_body, current_request, method_of, new_request_id, request_id_now, rir_of)
from service.errors import incomplete_check
from service.identity import MISMATCH_ERROR, IdentityMismatch
from service.metrics import Metrics
from service.rules import decide, quorum_met

log = logging.getLogger("service.orchestration")

CallFunction = Callable[[RemotePerspective, CheckType, CheckRequest], Awaitable[CheckResponse]]
EARLY_QUORUM_ERROR = "mpic_error:coordinator:early_quorum_cancelled"
TIMEOUT_ERROR_TEXT = "no answer within {0:g} s (perspective_timeout)"

_Outcome = tuple[PerspectiveResponse, str, float, "dict[str, Any] | None"]  # response, outcome kind, seconds, identity


class RequestValidationFailed(Exception):
    """400: the request is well-formed JSON for the model but the core rejects its values."""

    def __init__(self, issues: list[dict[str, Any]]):
        super().__init__(MpicRequestValidationMessages.REQUEST_VALIDATION_FAILED.key)
        self.issues = issues


class OrchestrationError(Exception):
    """No cohort for the request: ``selection`` when the requested cohort number does not exist
    (cohort_for_single_attempt), else no cohort of the size can be built from the pool."""

    def __init__(self, message: str, selection: bool = False):
        super().__init__(message)
        self.selection = selection


@dataclass
class AttemptResult:
    responses: list[PerspectiveResponse]
    is_valid: bool
    decided_early: bool
    passed: int


class Orchestrator:
    """Runs MPIC requests against a pool of perspectives (see the module docstring)."""

    def __init__(
        self,
        perspectives: list[RemotePerspective],
        default_perspective_count: int,
        hash_secret: str,
        call: CallFunction,
        *,
        global_max_attempts: int | None = None,
        perspective_timeout: float = 5.0,
        early_quorum: bool = True,
        abandon_grace: float = 1.0,
        default_quorum_count: int | None = None,
        audit: AuditLog | None = None,
        metrics: Metrics | None = None,
    ):
        self.perspectives = list(perspectives)
        self.default_perspective_count = default_perspective_count
        self.default_quorum_count = default_quorum_count
        self.global_max_attempts = global_max_attempts
        self.hash_secret = hash_secret
        self.call = call
        self.perspective_timeout = perspective_timeout
        self.early_quorum = early_quorum
        self.abandon_grace = abandon_grace
        self._background: set[asyncio.Task[None]] = set()
        self.audit = audit
        self.metrics = metrics if metrics is not None else Metrics()
        self._rir = {p.code: p.rir for p in self.perspectives}
        for name, kind, text in (
            ("mpic_perspective_calls_total", "counter",
             "Perspective calls by outcome (pass/fail/error/timeout/cancelled/identity_mismatch)"),
            ("mpic_perspective_latency_seconds", "histogram", "Round trip of one perspective call"),
            ("mpic_attempts_total", "counter", "MPIC attempts by verdict and whether decided early"),
            ("mpic_abandoned_calls_total", "counter",
             "Calls no longer awaited after an early decision: finished within the grace period or cancelled"),
        ):
            self.metrics.describe(name, kind, text)

    # -- the core's request-level rules -------------------------------------------------------
    def cohorts(self, cohort_size: int, target: str) -> list[list[RemotePerspective]]:
        """The core's cohorts for ``target`` (sha256(hash_secret + target) shuffle, RIR spread)."""
        if cohort_size > len(self.perspectives):
            raise CohortCreationException(ErrorMessages.COHORT_CREATION_ERROR.message.format(cohort_size))
        seed = hashlib.sha256((self.hash_secret + target.lower()).encode("utf-8")).digest()
        per_rir = CohortCreator.shuffle_available_perspectives_per_rir(list(self.perspectives), seed)
        return CohortCreator.create_perspective_cohorts(per_rir, cohort_size)

    def required_quorum(self, params: Any, count: int) -> int:
        """Passing perspectives an attempt with cohorts of ``count`` needs: the request's own
        quorum_count (validated by the core and service.policy), else the core's default (BR
        3.2.2.9 minimum: N-1 for N <= 5, N-2 for N >= 6) raised to the operator's
        ``default_quorum_count``: ``default_perspective_count - default_quorum_count`` failures
        at most, whatever the cohort size (5 of 5 configured: 4 of 4, 6 of 6)."""
        if params is not None and params.quorum_count is not None:
            return int(params.quorum_count)
        core = int(MpicCoordinator.determine_required_quorum_count(params, count))
        if self.default_quorum_count is None:
            return core
        return max(core, count - (self.default_perspective_count - self.default_quorum_count))

    async def coordinate(self, request: MpicRequest, request_id: str | None = None, *,
                         await_all: bool = False) -> MpicResponse:
        """The core's ``coordinate_mpic`` with early quorum unless ``await_all``; raises RequestValidationFailed
        or OrchestrationError. ``request_id`` (the coordinator's, default new) keys the audit lines and
        tags the calls, with the caller's ``trace_identifier`` beside it."""
        ok, issues = MpicRequestValidator.is_request_valid(request, self.perspectives)
        if not ok:
            raise RequestValidationFailed([vars(issue) for issue in issues])
        request_id = request_id or new_request_id()
        token = current_request.set((request_id, request.trace_identifier))
        try:
            with self.audit.batch() if self.audit is not None else contextlib.nullcontext():
                return await self._coordinate(request, request_id, await_all)
        except CohortCreationException as exc:
            raise OrchestrationError(str(exc)) from None
        except CohortSelectionException as exc:
            raise OrchestrationError(str(exc), selection=True) from None
        finally:
            current_request.reset(token)

    async def _coordinate(self, request: MpicRequest, request_id: str, await_all: bool = False) -> MpicResponse:
        params = request.orchestration_parameters
        count = self.default_perspective_count
        if params is not None and params.perspective_count is not None:
            count = params.perspective_count
        cohorts = self.cohorts(count, request.domain_or_ip_target)
        if not cohorts:
            raise CohortCreationException(ErrorMessages.COHORT_CREATION_ERROR.message.format(count))
        chosen = None
        if params is not None and params.cohort_for_single_attempt is not None:
            chosen = params.cohort_for_single_attempt
            if not MpicRequestValidator.is_requested_cohort_for_single_attempt_valid(chosen, len(cohorts)):
                raise CohortSelectionException(ErrorMessages.COHORT_SELECTION_ERROR.message.format(chosen))
        quorum = self.required_quorum(params, count)  # one value for early decisions and the verdict
        if (
            params is not None and params.max_attempts is not None and params.max_attempts > 0
            and params.cohort_for_single_attempt is None
        ):
            max_attempts = params.max_attempts
            if self.global_max_attempts is not None and max_attempts > self.global_max_attempts:
                max_attempts = self.global_max_attempts
        else:
            max_attempts = 1

        previous: list[list[PerspectiveResponse]] | None = None
        cohort_cycle = cycle(cohorts)
        attempt = 1
        while True:
            cohort = cohorts[chosen - 1] if chosen is not None else next(cohort_cycle)
            result = await self._attempt(request, cohort, quorum, attempt, request_id, await_all)
            if result.is_valid or attempt >= max_attempts:
                response = MpicResponseBuilder.build_response(
                    request, count, quorum, attempt, result.responses, result.is_valid, previous
                )
                # perspectives not awaited because the verdict was already fixed are not "failed to
                # complete": mpic_completed counts only the incomplete answers actually received
                awaited = [r for r in result.responses if not _was_abandoned(r)]
                response.mpic_completed = MpicResponseBuilder.enough_perspectives_completed(count, awaited, quorum)
                return response
            previous = (previous or []) + [result.responses]
            attempt += 1

    # -- one attempt ----------------------------------------------------------------------------
    async def _attempt(self, request: MpicRequest, cohort: list[RemotePerspective], quorum: int,
                       attempt: int, request_id: str, await_all: bool = False) -> AttemptResult:
        started = time.time_ns()
        calls = MpicCoordinator.collect_checker_calls_to_issue(request, cohort)
        check = calls[0].check_request  # one object for the whole cohort (the core builds it once)
        token = current_check_body.set((check, check.model_dump_json().encode()))
        tasks = {asyncio.create_task(self._invoke(cfg)): i for i, cfg in enumerate(calls)}
        current_check_body.reset(token)
        results: list[PerspectiveResponse | None] = [None] * len(calls)
        pending = set(tasks)
        decided: bool | None = None
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    i = tasks[task]
                    response, kind, elapsed, seen = task.result()
                    results[i] = response
                    self._record(calls[i], request, attempt, request_id, response, kind, elapsed, seen)
                if self.early_quorum and not await_all and pending:
                    passed = [self._rir[cohort[i].code] for i, r in enumerate(results)
                              if r is not None and r.check_response.check_passed]
                    waiting = [self._rir[cohort[i].code] for i, r in enumerate(results) if r is None]
                    decided = decide(len(cohort), quorum, passed, waiting)
                    if decided is not None:
                        break
        except BaseException:  # the request itself was cancelled: stop every call at once
            for task in pending:
                task.cancel()
            raise
        for task in pending:
            self._abandon(task)
        answered = sum(r is not None for r in results)
        responses: list[PerspectiveResponse] = []
        for i, response in enumerate(results):
            if response is None:
                response = self._cancelled(calls[i], decided, answered, len(calls))
                self._audit_perspective(calls[i], request, attempt, request_id, response, "cancelled", None, None)
            responses.append(response)
        passing = [self._rir[p.perspective_code] for p in responses if p.check_response.check_passed]
        is_valid = quorum_met(len(cohort), quorum, passing)
        early = answered < len(calls)
        self.metrics.inc("mpic_attempts_total", verdict="valid" if is_valid else "invalid", early=str(early).lower())
        ended = time.time_ns()
        if self.audit is not None:
            self.audit.write(
                "attempt", request_id=request_id, trace_id=request.trace_identifier, target=request.domain_or_ip_target,
                check_type=request.check_type.value, method=method_of(request), attempt=attempt,
                cohort=[p.code for p in cohort], perspectives=[{"code": p.code, "rir": rir_of(p)} for p in cohort],
                quorum=f"{len(passing)}/{len(cohort)}", quorum_required=quorum,
                rirs_passing=sorted({str(getattr(r, "value", r)) for r in passing}), is_valid=is_valid,
                decided_early=early, answered=answered, started_at=iso_ns(started), ended_at=iso_ns(ended),
                duration_ms=round((ended - started) / 1e6, 3),
            )
        return AttemptResult(responses, is_valid, early, len(passing))

    def _abandon(self, task: "asyncio.Task[_Outcome]") -> None:
        """A call whose answer no longer matters: its result is discarded. It may finish within
        ``abandon_grace`` seconds (so its keep-alive connection returns to the pool), then it is
        cancelled."""
        if self.abandon_grace <= 0:
            task.cancel()
            return

        async def drain() -> None:
            done, _ = await asyncio.wait({task}, timeout=self.abandon_grace)
            outcome = "finished" if done else "cancelled"
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            self.metrics.inc("mpic_abandoned_calls_total", outcome=outcome)

        drainer = asyncio.create_task(drain())
        self._background.add(drainer)
        drainer.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Cancel calls still draining (shutdown)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _invoke(self, cfg: RemoteCheckCallConfiguration) -> "_Outcome":
        """One perspective call; every failure becomes the core's incomplete result (never raises
        except when cancelled)."""
        started = time.perf_counter()
        code = cfg.perspective.code
        kind: str
        answered_as.set(None)
        try:
            async with asyncio.timeout(self.perspective_timeout):
                check_response = await self.call(cfg.perspective, cfg.check_type, cfg.check_request)
            response = PerspectiveResponse(perspective_code=code, check_response=check_response)
            kind = "pass" if check_response.check_passed else ("fail" if check_response.check_completed else "error")
        except asyncio.CancelledError:
            raise
        except IdentityMismatch as exc:  # another perspective answered: never a corroboration (service.identity)
            kind = "identity_mismatch"
            log.warning("perspective %s, target %s: %s; request %s", code, cfg.check_request.domain_or_ip_target,
                        exc, request_id_now())
            params = getattr(cfg.check_request, "dcv_check_parameters", None)
            response = PerspectiveResponse(perspective_code=code, check_response=incomplete_check(
                cfg.check_type, params.validation_method if params else None,
                MpicValidationError(error_type=MISMATCH_ERROR, error_message=f"{exc}; not counted as perspective {code}")))
        except Exception as exc:  # noqa: BLE001 - any failure is that perspective's incomplete result
            text = TIMEOUT_ERROR_TEXT.format(self.perspective_timeout) if isinstance(exc, TimeoutError) else (
                str(exc) or type(exc).__name__)
            kind = "timeout" if isinstance(exc, TimeoutError) else "error"
            wrapped = RemoteCheckException(
                f"Check failed for perspective {code}, target {cfg.check_request.domain_or_ip_target}: {text}; "
                f"request {request_id_now()}",
                call_config=cfg,
            )
            log.warning(str(wrapped))
            response = MpicCoordinator.build_error_perspective_response_from_exception(wrapped)
        return response, kind, time.perf_counter() - started, answered_as.get()

    def _record(self, cfg: RemoteCheckCallConfiguration, request: MpicRequest, attempt: int, request_id: str,
                response: PerspectiveResponse, kind: str, elapsed: float, seen: dict[str, Any] | None) -> None:
        code = cfg.perspective.code
        self.metrics.inc("mpic_perspective_calls_total", perspective=code, check_type=cfg.check_type.value, outcome=kind)
        self.metrics.observe("mpic_perspective_latency_seconds", elapsed, perspective=code)
        self._audit_perspective(cfg, request, attempt, request_id, response, kind, elapsed, seen)

    def _cancelled(self, cfg: RemoteCheckCallConfiguration, decided: bool | None, answered: int,
                   total: int) -> PerspectiveResponse:
        verdict = "valid" if decided else "invalid"
        error = MpicValidationError(
            error_type=EARLY_QUORUM_ERROR,
            error_message=f"Not awaited: the attempt was decided ({verdict}) by early quorum after "
                          f"{answered} of {total} perspectives answered; this check was cancelled.",
        )
        self.metrics.inc("mpic_perspective_calls_total", perspective=cfg.perspective.code,
                         check_type=cfg.check_type.value, outcome="cancelled")
        params = getattr(cfg.check_request, "dcv_check_parameters", None)
        check = incomplete_check(cfg.check_type, params.validation_method if params else None, error)
        return PerspectiveResponse(perspective_code=cfg.perspective.code, check_response=check)

    def _audit_perspective(self, cfg: RemoteCheckCallConfiguration, request: MpicRequest, attempt: int,
                           request_id: str, response: PerspectiveResponse, outcome: str,
                           elapsed: float | None, seen: dict[str, Any] | None) -> None:
        if self.audit is None:
            return
        check = response.check_response
        extra: dict[str, Any] = {"identity": seen} if seen else {}
        if outcome == "identity_mismatch" and check.errors:
            extra["detail"] = check.errors[0].error_message
        self.audit.write(
            "perspective_result", request_id=request_id, trace_id=request.trace_identifier,
            target=request.domain_or_ip_target, check_type=request.check_type.value, method=method_of(request),
            attempt=attempt, perspective=cfg.perspective.code, rir=rir_of(cfg.perspective),
            outcome=outcome, check_completed=check.check_completed, check_passed=check.check_passed,
            errors=[e.error_type for e in check.errors or []],
            checked_at=iso_ns(check.timestamp_ns) if check.timestamp_ns else None,
            latency_ms=round(elapsed * 1000, 3) if elapsed is not None else None, **extra,
        )


def _was_abandoned(response: PerspectiveResponse) -> bool:
    errors = response.check_response.errors or []
    return any(e.error_type == EARLY_QUORUM_ERROR for e in errors)
