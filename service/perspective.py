"""The perspective runtime: one DCV and one CAA checker per process, isolated from the host.

Isolation (BR 3.2.2.9 "Network Perspective"; no shared resolver cache; results of one
perspective never reused by another):
- its own resolver (explicit nameservers/port from settings) for every DNS lookup, including
  the hostnames of HTTP and TLS-ALPN checks;
- HTTP proxy only when ``proxy_url`` is set: ambient ``HTTP(S)_PROXY``/``NO_PROXY``/.netrc are
  ignored (the core's session would honour them);
- TLS verification on for HTTPS targets unless ``verify_ssl: false``;
- no connection to reserved addresses (loopback, private, link-local, ... : service.addresses),
  checked on every resolved address and redirect hop before connecting, except the lab
  networks of ``allowed_reserved_networks``;
- a malformed target yields ``check_completed: false`` with the core's parameter error.

What the BR does not accept as evidence is refused here too, whatever the caller says: an empty
challenge value (400, service.challenge), and a CAA lookup failure counted as permission unless
this perspective showed BR 3.2.2.8's three conditions (service.caa_lookup). reverse-address-lookup
of an IP target looks up the PTR of its reverse name (``45.11.22.33`` ->
``33.22.11.45.in-addr.arpa``), as BR 3.2.2.5 describes the method.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import logging
import ssl
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import aiohttp
from pydantic import ValidationError

import open_mpic_core.mpic_dcv_checker.dcv_tls_alpn_validator as _alpn_module
from open_mpic_core import (
    CaaCheckRequest,
    CheckResponse,
    CheckType,
    DcvCheckRequest,
    DcvCheckResponse,
    DcvTlsAlpnValidator,
    DcvValidationMethod,
    ErrorMessages,
    MpicDcvChecker,
    MpicValidationError,
)
from service import __version__, names, query_ids
from service.addresses import AddressPolicy, GuardedConnector
from service.audit import AuditLog, iso_ns
from service.caa_lookup import CaaChecker, KitCaaChecker
from service.challenge import challenge_issues
from service.errors import incomplete_check, validation_issues
from service.limits import parse_json
from service.metrics import Metrics
from service.resolver import (
    PerspectiveHostResolver,
    ResolvingAsyncio,
    build_resolver,
    isolate_default_resolver,
    resolver_answers,
)
from service.settings import PerspectiveSettings
from service.telemetry import quiet

log = logging.getLogger("service.perspective")

FAST_PARSE_BYTES = 1024
"""Bodies up to this size cannot hold a string over the limits' 1024 characters: pydantic parses them
directly (see :meth:`PerspectiveRuntime.parse`)."""
PERSPECTIVE_TIMEOUT_ERROR = "mpic_error:perspective:timeout"
PERSPECTIVE_INTERNAL_ERROR = "mpic_error:perspective:internal"


class RequestInvalid(Exception):
    """The check request does not match the core's model; carries the validation issues."""

    def __init__(self, issues: list[dict[str, Any]]):
        super().__init__("request-validation-failed")
        self.issues = issues


class _AlpnValidator(DcvTlsAlpnValidator):
    """The core's TLS-ALPN validator with hostnames resolved through the perspective's resolver."""

    def __init__(self, resolving_asyncio: ResolvingAsyncio, log_level: int | None):
        super().__init__(log_level=log_level)
        self._resolving = resolving_asyncio

    async def perform_tls_alpn_validation(self, request: DcvCheckRequest) -> DcvCheckResponse:
        token = _ALPN_ASYNCIO.set(self._resolving)
        try:
            return await super().perform_tls_alpn_validation(request)
        finally:
            _ALPN_ASYNCIO.reset(token)


class _AsyncioSwitch:
    """Installed once as ``asyncio`` in the core's TLS-ALPN module: per task (contextvar), the
    calling perspective's resolving stand-in (see service.resolver.ResolvingAsyncio)."""

    def __getattr__(self, name: str) -> Any:
        current = _ALPN_ASYNCIO.get()
        return getattr(current if current is not None else _PLAIN_ALPN_ASYNCIO, name)


