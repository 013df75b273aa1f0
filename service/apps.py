"""The ASGI apps of both roles (thin: all logic lives in the runtime/service objects): the check and
MPIC endpoints answered directly (:class:`CheckEndpoints`, :class:`MpicEndpoint`), Starlette for the rest.

Perspective: ``POST /dcv``, ``POST /caa`` (allowed clients only: service.peer), ``GET /healthz``,
``GET /readyz``, ``GET /metrics``; every answer names the perspective (its code and RIR in the
``x-mpic-perspective*`` headers: service.identity).
Coordinator, public listener: ``POST /mpic``, ``POST /v1/mpic`` (EJBCA's MPIC Validator path),
``GET /readyz`` (deep, minimal body: service.readiness). Coordinator, internal listener:
``GET /healthz``, ``GET /metrics``. Every answer is JSON (metrics: Prometheus text), including
404/405 (with ``Allow``)/413/500; no slash redirects.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from open_mpic_core import CheckType
from service import identity
from service.coordinator import CoordinatorService
from service.errors import bad_request
from service.limits import BodyTooLarge, InputRejected, read_limited, too_large
from service.peer import ClientAllowlist
from service.perspective import PerspectiveRuntime, RequestInvalid
from service.transport import REQUEST_HEADER, TRACE_HEADER

log = logging.getLogger("service.apps")
_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def _json(status: int, payload: Any) -> Response:
    return JSONResponse(payload, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": str(exc.detail).lower().replace(" ", "-")}, status_code=exc.status_code,
                        headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return _json(500, {"error": "internal-error"})


_HANDLERS = {HTTPException: _http_error, Exception: _server_error}


def _app(routes: list[Route], lifespan: Any = None) -> Starlette:
    app = Starlette(routes=routes, exception_handlers=_HANDLERS, lifespan=lifespan)  # type: ignore[arg-type]
    app.router.redirect_slashes = False  # a redirect would point the client at http:// behind a TLS proxy
    return app


# ------------------------------------------------------------------------------ perspective
async def _body_chunks(receive: Any) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InputRejected([{"issue_type": "incomplete-body", "message": "the client closed the connection "
                                                                              "before sending the whole body"}])
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _send(send: Any, status: int, body: bytes, content_type: bytes = b"application/json",
                extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


class CheckEndpoints:
    """ASGI: the perspective's hot path. ``/caa`` and ``/dcv`` are answered here, without Starlette's
    routing, request and response objects (the raw body goes to :meth:`PerspectiveRuntime.check`,
    validated in one pass); every other path goes to ``app``."""

    PATHS = {"/caa": CheckType.CAA, "/dcv": CheckType.DCV}

    def __init__(self, app: Any, runtime: PerspectiveRuntime):
        self.app, self.runtime = app, runtime
        self.limit = runtime.settings.max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        check_type = self.PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if check_type is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _send(send, 405, b'{"error":"method-not-allowed"}', extra=((b"allow", b"POST"),))
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            raw = await read_limited(headers, _body_chunks(receive), self.limit)
            response = await self.runtime.check(check_type, raw, headers.get(TRACE_HEADER), headers.get(REQUEST_HEADER))
            status, body = 200, response.model_dump_json().encode()
        except BodyTooLarge as exc:
            status, payload = too_large(exc)
            body = json.dumps(payload).encode()
        except (InputRejected, RequestInvalid) as exc:
            status, payload = bad_request(exc.issues)
            body = json.dumps(payload).encode()
        except Exception:  # noqa: BLE001 - a JSON 500, the traceback goes to the log only
            log.exception("unexpected error while handling %s", scope["path"])
            status, body = 500, b'{"error":"internal-error"}'
        await _send(send, status, body)


class IdentityHeaders:
    """ASGI: every answer of this perspective carries its code and RIR (service.identity), so the
    coordinator can tell an answer from another perspective (a swapped or duplicated URL)."""

    def __init__(self, app: Any, code: str, rir: str):
        self.app = app
        self.headers = [(identity.CODE_HEADER.encode(), code.encode("latin-1")),
                        (identity.RIR_HEADER.encode(), rir.encode("latin-1"))]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *self.headers]}
            await send(message)

        await self.app(scope, receive, named)


def create_perspective_app(runtime: PerspectiveRuntime) -> Any:
    """The perspective app around ``runtime`` (mTLS is the listener's job: see service.server): the
    client allowlist (service.peer) in front of the check endpoints, Starlette for the probes."""

    async def healthz(request: Request) -> Response:
        return _json(200, runtime.health())

    async def readyz(request: Request) -> Response:
        ok, detail = await runtime.ready()
        return _json(200 if ok else 503, {"status": "ready" if ok else "not-ready", "resolver": detail,
                                          "perspective_code": runtime.code})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(runtime.metrics.render(), media_type=_PROMETHEUS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("perspective %s (%s) ready", runtime.code, runtime.rir)
        yield
        await runtime.aclose()

    probes = _app([
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ], lifespan)
    return IdentityHeaders(ClientAllowlist(CheckEndpoints(probes, runtime), allowed=runtime.settings.allowed_clients),
                           runtime.code, runtime.rir)


# ------------------------------------------------------------------------------ coordinator
def json_body(payload: Any) -> bytes:
    """JSON as Starlette's ``JSONResponse`` renders it (UTF-8, compact, no NaN)."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class MpicEndpoint:
    """ASGI: the coordinator's hot path. ``POST /mpic`` and ``POST /v1/mpic`` go straight to
    :meth:`CoordinatorService.handle_mpic`, without Starlette's routing, request and response objects
    (the answers are the same: tests/service/test_mpic_endpoint.py); every other path goes to ``app``."""

    PATHS = frozenset({"/mpic", "/v1/mpic"})

    def __init__(self, app: Any, service: CoordinatorService):
        self.app, self.service = app, service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in self.PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _send(send, 405, b'{"error":"method-not-allowed"}', extra=((b"allow", b"POST"),))
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:  # a repeated header: the first counts, as in Starlette's Headers.get
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

        async def body(limit: int) -> bytes:  # read only once the API key passed (service.handle_mpic)
            return await read_limited(headers, _body_chunks(receive), limit)

        status, payload = await self.service.handle_mpic(headers, body)
        await _send(send, status, json_body(payload))


def create_coordinator_app(service: CoordinatorService) -> Any:
    """The coordinator's public app around ``service``: the API (:class:`MpicEndpoint`) and a
    minimal readiness."""

    async def readyz(request: Request) -> Response:
        ok = await service.ready()
        return _json(200 if ok else 503, {"status": "ready" if ok else "not-ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await service.aclose()

    return MpicEndpoint(_app([Route("/readyz", readyz, methods=["GET"])], lifespan), service)


def create_internal_app(service: CoordinatorService) -> Starlette:
    """The coordinator's internal app (``internal_listen_host``/``port``): health and metrics."""

    async def healthz(request: Request) -> Response:
        return _json(200, service.health())

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics.render(), media_type=_PROMETHEUS)

    return _app([Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])])
