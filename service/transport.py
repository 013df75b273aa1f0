"""Coordinator -> perspective channel.

BR 3.2.2.9: communication between the CA and each remote Network Perspective MUST be
authenticated and encrypted. Over the network that is mutual TLS: the coordinator presents a
client certificate issued by the kit CA, verifies the perspective's server certificate against
the same CA (hostname/IP checked), and reuses connections (keep-alive pool per perspective).
In AWS Lambda the authenticated channel is the Lambda ``Invoke`` API (IAM-signed). Either way the
answer must come from the perspective that was called (service.identity): its certificate names
``perspective-<code>`` and its answer names its code and RIR (Lambda: and its AWS region), else
the call raises :class:`service.identity.IdentityMismatch`.

A transport only moves a check request and returns the core's ``CheckResponse``; it raises on
any failure. Timeouts and turning failures into incomplete results is the orchestrator's job.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from open_mpic_core import CaaCheckResponse, CheckRequest, CheckResponse, CheckType, DcvCheckResponse, RemotePerspective
from service import __version__, identity
from service.context import answered_as, current_check_body, current_request
from service.pool import CallFailed, HostPool
from service.settings import ClientTls, PerspectiveTarget

TRACE_HEADER = "x-mpic-trace-id"
"""The caller's trace identifier, when it gave one."""
REQUEST_HEADER = "x-mpic-request-id"
"""The coordinator's id of the request (every audit line of the request, the perspectives' too)."""
#: idle keep-alive connections are dropped by the coordinator after this long; perspectives keep
#: them open longer (service.server.PERSPECTIVE_KEEPALIVE_SECONDS) so the client closes first
KEEPALIVE_SECONDS = 30


class PerspectiveCallError(Exception):
    """The perspective could not be reached or answered something other than a check response."""


def parse_check_response(check_type: CheckType, payload: bytes | str | dict[str, Any]) -> CheckResponse:
    """The perspective's answer as the core's model for ``check_type`` (raises on mismatch)."""
    model = CaaCheckResponse if check_type == CheckType.CAA else DcvCheckResponse
    try:
        response = model.model_validate(payload) if isinstance(payload, dict) else model.model_validate_json(payload)
    except ValueError as exc:
        raise PerspectiveCallError(f"not a {check_type.value} check response: {str(exc).splitlines()[0]}") from None
    if response.timestamp_ns is None:  # the spec requires one: the time the coordinator received it
        response.timestamp_ns = time.time_ns()
    return response


def check_body(request: CheckRequest) -> bytes:
    """The JSON of a check request: serialised once per attempt by the orchestrator (every
    perspective of a cohort gets the same request object), else here."""
    cached = current_check_body.get()
    if cached is not None and cached[0] is request:
        return cached[1]
    return request.model_dump_json().encode()


Tags = tuple[str, "str | None"]
"""(request id, caller's trace identifier or None)."""


class Transport(Protocol):
    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   tags: Tags | None, timeout: float) -> CheckResponse: ...

    async def close(self) -> None: ...


