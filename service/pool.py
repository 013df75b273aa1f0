"""Keep-alive mTLS connections from the coordinator to one perspective, HTTP/1.1 written by hand.

A perspective call is one small POST and one small JSON answer. A general HTTP client (aiohttp:
request objects, signals, cookie and redirect machinery) spent a quarter of the coordinator's CPU
building it; here the request is one prepared byte string sent with one write, and the answer is
read by its ``content-length`` (or chunks).

:class:`HostPool` keeps the connections to one perspective: at most ``limit`` at once (further
calls wait for a free one), reused last-in first-out so a quiet coordinator keeps using a few, and
every connection idle for ``idle_seconds`` closed by a sweep, so the memory of a burst's connections
is returned once the burst is over. A call whose connection the perspective had just closed (a
keep-alive race) is retried once on a new connection: checks are read-only. ``verify`` (optional)
sees every new connection's TLS object before it is used (the coordinator checks the perspective's
certificate names: service.identity) and refuses it by raising.
"""

from __future__ import annotations

import asyncio
import ctypes
import ssl
import time
from typing import Any, Callable

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1 << 20
"""A perspective's answer is a few hundred bytes; anything over 1 MiB is refused."""
KIT_HEADER_PREFIX = b"x-mpic-"
"""Answer headers kept for the caller (the perspective's identity: service.identity)."""
Headers = dict[str, str]


def _malloc_trim() -> Callable[[], None]:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc; absent elsewhere (musl, macOS)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: None if trim(0) else None


release_memory = _malloc_trim()
"""Give the heap's free pages back to the system (glibc ``malloc_trim``): the buffers of closed
connections are freed, but glibc keeps freed memory in its arenas until asked."""


class CallFailed(Exception):
    """The perspective could not be reached or did not answer in HTTP/1.1."""


class PeerClosed(CallFailed):
    """The perspective closed the connection before answering."""


class Connection:
    """One TLS connection and its reader/writer."""

    __slots__ = ("reader", "writer", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool, Headers]:
        """Send ``request``; (status, body, keep-alive, the answer's ``x-mpic-*`` headers)."""
        self.writer.write(request)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise PeerClosed("the perspective closed the connection before answering") from (
                None if not exc.partial else exc)
        except asyncio.LimitOverrunError:
            raise CallFailed(f"answer headers over {MAX_HEAD_BYTES} bytes") from None
        lines = head.split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
            raise CallFailed(f"not an HTTP/1.1 answer: {lines[0][:80]!r}")
        length, chunked, keep = None, False, status_line[0] == b"HTTP/1.1"
        kit: Headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name.startswith(KIT_HEADER_PREFIX):
                kit[name.decode("latin-1")] = value.strip().decode("latin-1")
            elif name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = b"close" not in value.lower()
        if chunked:
            body = await self._chunks()
        elif length is not None:
            if length > MAX_BODY_BYTES:
                raise CallFailed(f"answer of {length} bytes; at most {MAX_BODY_BYTES} are read")
            body = await self.reader.readexactly(length)
        else:  # no length: the body runs to the end of the connection
            body = await self.reader.read(MAX_BODY_BYTES)
            keep = False
        return int(status_line[1]), body, keep, kit

    async def _chunks(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            chunk = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if chunk == 0:
                await self.reader.readuntil(b"\r\n")  # the empty trailer line
                return b"".join(parts)
            size += chunk
            if size > MAX_BODY_BYTES:
                raise CallFailed(f"answer over {MAX_BODY_BYTES} bytes")
            parts.append(await self.reader.readexactly(chunk))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.transport.abort()  # no TLS close_notify round trip: nothing more is read


class HostPool:
    """The connections to one ``host:port`` (see the module docstring)."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None, limit: int, idle_seconds: float,
                 on_connection: Callable[[bool], None] | None = None, verify: Callable[[Any], None] | None = None):
        self.host, self.port, self.ssl = host, port, ssl_context
        self._verify = verify
        self.idle_seconds = idle_seconds
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[Connection] = []
        self._sweep: asyncio.TimerHandle | None = None
        self._on_connection = on_connection or (lambda reused: None)
        self.opened = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def _connect(self) -> Connection:
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.ssl, server_hostname=self.host if self.ssl else None,
                limit=MAX_HEAD_BYTES)
        except ssl.SSLError as exc:
            raise CallFailed(f"TLS with {self.host}:{self.port} failed: {exc}") from None
        except OSError as exc:
            raise CallFailed(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        if self._verify is not None:
            try:
                self._verify(writer.get_extra_info("ssl_object"))
            except BaseException:
                writer.transport.abort()
                raise
        self.opened += 1
        self._on_connection(False)
        return Connection(reader, writer)

    def _take(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < self.idle_seconds and not conn.writer.transport.is_closing():
                self._on_connection(True)
                return conn
            conn.close()
        return None

    def _give_back(self, conn: Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(self.idle_seconds, self._expire)

    def _expire(self) -> None:
        """Close every connection idle for ``idle_seconds`` (the oldest are first in the list)."""
        self._sweep = None
        cutoff = time.monotonic() - self.idle_seconds
        closed = 0
        while self._idle and self._idle[0].idle_since <= cutoff:
            self._idle.pop(0).close()
            closed += 1
        if closed:
            release_memory()
        if self._idle:
            wait = self._idle[0].idle_since + self.idle_seconds - time.monotonic()
            self._sweep = asyncio.get_running_loop().call_later(max(wait, 0.05), self._expire)

    async def request(self, raw: bytes) -> tuple[int, bytes, Headers]:
        """(status, body, ``x-mpic-*`` headers) of one request; one retry on a new connection when
        the connection was closed under it."""
        async with self._slots:
            for attempt in (1, 2):
                conn = self._take() or await self._connect()
                try:
                    status, body, keep, headers = await conn.exchange(raw)
                except (PeerClosed, OSError) as exc:
                    conn.close()
                    if attempt == 2:
                        raise PeerClosed(f"{self.host}:{self.port}: {exc}") from None
                    continue
                except BaseException:  # timeout, cancellation, a bad answer: the connection's state is unknown
                    conn.close()
                    raise
                if keep:
                    self._give_back(conn)
                else:
                    conn.close()
                return status, body, headers
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        while self._idle:
            self._idle.pop().close()
