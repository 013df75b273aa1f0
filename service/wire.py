"""The HTTP protocol both roles serve with: uvicorn's httptools protocol (h11 when httptools is
missing), each answer leaving in one write.

uvicorn writes an answer's status line and headers, then its body, as two transport writes: two
TLS records and two ``send`` calls per answer, on the perspective and on the coordinator alike.
:class:`OneWrite` holds the headers until the body follows in the same turn of the event loop and
writes both at once (a header with no body in that turn, such as a HEAD answer, leaves at the end
of the turn).
"""

from __future__ import annotations

import asyncio
from typing import Any

from service.peer import with_tls_scope

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is in the runtime lock
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class OneWrite:
    """Transport proxy for one answer: the first write (status line and headers) is held until
    the next write or the end of the loop turn."""

    __slots__ = ("_transport", "_held", "_first")

    def __init__(self, transport: asyncio.Transport):
        self._transport = transport
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            self._first = False
            self._held = data
            asyncio.get_running_loop().call_soon(self.flush)
        elif self._held is not None:
            data, self._held = self._held + data, None
            self._transport.write(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            data, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def one_write(base: type) -> type:
    """``base`` (uvicorn's httptools protocol) with every answer written once (:class:`OneWrite`)."""

    class OneWriteProtocol(base):  # type: ignore[valid-type,misc]
        def on_headers_complete(self) -> None:
            before = self.cycle
            super().on_headers_complete()
            if self.cycle is not None and self.cycle is not before:
                self.cycle.transport = OneWrite(self.transport)

    OneWriteProtocol.__name__ = OneWriteProtocol.__qualname__ = f"OneWrite{base.__name__}"
    return OneWriteProtocol


def http_protocol(tls_scope: bool = False) -> Any:
    """uvicorn's ``http`` for a server: httptools with one write per answer (and the ASGI TLS
    extension for the perspective: service.peer), else h11."""
    if HttpToolsProtocol is None:  # pragma: no cover - httptools is in the runtime lock
        from service.peer import TlsScopeH11Protocol

        return TlsScopeH11Protocol if tls_scope else "h11"
    protocol = one_write(HttpToolsProtocol)
    return with_tls_scope(protocol) if tls_scope else protocol
