"""The coordinator service: API-key check, request parsing, orchestration, error mapping.

Framework-free (``handle_mpic(headers, body) -> (status, json)``) so the HTTP app and the
Lambda handler share it. Responses follow the Open MPIC API spec 3.x as implemented by the
core: 200 with the core's response model whether or not validation passed; 400
``{"error": "request-validation-failed", "validation_issues": [...]}`` for anything invalid
(including what a framework would answer with 422); 401 without a valid API key; 500 only with
a JSON error.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Annotated, Any, Mapping

from pydantic import Field, TypeAdapter, ValidationError

from open_mpic_core import MpicRequest, RemotePerspective
from service import CORE_VERSION, __version__
from service.audit import AuditLog
from service.metrics import Metrics
from service.orchestration import (
    CallFunction,
    OrchestrationError,
    Orchestrator,
    RequestValidationFailed,
    new_trace_id,
)
from service.errors import bad_request, validation_issues
from service.settings import CoordinatorSettings
from service.transport import RoutingTransport

log = logging.getLogger("service.coordinator")

_REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Annotated[MpicRequest, Field(discriminator="check_type")])


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
        self.audit = audit if audit is not None else AuditLog(settings.audit_log, role="coordinator")
        self.metrics = metrics if metrics is not None else Metrics()
        self.metrics.describe("mpic_requests_total", "counter", "MPIC requests by check type and outcome")
        self.metrics.describe("mpic_request_duration_seconds", "histogram", "MPIC request duration")
        self.api_keys = ApiKeys(settings.all_api_keys())
        self.transport: RoutingTransport | None = None
        if call is None:
            self.transport = RoutingTransport(settings.perspectives, settings.client_tls, lambda_client_factory,
                                              metrics=self.metrics)
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

    def health(self) -> dict[str, Any]:
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
        }

    async def handle_mpic(self, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        """(status, JSON-able body) for one ``POST /mpic``; never raises."""
        started = time.perf_counter()
        check_type = "unknown"
        status, payload, outcome = 500, {"error": "internal-error"}, "error"
        try:
            if self.api_keys.enabled and not self.api_keys.allows(headers):
                status, payload, outcome = 401, {"error": "unauthorized",
                                                 "message": "a valid API key is required (x-api-key or Authorization: Bearer)"}, "unauthorized"
                return status, payload
            if len(body) > self.settings.max_body_bytes:
                status, payload = bad_request([{"issue_type": "body-too-large",
                                                "message": f"request body over {self.settings.max_body_bytes} bytes"}])
                outcome = "bad_request"
                return status, payload
            try:
                data = json.loads(body or b"null")
            except (ValueError, UnicodeDecodeError) as exc:
                status, payload = bad_request([{"issue_type": "invalid-json", "message": f"body is not JSON: {exc}"}])
                outcome = "bad_request"
                return status, payload
            if isinstance(data, dict) and isinstance(data.get("check_type"), str):
                check_type = data["check_type"]
            try:
                request = _REQUEST_ADAPTER.validate_python(data)
            except ValidationError as exc:
                status, payload = bad_request(validation_issues(exc))
                outcome = "bad_request"
                return status, payload
            check_type = request.check_type.value
            trace_id = request.trace_identifier or new_trace_id()
            try:
                response = await self.orchestrator.coordinate(request, trace_id)
            except RequestValidationFailed as exc:
                status, payload = bad_request(exc.issues)
                outcome = "bad_request"
                return status, payload
            except OrchestrationError as exc:
                status, payload, outcome = 500, {"error": str(exc)}, "error"
                return status, payload
            status, payload = 200, json.loads(response.model_dump_json())
            outcome = "valid" if response.is_valid else "invalid"
            self.audit.write(
                "request", trace_id=trace_id, target=response.domain_or_ip_target,
                check_type=check_type, is_valid=response.is_valid, mpic_completed=response.mpic_completed,
                attempts=response.actual_orchestration_parameters.attempt_count
                if response.actual_orchestration_parameters else None,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
            return status, payload
        except Exception:  # noqa: BLE001 - 500 with a JSON error, the traceback goes to the log only
            log.exception("unexpected error while handling /mpic")
            return 500, {"error": "internal-error"}
        finally:
            self.metrics.inc("mpic_requests_total", check_type=check_type, outcome=outcome)
            self.metrics.observe("mpic_request_duration_seconds", time.perf_counter() - started, check_type=check_type)

    async def aclose(self) -> None:
        await self.orchestrator.aclose()
        if self.transport is not None:
            await self.transport.close()
        self.audit.close()