def client_ssl_context(files: ClientTls) -> ssl.SSLContext:
    """Verify the perspective against the kit CA (hostname/IP on) and present our client cert."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(files.cert), str(files.key))
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class HttpsTransport:
    """mTLS over HTTPS with a keep-alive pool per perspective (service.pool: at most
    ``pool_per_host`` connections each, idle ones closed after :data:`KEEPALIVE_SECONDS`).

    ``metrics`` (optional) counts ``mpic_perspective_connections_total{perspective,kind}`` with
    kind ``new`` (TCP + TLS handshake) or ``reused`` (keep-alive hit).
    """

    def __init__(self, client_tls: ClientTls, pool_per_host: int = 32, metrics: Any = None):
        self._ssl = client_ssl_context(client_tls)
        self._pool_per_host = pool_per_host
        self._pools: dict[str, HostPool] = {}
        self._metrics = metrics
        self._user_agent = f"mpic-fleet-coordinator/{__version__}"
        if metrics is not None:
            metrics.describe("mpic_perspective_connections_total", "counter",
                             "Connections to perspectives: new (TLS handshake) or reused (keep-alive)")

    def _pool(self, target: PerspectiveTarget) -> HostPool:
        pool = self._pools.get(target.code)
        if pool is None:
            assert target.url is not None
            parts = urlsplit(target.url)
            metrics, code = self._metrics, target.code

            def counted(reused: bool) -> None:
                if metrics is not None:
                    metrics.inc("mpic_perspective_connections_total", perspective=code,
                                kind="reused" if reused else "new")

            def verify(ssl_object: Any, where: str = target.url) -> None:
                identity.check_certificate(ssl_object, code, where)

            pool = self._pools[target.code] = HostPool(parts.hostname or "", parts.port or 443, self._ssl,
                                                       self._pool_per_host, KEEPALIVE_SECONDS, counted, verify)
        return pool

    def _head(self, method: str, target: PerspectiveTarget, path: str, extra: str = "") -> bytes:
        netloc = urlsplit(target.url).netloc  # type: ignore[arg-type]
        return (f"{method} {path} HTTP/1.1\r\nhost: {netloc}\r\nuser-agent: {self._user_agent}\r\n"
                f"{extra}\r\n").encode("latin-1")

    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   tags: Tags | None, timeout: float) -> CheckResponse:
        assert target.url is not None
        body = check_body(request)
        extra = f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        if tags is not None:
            extra += f"{REQUEST_HEADER}: {tags[0]}\r\n" + (f"{TRACE_HEADER}: {tags[1]}\r\n" if tags[1] else "")
        path = f"{urlsplit(target.url).path.rstrip('/')}/{check_type.value}"
        try:
            async with asyncio.timeout(timeout):
                status, answer, headers = await self._pool(target).request(
                    self._head("POST", target, path, extra) + body)
        except CallFailed as exc:
            raise PerspectiveCallError(str(exc)) from None
        if status != 200:
            raise PerspectiveCallError(f"HTTP {status} from {target.url}{path}: "
                                       f"{answer[:200].decode(errors='replace')}")
        response = parse_check_response(check_type, answer)
        _check_told(target, headers.get(identity.CODE_HEADER), headers.get(identity.RIR_HEADER), target.url or "")
        answered_as.set({"certificate": identity.cert_name(target.code), "code": headers.get(identity.CODE_HEADER),
                         "rir": headers.get(identity.RIR_HEADER)})
        return response

    async def probe(self, target: PerspectiveTarget, timeout: float) -> bool:
        """Does the perspective answer ``GET /readyz`` with 200 (over the same mTLS channel)?"""
        assert target.url is not None
        path = f"{urlsplit(target.url).path.rstrip('/')}/readyz"
        async with asyncio.timeout(timeout):
            status, _, headers = await self._pool(target).request(self._head("GET", target, path))
        _check_told(target, headers.get(identity.CODE_HEADER), headers.get(identity.RIR_HEADER), target.url or "")
        return status == 200

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


class LambdaTransport:
    """``lambda:Invoke`` of a perspective function (RequestResponse); boto3 imported lazily.

    ``client_factory(region)`` returns a boto3-like Lambda client; the default builds
    ``boto3.client("lambda", region_name=region)``. Calls run in a worker thread.
    """

    def __init__(self, client_factory: Any = None):
        self._factory = client_factory or _boto3_lambda_client
        self._clients: dict[str, Any] = {}

    def _client(self, arn: str) -> Any:
        region = arn_region(arn) or ""
        if region not in self._clients:
            self._clients[region] = self._factory(region or None)
        return self._clients[region]

    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   tags: Tags | None, timeout: float) -> CheckResponse:
        arn = target.lambda_arn
        assert arn is not None
        payload = json.loads(check_body(request))
        payload["check_type"] = check_type.value
        if tags is not None:
            payload["request_id"] = tags[0]
            if tags[1]:
                payload["trace_id"] = tags[1]
        client = self._client(arn)
        result = await asyncio.to_thread(
            client.invoke, FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
        stream = result.get("Payload")
        body = stream.read() if hasattr(stream, "read") else (stream or b"")
        if result.get("FunctionError"):
            raise PerspectiveCallError(f"lambda {arn} failed ({result['FunctionError']}): {body[:200]!r}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise PerspectiveCallError(f"lambda {arn}: not JSON: {body[:200]!r}") from None
        told = answer.pop(identity.LAMBDA_FIELD, None) if isinstance(answer, dict) else None
        response = parse_check_response(check_type, answer if isinstance(answer, dict) else body)
        told = told if isinstance(told, dict) else {}
        _check_told(target, told.get("code"), told.get("rir"), arn, region=arn_region(arn),
                    told_region=told.get("aws_region"))
        answered_as.set({"function": arn, "code": told.get("code"), "rir": told.get("rir"),
                         "aws_region": told.get("aws_region")})
        return response

    async def close(self) -> None:
        self._clients.clear()


def arn_region(arn: str) -> str | None:
    """The AWS region of a function ARN (``arn:aws:lambda:REGION:ACCOUNT:function:NAME``)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def _check_told(target: PerspectiveTarget, code: str | None, rir: str | None, where: str, *,
                region: str | None = None, told_region: str | None = None) -> None:
    identity.check_answer(target.code, target.effective_rir.value, code, rir, where,
                          region=region, told_region=told_region)


def _boto3_lambda_client(region: str | None) -> Any:  # pragma: no cover - needs AWS
    import boto3
    from botocore.config import Config

    return boto3.client("lambda", region_name=region, config=Config(retries={"max_attempts": 0}, read_timeout=30))


class RoutingTransport:
    """Chooses HTTPS or Lambda per perspective from its url/function_arn."""

    def __init__(self, targets: list[PerspectiveTarget], client_tls: ClientTls | None,
                 lambda_client_factory: Any = None, metrics: Any = None, connections: int = 32):
        self.targets = {t.code: t for t in targets}
        self._https = HttpsTransport(client_tls, connections, metrics) if client_tls is not None else None
        self._lambda = (
            LambdaTransport(lambda_client_factory) if any(t.lambda_arn for t in targets) else None
        )

    async def __call__(self, perspective: RemotePerspective, check_type: CheckType, request: CheckRequest,
                       tags: Tags | None = None, timeout: float = 5.0) -> CheckResponse:
        target = self.targets[perspective.code]
        tags = tags or current_request.get()
        if target.lambda_arn is not None:
            assert self._lambda is not None
            return await self._lambda.call(target, check_type, request, tags, timeout)
        assert self._https is not None
        return await self._https.call(target, check_type, request, tags, timeout)

    async def probe(self, target: PerspectiveTarget, timeout: float) -> bool:
        """Readiness of an https perspective (Lambda perspectives are not probed: True)."""
        if target.lambda_arn is not None or self._https is None:
            return True
        return await self._https.probe(target, timeout)

    async def close(self) -> None:
        for transport in (self._https, self._lambda):
            if transport is not None:
                await transport.close()