class _AlpnSsl:
    """Installed once as ``ssl`` in the core's TLS-ALPN module: its context verifies nothing
    (``CERT_NONE``: the check reads the challenge certificate itself), so loading the system's
    trust store for every check (``create_default_context``, tens of milliseconds of CPU) is
    skipped; everything else is the real ``ssl``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if args or kwargs:  # pragma: no cover - the validator passes nothing
            return ssl.create_default_context(*args, **kwargs)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


_ALPN_ASYNCIO: contextvars.ContextVar[ResolvingAsyncio | None] = contextvars.ContextVar("alpn_asyncio", default=None)
_PLAIN_ALPN_ASYNCIO = ResolvingAsyncio(None)


def install_alpn_hooks() -> None:
    """Point the core's TLS-ALPN module at the kit's connection code (idempotent).

    Its ``asyncio.open_connection`` becomes the calling perspective's resolving stand-in, its
    ``ssl.create_default_context`` skips the trust store its unverified context never reads, and
    its process-wide ``ssl.SSLObject.getpeercert`` swap (which races between concurrent checks)
    is disabled: the stand-in's writer returns the DER certificate itself.
    """
    if not isinstance(_alpn_module.asyncio, _AsyncioSwitch):
        _alpn_module.asyncio = _AsyncioSwitch()  # type: ignore[assignment]
        _alpn_module.ssl = _AlpnSsl()  # type: ignore[assignment]
        _alpn_module.getpeercert_with_binary_info = contextlib.nullcontext  # type: ignore[assignment]


class IsolatedDcvChecker(MpicDcvChecker):
    """The core's DCV checker with the kit's resolver, explicit proxy and TLS verification."""

    def __init__(self, settings: PerspectiveSettings, resolver: Any):
        super().__init__(
            http_client_timeout=settings.http_timeout,
            verify_ssl=settings.verify_ssl,
            log_level=settings.log_level_number,
        )
        self.resolver = resolver
        self._proxy_url = settings.proxy_url
        self._host_resolver = PerspectiveHostResolver(resolver)
        self._policy = AddressPolicy(settings.reserved_allowances)
        self._ssl: ssl.SSLContext | bool = False
        if settings.verify_ssl:
            ctx = ssl.create_default_context()
            if settings.http_ca_file is not None:
                ctx.load_verify_locations(cafile=str(settings.http_ca_file))
            self._ssl = ctx
        self.acme_tls_alpn_validator = _AlpnValidator(ResolvingAsyncio(resolver, self._policy),
                                                      settings.log_level_number)

    async def perform_general_dns_validation(self, request: DcvCheckRequest) -> DcvCheckResponse:
        """reverse-address-lookup of an IP target: the PTR of its reverse name, not the IP as a name."""
        params = request.dcv_check_parameters
        if params.validation_method == DcvValidationMethod.REVERSE_ADDRESS_LOOKUP:
            pointer = reverse_name(request.domain_or_ip_target)
            if pointer is not None:
                request = request.model_copy(update={"domain_or_ip_target": pointer})
        return await super().perform_general_dns_validation(request)

    @asynccontextmanager
    async def get_async_http_client(self) -> AsyncIterator[aiohttp.ClientSession]:
        connector = GuardedConnector(policy=self._policy, resolver=self._host_resolver, proxy_url=self._proxy_url,
                                     ssl=self._ssl, limit=0, force_close=True)
        client = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._http_client_timeout),
            trust_env=False,  # ignore HTTP(S)_PROXY, NO_PROXY and .netrc: proxies only from settings
            proxy=self._proxy_url,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        try:
            yield client
        finally:
            await client.close()


class PerspectiveRuntime:
    """Runs checks for one perspective; shared by the HTTP app and the Lambda handler."""

    def __init__(self, settings: PerspectiveSettings, audit: AuditLog | None = None, metrics: Metrics | None = None):
        self.settings = settings
        self.code = settings.code
        self.rir = settings.effective_rir.value
        self.audit = audit if audit is not None else AuditLog(
            settings.audit_log, role="perspective", **{"site": self.code, **{
                k: v for k, v in settings.audit_identity().items() if v}})
        self.metrics = metrics if metrics is not None else Metrics()
        self.metrics.describe("mpic_checks_total", "counter", "Checks run by this perspective, by outcome")
        self.metrics.describe("mpic_check_duration_seconds", "histogram", "Duration of one check")
        isolate_default_resolver()
        install_alpn_hooks()
        names.install()
        query_ids.install()
        self.resolver = build_resolver(settings.resolver)
        self.dcv_checker = quiet(IsolatedDcvChecker(settings, self.resolver))
        self.caa_checker = quiet(KitCaaChecker(list(settings.caa_domains), log_level=settings.log_level_number))
        self.caa_checker.resolver = self.resolver
        self.caa = CaaChecker(self.caa_checker, self.resolver, settings.caa_allow_lookup_failure)
        if not settings.caa_domains:
            log.warning("caa_domains is empty: requests without caa_domains fail on any CAA issue record")

    async def ready(self) -> tuple[bool, str]:
        return await resolver_answers(self.resolver, self.settings.readiness_name)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "role": "perspective", "version": __version__, "core_version": _core_version(),
                "perspective_code": self.code, "rir": self.rir}

    def parse(self, check_type: CheckType, payload: Any) -> Any:
        """The core's check request from a dict or the raw body (RequestInvalid / InputRejected).

        A raw body of at most :data:`FAST_PARSE_BYTES` is validated by pydantic's own JSON parser in
        one pass (no Python recursion, no intermediate dict); a larger body, or one the model refuses,
        goes through the coordinator's limits first (service.limits), so every refusal reads the same."""
        model = CaaCheckRequest if check_type == CheckType.CAA else DcvCheckRequest
        if isinstance(payload, (bytes, bytearray)):
            if len(payload) <= FAST_PARSE_BYTES:
                try:
                    return _refuse_empty(model.model_validate_json(payload))
                except ValidationError:
                    pass
            payload = parse_json(bytes(payload))
        try:
            request = model.model_validate(payload)
        except ValidationError as exc:
            raise RequestInvalid(validation_issues(exc)) from None
        return _refuse_empty(request)

    async def check(self, check_type: CheckType, payload: Any, trace_id: str | None = None,
                    request_id: str | None = None) -> CheckResponse:
        """Validate ``payload`` (a dict, or the raw JSON body) as the core's check request and run
        it; never raises for a check-level problem (only RequestInvalid / InputRejected for a body
        that is not a check request)."""
        started = time.time_ns()
        request = self.parse(check_type, payload)
        target = request.domain_or_ip_target
        method = (
            request.dcv_check_parameters.validation_method if isinstance(request, DcvCheckRequest) else None
        )
        try:
            async with asyncio.timeout(self.settings.check_timeout):
                if isinstance(request, DcvCheckRequest):
                    try:
                        response: CheckResponse = await self.dcv_checker.check_dcv(request)
                    except ValueError as exc:  # the core raises this for a malformed target
                        response = incomplete_check(
                            check_type, method,
                            MpicValidationError.create(ErrorMessages.DCV_PARAMETER_ERROR, "domain_or_ip_target", target),
                        )
                        log.info("malformed DCV target %r: %s", target, exc)
                else:
                    response = await self.caa.check(request)
        except TimeoutError:
            response = incomplete_check(check_type, method, MpicValidationError(
                error_type=PERSPECTIVE_TIMEOUT_ERROR,
                error_message=f"The check did not finish within {self.settings.check_timeout:g} s",
            ))
        except Exception as exc:  # noqa: BLE001 - a check problem is a result, never a 500
            log.exception("check failed unexpectedly for %s", target)
            response = incomplete_check(check_type, method, MpicValidationError(
                error_type=PERSPECTIVE_INTERNAL_ERROR, error_message=f"{type(exc).__name__}: {exc}",
            ))
        if response.timestamp_ns is None:
            response.timestamp_ns = time.time_ns()
        self._record(check_type, method, target, trace_id or request.trace_identifier, request_id, started, response)
        return response

    def _record(self, check_type: CheckType, method: Any, target: str, trace_id: str | None, request_id: str | None,
                started: int, response: CheckResponse) -> None:
        ended = time.time_ns()
        outcome = "pass" if response.check_passed else ("fail" if response.check_completed else "error")
        method_name = method.value if method is not None else "caa"
        self.metrics.inc("mpic_checks_total", check_type=check_type.value, method=method_name, outcome=outcome)
        self.metrics.observe("mpic_check_duration_seconds", (ended - started) / 1e9, check_type=check_type.value)
        self.audit.write(
            "check",
            request_id=request_id,
            trace_id=trace_id,
            target=target,
            check_type=check_type.value,
            method=method_name,
            perspective=self.code,
            rir=self.rir,
            outcome=outcome,
            check_completed=response.check_completed,
            check_passed=response.check_passed,
            errors=[e.error_type for e in response.errors or []],
            started_at=iso_ns(started),
            ended_at=iso_ns(ended),
            duration_ms=round((ended - started) / 1e6, 3),
        )

    async def aclose(self) -> None:
        self.audit.close()


def _refuse_empty(request: Any) -> Any:
    """RequestInvalid for an empty or whitespace-only challenge value (service.challenge; the
    coordinator also checks the length, which it alone is configured with)."""
    issues = challenge_issues(getattr(request, "dcv_check_parameters", None), None)
    if issues:
        raise RequestInvalid(issues)
    return request


def reverse_name(target: str) -> str | None:
    """``33.22.11.45.in-addr.arpa`` for ``45.11.22.33`` (ip6.arpa for IPv6); None for a name."""
    try:
        return ipaddress.ip_address(target.strip("[]")).reverse_pointer
    except ValueError:
        return None


def _core_version() -> str:
    from service import CORE_VERSION

    return CORE_VERSION
