"""Starlette apps for both roles (thin: all logic lives in the runtime/service objects).

Perspective: ``POST /dcv``, ``POST /caa`` (allowed clients only: service.peer), ``GET /healthz``,
``GET /readyz``, ``GET /metrics``.
Coordinator, public listener: ``POST /mpic``, ``POST /v1/mpic`` (EJBCA's MPIC Validator path),
``GET /readyz`` (deep, minimal body: service.readiness). Coordinator, internal listener:
``GET /healthz``, ``GET /metrics``. Every answer is JSON (metrics: Prometheus text), including
404/405 (with ``Allow``)/413/500; no slash redirects.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from open_mpic_core import CheckType
from service.coordinator import CoordinatorService
from service.errors import bad_request
from service.limits import BodyTooLarge, InputRejected, parse_json, read_limited, too_large
from service.peer import ClientAllowlist
from service.perspective import PerspectiveRuntime, RequestInvalid
from service.transport import TRACE_HEADER

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


async def _read(request: Request, limit: int) -> bytes:
    """The body, counted while it streams (BodyTooLarge past ``limit``; service.limits)."""
    try:
        return await read_limited(request.headers, request.stream(), limit)
    except ClientDisconnect:
        raise InputRejected([{"issue_type": "incomplete-body", "message": "the client closed the connection "
                                                                          "before sending the whole body"}]) from None


def _app(routes: list[Route], lifespan: Any = None, middleware: list[Middleware] | None = None) -> Starlette:
    app = Starlette(routes=routes, exception_handlers=_HANDLERS, lifespan=lifespan,  # type: ignore[arg-type]
                    middleware=middleware)
    app.router.redirect_slashes = False  # a redirect would point the client at http:// behind a TLS proxy
    return app


# ------------------------------------------------------------------------------ perspective
def create_perspective_app(runtime: PerspectiveRuntime) -> Starlette:
    """The perspective app around ``runtime`` (mTLS is the listener's job: see service.server)."""
    limit = runtime.settings.max_body_bytes

    async def run_check(request: Request, check_type: CheckType) -> Response:
        try:
            payload = parse_json(await _read(request, limit))
            response = await runtime.check(check_type, payload, request.headers.get(TRACE_HEADER))
        except BodyTooLarge as exc:
            return _json(*too_large(exc))
        except (InputRejected, RequestInvalid) as exc:
            return _json(*bad_request(exc.issues))
        return Response(response.model_dump_json(), media_type="application/json")

    async def dcv(request: Request) -> Response:
        return await run_check(request, CheckType.DCV)

    async def caa(request: Request) -> Response:
        return await run_check(request, CheckType.CAA)

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

    return _app([
        Route("/dcv", dcv, methods=["POST"]),
        Route("/caa", caa, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ], lifespan, [Middleware(ClientAllowlist, allowed=runtime.settings.allowed_clients)])


# ------------------------------------------------------------------------------ coordinator
def create_coordinator_app(service: CoordinatorService) -> Starlette:
    """The coordinator's public app around ``service``: the API and a minimal readiness."""

    async def mpic(request: Request) -> Response:
        async def body(limit: int) -> bytes:  # read only once the API key passed (service.handle_mpic)
            return await _read(request, limit)

        status, payload = await service.handle_mpic(request.headers, body)
        return _json(status, payload)

    async def readyz(request: Request) -> Response:
        ok = await service.ready()
        return _json(200 if ok else 503, {"status": "ready" if ok else "not-ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await service.aclose()

    return _app([
        Route("/mpic", mpic, methods=["POST"]),
        Route("/v1/mpic", mpic, methods=["POST"]),
        Route("/readyz", readyz, methods=["GET"]),
    ], lifespan)


def create_internal_app(service: CoordinatorService) -> Starlette:
    """The coordinator's internal app (``internal_listen_host``/``port``): health and metrics."""

    async def healthz(request: Request) -> Response:
        return _json(200, service.health())

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics.render(), media_type=_PROMETHEUS)

    return _app([Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])])
