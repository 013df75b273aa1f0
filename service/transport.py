"""Coordinator -> perspective channel.

BR 3.2.2.9: communication between the CA and each remote Network Perspective MUST be
authenticated and encrypted. Over the network that is mutual TLS: the coordinator presents a
client certificate issued by the kit CA, verifies the perspective's server certificate against
the same CA (hostname/IP checked), and reuses connections (keep-alive pool per perspective).
In AWS Lambda the authenticated channel is the Lambda ``Invoke`` API (IAM-signed).

A transport only moves a check request and returns the core's ``CheckResponse``; it raises on
any failure. Timeouts and turning failures into incomplete results is the orchestrator's job.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any, Protocol

import aiohttp

from open_mpic_core import CaaCheckResponse, CheckRequest, CheckResponse, CheckType, DcvCheckResponse, RemotePerspective
from service import __version__
from service.orchestration import current_trace_id
from service.settings import ClientTls, PerspectiveTarget

TRACE_HEADER = "x-mpic-trace-id"
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


class Transport(Protocol):
    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   trace_id: str | None, timeout: float) -> CheckResponse: ...

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
    """mTLS over HTTPS with a keep-alive connection pool (one session for all perspectives).

    ``metrics`` (optional) counts ``mpic_perspective_connections_total{perspective,kind}`` with
    kind ``new`` (TCP + TLS handshake) or ``reused`` (keep-alive hit).
    """

    def __init__(self, client_tls: ClientTls, pool_per_host: int = 64, metrics: Any = None):
        self._ssl = client_ssl_context(client_tls)
        self._pool_per_host = pool_per_host
        self._session: aiohttp.ClientSession | None = None
        self._metrics = metrics
        if metrics is not None:
            metrics.describe("mpic_perspective_connections_total", "counter",
                             "Connections to perspectives: new (TLS handshake) or reused (keep-alive)")

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self._ssl, limit=0, limit_per_host=self._pool_per_host,
                keepalive_timeout=KEEPALIVE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
                headers={"user-agent": f"mpic-fleet-coordinator/{__version__}"},
                trace_configs=[self._trace_config()] if self._metrics is not None else None,
            )
        return self._session

    def _trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()
        metrics = self._metrics

        async def new(session: Any, ctx: Any, params: Any) -> None:
            metrics.inc("mpic_perspective_connections_total", perspective=ctx.trace_request_ctx["code"], kind="new")

        async def reused(session: Any, ctx: Any, params: Any) -> None:
            metrics.inc("mpic_perspective_connections_total", perspective=ctx.trace_request_ctx["code"], kind="reused")

        trace.on_connection_create_end.append(new)
        trace.on_connection_reuseconn.append(reused)
        return trace

    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   trace_id: str | None, timeout: float) -> CheckResponse:
        assert target.url is not None
        url = f"{target.url.rstrip('/')}/{check_type.value}"
        headers = {"content-type": "application/json"}
        if trace_id:
            headers[TRACE_HEADER] = trace_id
        data = request.model_dump_json()
        session = self._get_session()
        for attempt in (1, 2):
            try:
                async with session.post(url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout),
                                        trace_request_ctx={"code": target.code}) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise PerspectiveCallError(
                            f"HTTP {resp.status} from {url}: {body[:200].decode(errors='replace')}")
                break
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # a pooled keep-alive connection the perspective had just closed: checks are
                # read-only, so one retry on a fresh connection is safe
                if attempt == 2:
                    raise
        return parse_check_response(check_type, body)

    async def probe(self, target: PerspectiveTarget, timeout: float) -> bool:
        """Does the perspective answer ``GET /readyz`` with 200 (over the same mTLS channel)?"""
        assert target.url is not None
        url = f"{target.url.rstrip('/')}/readyz"
        async with self._get_session().get(url, timeout=aiohttp.ClientTimeout(total=timeout),
                                           trace_request_ctx={"code": target.code}) as resp:
            await resp.read()
            return resp.status == 200

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LambdaTransport:
    """``lambda:Invoke`` of a perspective function (RequestResponse); boto3 imported lazily.

    ``client_factory(region)`` returns a boto3-like Lambda client; the default builds
    ``boto3.client("lambda", region_name=region)``. Calls run in a worker thread.
    """

    def __init__(self, client_factory: Any = None):
        self._factory = client_factory or _boto3_lambda_client
        self._clients: dict[str, Any] = {}

    def _client(self, arn: str) -> Any:
        parts = arn.split(":")
        region = parts[3] if len(parts) > 4 and parts[0] == "arn" else ""
        if region not in self._clients:
            self._clients[region] = self._factory(region or None)
        return self._clients[region]

    async def call(self, target: PerspectiveTarget, check_type: CheckType, request: CheckRequest,
                   trace_id: str | None, timeout: float) -> CheckResponse:
        arn = target.lambda_arn
        assert arn is not None
        payload = json.loads(request.model_dump_json())
        payload["check_type"] = check_type.value
        if trace_id:
            payload["trace_id"] = trace_id
        client = self._client(arn)
        result = await asyncio.to_thread(
            client.invoke, FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
        stream = result.get("Payload")
        body = stream.read() if hasattr(stream, "read") else (stream or b"")
        if result.get("FunctionError"):
            raise PerspectiveCallError(f"lambda {arn} failed ({result['FunctionError']}): {body[:200]!r}")
        return parse_check_response(check_type, body)

    async def close(self) -> None:
        self._clients.clear()


def _boto3_lambda_client(region: str | None) -> Any:  # pragma: no cover - needs AWS
    import boto3
    from botocore.config import Config

    return boto3.client("lambda", region_name=region, config=Config(retries={"max_attempts": 0}, read_timeout=30))


class RoutingTransport:
    """Chooses HTTPS or Lambda per perspective from its url/function_arn."""

    def __init__(self, targets: list[PerspectiveTarget], client_tls: ClientTls | None,
                 lambda_client_factory: Any = None, metrics: Any = None):
        self.targets = {t.code: t for t in targets}
        self._https = HttpsTransport(client_tls, metrics=metrics) if client_tls is not None else None
        self._lambda = (
            LambdaTransport(lambda_client_factory) if any(t.lambda_arn for t in targets) else None
        )

    async def __call__(self, perspective: RemotePerspective, check_type: CheckType, request: CheckRequest,
                       trace_id: str | None = None, timeout: float = 5.0) -> CheckResponse:
        target = self.targets[perspective.code]
        trace_id = trace_id or current_trace_id.get()
        if target.lambda_arn is not None:
            assert self._lambda is not None
            return await self._lambda.call(target, check_type, request, trace_id, timeout)
        assert self._https is not None
        return await self._https.call(target, check_type, request, trace_id, timeout)

    async def probe(self, target: PerspectiveTarget, timeout: float) -> bool:
        """Readiness of an https perspective (Lambda perspectives are not probed: True)."""
        if target.lambda_arn is not None or self._https is None:
            return True
        return await self._https.probe(target, timeout)

    async def close(self) -> None:
        for transport in (self._https, self._lambda):
            if transport is not None:
                await transport.close()
