"""Process entry: settings -> app -> uvicorn, with the listener's TLS.

The perspective listener always requires a client certificate chaining to the kit CA
(``tls.client_ca``): BR 3.2.2.9 requires CA <-> perspective traffic to be authenticated and
encrypted; the certificate's names decide what it may call (service.peer). The coordinator's
public listener uses TLS when ``tls`` is set, else plain HTTP for use behind a TLS-terminating
load balancer (a warning is logged); its internal listener (``internal_listen_host``/``port``,
plain HTTP: /healthz, /metrics) runs in the same server (:class:`MpicServer`), so both start,
drain and stop together. Run a config with :func:`build_server`.

The human log escapes control characters of every message (CR, LF, ESC...: :func:`escape_log_text`)
and indents the continuation lines of tracebacks, so no input can forge a log line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import socket
import ssl
import sys
from typing import Any

import uvicorn

from service.apps import create_coordinator_app, create_internal_app, create_perspective_app
from service.coordinator import CoordinatorService
from service.wire import http_protocol
from service.perspective import PerspectiveRuntime
from service.settings import CoordinatorSettings, PerspectiveSettings

log = logging.getLogger("service.server")

#: longer than the coordinator's pool idle time (transport.KEEPALIVE_SECONDS): the client side
#: closes idle connections first, so it never reuses one the perspective has just closed
PERSPECTIVE_KEEPALIVE_SECONDS = 75


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def escape_log_text(text: str) -> str:
    """``text`` with control characters written as escapes (\\r, \\n, \\x1b, \\u2028)."""
    def one(match: re.Match[str]) -> str:
        char = match.group()
        return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")

    return _CONTROL.sub(one, text)


class EscapingFormatter(logging.Formatter):
    """One record = one line starting with the timestamp; traceback lines follow indented."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_log_text(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        first, _, rest = super().format(record).partition("\n")
        if not rest:
            return first
        return first + "".join("\n  | " + line.replace("\r", "\\r") for line in rest.split("\n"))


def configure_logging(level: int) -> None:
    """Human logs on stderr (stdout may carry the audit JSON lines)."""
    logging.addLevelName(5, "TRACE")
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def event_loop() -> str:
    """uvicorn's ``loop``: uvloop when installed (the runtime lock ships it), else asyncio's own."""
    return "uvloop" if _installed("uvloop") else "asyncio"


def _uvicorn_level(level: str) -> str:
    return "debug" if level == "TRACE" else level.lower()


def perspective_config(settings: PerspectiveSettings, **overrides: Any) -> uvicorn.Config:
    """uvicorn config for a perspective: mTLS with client certificates required."""
    settings.require_listener()
    assert settings.tls is not None
    app = create_perspective_app(PerspectiveRuntime(settings))
    options: dict[str, Any] = dict(
        host=settings.listen_host, port=settings.listen_port, log_level=_uvicorn_level(settings.log_level),
        ssl_certfile=str(settings.tls.cert), ssl_keyfile=str(settings.tls.key),
        ssl_ca_certs=str(settings.tls.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED,
        lifespan="on", timeout_graceful_shutdown=10, access_log=False, server_header=False,
        timeout_keep_alive=PERSPECTIVE_KEEPALIVE_SECONDS, http=http_protocol(tls_scope=True), loop=event_loop(),
        proxy_headers=False,  # callers are identified by their client certificate, never by a forwarded header
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)


def coordinator_config(settings: CoordinatorSettings, **overrides: Any) -> uvicorn.Config:
    """uvicorn config for the coordinator (TLS optional: see the module docstring)."""
    settings.require_api_keys()
    service = CoordinatorService(settings)
    app = create_coordinator_app(service)
    options: dict[str, Any] = dict(
        host=settings.listen_host, port=settings.listen_port, log_level=_uvicorn_level(settings.log_level),
        lifespan="on", timeout_graceful_shutdown=10, access_log=False, server_header=False,
        http=http_protocol(), loop=event_loop(),
    )
    if settings.tls is not None:
        options.update(ssl_certfile=str(settings.tls.cert), ssl_keyfile=str(settings.tls.key))
    else:
        log.warning(
            "coordinator: no tls configured; serving plain HTTP on %s:%s - only behind a TLS-terminating "
            "load balancer", settings.listen_host, settings.listen_port,
        )
    options.update(overrides)
    config = uvicorn.Config(app, **options)
    if settings.internal_listen_port is not None:
        internal = (settings.internal_listen_host, settings.internal_listen_port, create_internal_app(service))
        config.mpic_internal = internal  # type: ignore[attr-defined]
    return config


class MpicServer(uvicorn.Server):
    """uvicorn's server plus the coordinator's internal listener (``config.mpic_internal``:
    host, port, app), plain HTTP, sharing the connections, graceful shutdown and lifespan. The
    internal port is bound first: if it is taken nothing starts (exit 3, uvicorn's startup failure)."""

    async def startup(self, sockets: list[Any] | None = None) -> None:
        internal = getattr(self.config, "mpic_internal", None)
        if internal is None:
            await super().startup(sockets=sockets)
            return
        host, port, app = internal
        try:
            sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                        backlog=self.config.backlog)
        except OSError as exc:
            log.error("internal_listen_host/internal_listen_port %s:%s: %s", host, port, exc)
            sys.exit(3)
        try:
            await super().startup(sockets=sockets)
        except BaseException:
            sock.close()
            raise
        config = uvicorn.Config(app, lifespan="off", access_log=False, server_header=False, log_config=None,
                                http=self.config.http, timeout_keep_alive=5)
        config.load()

        def protocol(_loop: Any = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=_loop)

        self.servers.append(await asyncio.get_running_loop().create_server(protocol, sock=sock))
        log.info("internal listener (healthz, metrics) on http://%s:%s", host, port)


def build_server(config: uvicorn.Config) -> uvicorn.Server:
    """The server for a config of this module (starts the coordinator's internal listener too)."""
    return MpicServer(config)
