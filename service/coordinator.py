"""The coordinator service: API-key check, limits, request parsing, BR floor, orchestration.

Framework-free (``handle_mpic(headers, body) -> (status, json)``) so the HTTP app and the
Lambda handler share it. The body is bytes (Lambda) or a reader the service calls only after the
API key passed, with the size limit (the HTTP app streams it: service.limits). Answers follow the
Open MPIC API spec 3.5: 200 with the response (service.spec) whether or not validation passed;
400 ``{"error": "request-validation-failed", "validation_issues": [...]}`` for anything invalid
(including what a framework would answer with 422, and requests below the BR 3.2.2.9 floor:
service.policy); 413 (same body) for an oversize body; 401 without a valid API key; 500 only
with a JSON error, never for client input.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Annotated, Any, Awaitable, Callable, Mapping

from pydantic import Field, TypeAdapter, ValidationError

from open_mpic_core import MpicRequest, RemotePerspective
from service import AWAIT_ALL_HEADER, CORE_VERSION, __version__, rules
from service.audit import AuditLog
from service.challenge import challenge_issues
from service.errors import bad_request, validation_issues
from service.limits import BodyTooLarge, InputRejected, check_shape, load_json, too_large, trace_id_issue
from service.metrics import Metrics
from service.orchestration import (
    CallFunction,
    OrchestrationError,
    Orchestrator,
    RequestValidationFailed,
    method_of,
    new_request_id,
)
from service.policy import RequestPolicy
from service.readiness import Readiness
from service.settings import CoordinatorSettings
from service.spec import response_body
from service.transport import RoutingTransport

log = logging.getLogger("service.coordinator")

_REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Annotated[MpicRequest, Field(discriminator="check_type")])
BodyReader = Callable[[int], Awaitable[bytes]]
READY_PROBE_TIMEOUT = 1.5
"""Seconds /readyz waits for each perspective's own /readyz: well inside a health checker's
timeout (Route53 gives 2 s for the response), so a dead region reads as not ready, not as a
hung health check."""
UNAUTHORIZED = {"error": "unauthorized", "message": "a valid API key is required (x-api-key or Authorization: Bearer)"}
LOOKUP_FAILURE_REFUSED = "lookup-failure-not-allowed"


class _Answer(Exception):
    """Ends handle_mpic early with (status, payload, metrics outcome)."""

    def __init__(self, status: int, payload: Any, outcome: str):
        super().__init__(outcome)
        self.status, self.payload, self.outcome = status, payload, outcome


class ApiKeys:
    """Several keys at once (rotation); every key is compared in constant time."""

    def __init__(self, keys: list[str]):
        self._keys = [k.encode() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def allows(self, headers: Mapping[str, str]) -> bool:
        presented = headers.get("x-api-key")
        if presented is None:
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            presented = token.strip() if scheme.lower() == "bearer" else None
        if not presented:
            return False
        candidate = presented.encode()
        match = False
        for key in self._keys:  # no early exit: the time taken does not depend on which key matched
            match |= hmac.compare_digest(candidate, key)
        return match


class CoordinatorService:
    """Everything behind ``POST /mpic``; one per process."""

    def __init__(self, settings: CoordinatorSettings, call: CallFunction | None = None,
                 audit: AuditLog | None = None, metrics: Metrics | None = None,
                 lambda_client_factory: Any = None):
        self.settings = settings
        self.audit = audit if audit is not None else AuditLog(
            settings.audit_log, role="coordinator", **{"site": "coordinator", **{
                k: v for k, v in settings.audit_identity().items() if v}})
        self.metrics = metrics if metrics is not None else Metrics()
        self.metrics.describe("mpic_requests_total", "counter", "MPIC requests by check type and outcome")
        self.metrics.describe("mpic_request_duration_seconds", "histogram", "MPIC request duration")
        self.api_keys = ApiKeys(settings.all_api_keys())
        self.transport: RoutingTransport | None = None
        if call is None:
            self.transport = RoutingTransport(settings.perspectives, settings.client_tls, lambda_client_factory,
                                              metrics=self.metrics, connections=settings.perspective_connections)
            call = self.transport
        perspectives = [
            RemotePerspective(code=p.code, rir=p.effective_rir.value, too_close_codes=list(p.too_close_codes))
            for p in settings.perspectives
        ]
        assert settings.hash_secret is not None
        self.orchestrator = Orchestrator(
            perspectives,
            settings.default_perspective_count,
            settings.hash_secret.get_secret_value(),
            call,
            global_max_attempts=settings.max_attempts or 1,  # null = 1: no retries unless configured
            perspective_timeout=settings.perspective_timeout,
            early_quorum=settings.early_quorum,
            abandon_grace=settings.abandon_grace,
            default_quorum_count=settings.default_quorum_count,
            audit=self.audit,
            metrics=self.metrics,
        )
        self.policy = RequestPolicy(
            pool_size=len(settings.perspectives), default_perspective_count=settings.default_perspective_count,
            default_quorum_count=settings.default_quorum_count, allow_cohort_selection=settings.allow_cohort_selection,
            br_as_of=settings.br_as_of,
        )
        self.readiness = Readiness(
            list(settings.perspectives), self._probe,
            quorum=lambda: self.orchestrator.required_quorum(None, settings.default_perspective_count),
            multi_rir=settings.default_perspective_count > 2,
            config_ok=lambda: self.policy.configuration_problem() is None,
            timeout=min(settings.perspective_timeout, READY_PROBE_TIMEOUT),
        )
        if settings.br_as_of is not None:
            log.warning("br_as_of pins the BR 3.2.2.9 date to %s (tests and labs only)", settings.br_as_of)
        upcoming = rules.next_phase(self.policy.as_of())
        if upcoming is not None and settings.default_perspective_count < upcoming[1]:
            log.warning("default_perspective_count %d falls below the BR 3.2.2.9 minimum of %d on %s: requests "
                        "will be refused from then on; raise it before", settings.default_perspective_count,
                        upcoming[1], upcoming[0].isoformat())

    async def _probe(self, target: Any, timeout: float) -> bool:
        return True if self.transport is None else await self.transport.probe(target, timeout)

    def health(self) -> dict[str, Any]:
        on = self.policy.as_of()
        return {
            "status": "ok",
            "role": "coordinator",
            "version": __version__,
            "core_version": CORE_VERSION,
            "perspectives": len(self.settings.perspectives),
            "perspectives_by_rir": self.settings.perspectives_by_rir(),
            "default_perspective_count": self.settings.default_perspective_count,
            "default_quorum_count": self.orchestrator.required_quorum(None, self.settings.default_perspective_count),
            "early_quorum": self.settings.early_quorum,
            "br_as_of": on.isoformat(),
            "br_minimum_perspectives": rules.min_perspective_count(on),
            "allow_cohort_selection": self.settings.allow_cohort_selection,
        }

    async def ready(self) -> bool:
        return await self.readiness.ready()

    async def handle_mpic(self, headers: Mapping[str, str], body: bytes | BodyReader) -> tuple[int, Any]:
        """(status, JSON-able body) for one ``POST /mpic``; never raises."""
        started = time.perf_counter()
        labels = {"check_type": "unknown"}  # set once the request is valid: never a label chosen by a client
        status, payload, outcome = 500, {"error": "internal-error"}, "error"
        try:
            with self.audit.batch():  # this request's audit lines: one write (service.audit)
                status, payload, outcome = await self._handle(headers, body, labels)
        except _Answer as answer:
            status, payload, outcome = answer.status, answer.payload, answer.outcome
        except Exception:  # noqa: BLE001 - 500 with a JSON error, the traceback goes to the log only
            log.exception("unexpected error while handling /mpic")
        finally:
            self.metrics.inc("mpic_requests_total", check_type=labels["check_type"], outcome=outcome)
            self.metrics.observe("mpic_request_duration_seconds", time.perf_counter() - started, **labels)
        return status, payload

    async def _read(self, headers: Mapping[str, str], body: bytes | BodyReader) -> Any:
        """The parsed JSON body, after the API key and the size limit (raises _Answer)."""
        if self.api_keys.enabled and not self.api_keys.allows(headers):
            raise _Answer(401, UNAUTHORIZED, "unauthorized")
        limit = self.settings.max_body_bytes
        try:
            if callable(body):
                body = await body(limit)
            elif len(body) > limit:
                raise BodyTooLarge(limit)
            data = load_json(body)
            trace = data.get("trace_identifier") if isinstance(data, dict) else None
            issue = trace_id_issue(trace) if isinstance(trace, str) else None
            if issue is not None:  # before the generic string limits: the specific rule is clearer
                raise InputRejected([issue])
            check_shape(data)
            return data
        except BodyTooLarge as exc:
            raise _Answer(*too_large(exc), "too_large") from None
        except InputRejected as exc:
            raise _Answer(*bad_request(exc.issues), "bad_request") from None

    @staticmethod
    def _validate(data: Any) -> Any:
        """The core's request model, or _Answer(400) with pydantic's issues."""
        try:
            return _REQUEST_ADAPTER.validate_python(data)
        except ValidationError as exc:
            raise _Answer(*bad_request(validation_issues(exc)), "bad_request") from None

    def _check_evidence(self, request: Any) -> None:
        """_Answer(400) for a request asking for evidence the BR does not accept: a CAA lookup
        failure as permission without the operator's ``caa_allow_lookup_failure`` (BR 3.2.2.8), an
        empty or too short challenge value (service.challenge)."""
        caa = getattr(request, "caa_check_parameters", None)
        if caa is not None and caa.allow_lookup_failure and not self.settings.caa_allow_lookup_failure:
            raise _Answer(*bad_request([{"issue_type": LOOKUP_FAILURE_REFUSED, "message": (
                "caa_check_parameters.allow_lookup_failure: true, but this coordinator never treats a CAA lookup "
                "failure as permission (stack key mpic:caa.allowLookupFailure is false; runtime setting "
                "caa_allow_lookup_failure). Omit it, or have the operator set mpic:caa.allowLookupFailure: true: "
                "then a failure counts only on BR 3.2.2.8's terms (outside the CA's infrastructure, retried, "
                "zone without a DNSSEC chain)")}]), "bad_request")
        issues = challenge_issues(getattr(request, "dcv_check_parameters", None), self.settings.min_challenge_length)
        if issues:
            raise _Answer(*bad_request(issues), "bad_request")

    def _check_floor(self, request: Any) -> None:
        """_Answer(400) below the BR 3.2.2.9 / operator floor; _Answer(500) when the coordinator's
        own default no longer meets it (service.policy)."""
        issues = self.policy.issues(request.orchestration_parameters)
        if issues:
            raise _Answer(*bad_request(issues), "bad_request")
        problem = self.policy.configuration_problem()
        if problem is not None:  # the date passed a BR phase while this process ran
            log.error("refusing requests: %s", problem)
            raise _Answer(500, {"error": "configuration-below-br-minimum", "message": problem}, "error")

    async def _handle(self, headers: Mapping[str, str], body: bytes | BodyReader,
                      labels: dict[str, str]) -> tuple[int, Any, str]:
        started = time.perf_counter()
        data = await self._read(headers, body)
        request = self._validate(data)
        check_type = labels["check_type"] = request.check_type.value
        self._check_evidence(request)
        self._check_floor(request)
        request_id = new_request_id()  # the coordinator's own: a caller's trace identifier is not unique
        params = request.orchestration_parameters
        # on record before any perspective is called: a request a crash cuts short is still accounted for
        self.audit.write("request", now=True, request_id=request_id, trace_id=request.trace_identifier,
                         target=request.domain_or_ip_target, check_type=check_type, method=method_of(request))
        try:
            await_all = headers.get(AWAIT_ALL_HEADER, "").strip().lower() in ("1", "true", "yes")
            response = await self.orchestrator.coordinate(request, request_id, await_all=await_all)
        except RequestValidationFailed as exc:
            self._ended(request_id, request, started, "bad_request")
            return *bad_request(exc.issues), "bad_request"
        except OrchestrationError as exc:
            status, answer = self._no_cohort(exc, params)
            self._ended(request_id, request, started, "bad_request" if status == 400 else "error")
            return status, answer, "bad_request" if status == 400 else "error"
        except BaseException:  # cancelled or unexpected: the request line still gets its end
            self._ended(request_id, request, started, "error")
            raise
        self.audit.write(
            "response", request_id=request_id, trace_id=request.trace_identifier, target=response.domain_or_ip_target,
            check_type=check_type, outcome="valid" if response.is_valid else "invalid", is_valid=response.is_valid,
            mpic_completed=response.mpic_completed,
            attempts=response.actual_orchestration_parameters.attempt_count
            if response.actual_orchestration_parameters else None,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return 200, response_body(response, data), "valid" if response.is_valid else "invalid"

    def _ended(self, request_id: str, request: Any, started: float, outcome: str) -> None:
        """The ``response`` line of a request that got no MPIC answer (400, 500, cancelled)."""
        self.audit.write("response", request_id=request_id, trace_id=request.trace_identifier, outcome=outcome,
                         duration_ms=round((time.perf_counter() - started) * 1000, 3))

    @staticmethod
    def _no_cohort(exc: OrchestrationError, params: Any) -> tuple[int, Any]:
        """The answer when no cohort can be built: 400 for the request's own selection or count, else 500."""
        if exc.selection:
            return bad_request([{"issue_type": "invalid-cohort-selection", "message": (
                f"orchestration_parameters.cohort_for_single_attempt: {params.cohort_for_single_attempt}: "
                f"{exc}; omit it or ask for an existing cohort")}])
        if params is not None and params.perspective_count is not None:
            return bad_request([{"issue_type": "invalid-perspective-count", "message": (
                f"orchestration_parameters.perspective_count: {params.perspective_count}: {exc} spanning "
                "2 RIRs from this pool (RIRs, too_close_codes); omit it to use the default")}])
        return 500, {"error": str(exc)}

    async def aclose(self) -> None:
        await self.orchestrator.aclose()
        if self.transport is not None:
            await self.transport.close()
        self.audit.close()
