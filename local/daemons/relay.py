"""User-space WAN emulation: a TCP relay that holds every chunk for a set one-way delay.

The kernel here has no ``netem``, so each region's backbone entry point is this relay::

    python -m local.daemons.relay --listen 10.213.1.20:8443 --upstream 127.0.0.1:8444 \
        --delay-file /run/mpic-fleet/local/regions/eu-west-1/delay_ms

Data in both directions is forwarded ``delay`` ms after it arrived (order preserved, EOF and close
forwarded after the data before them), so a request/response exchange costs 2 x delay more, like
a real path. The delay is re-read from the file on SIGHUP (``mpic fault slow``), and a delay file
containing ``drop`` is not used: faults that drop traffic use nft on the backbone instead.

Every chunk is sent at its due time to the microsecond: a ``timerfd`` (:class:`Clock`) watched by
the event loop, not the loop's own timers, which wake on epoll's millisecond timeout (the stock loop
held each chunk 0.6-1.5 ms too long, measured on every hop of the local fleet; uvloop's timers count
whole milliseconds and may fire early). The loop is uvloop when installed (the kit's ``.venv``).
SIGUSR1 writes how much longer than the delay the chunks sent since the last SIGUSR1 were held,
per direction, as one JSON line on stderr (the process's log)::

    {"relay_holds": {"delay_ms": 80.1, "to_upstream": {"chunks": 63, "late_ms_p50": 0.061, ...}, ...}}
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import heapq
import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from local.engine.users import drop_to

_CLOCK_MONOTONIC = 1  # time.monotonic()'s clock on Linux
_TFD_CLOEXEC = 0o2000000
_TFD_NONBLOCK = 0o4000
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(None, use_errno=True)


class Clock:
    """Callbacks at absolute ``time.monotonic()`` times: a timerfd (CLOCK_MONOTONIC, absolute,
    nanoseconds) armed for the earliest one and watched by ``loop``. A callback never runs before
    its time; those due together run in the order they were scheduled."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.fd = _libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_create: {os.strerror(err)}")
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._armed: float | None = None
        loop.add_reader(self.fd, self._expired)

    def at(self, when: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), callback))
        if self._armed is None or when < self._armed:
            self._arm(when)

    def _arm(self, when: float | None) -> None:
        spec = _Itimerspec()
        if when is not None:  # all zero disarms; a time already past expires at once
            ns = max(1, int(when * 1e9))
            spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(ns, 1_000_000_000)
        if _libc.timerfd_settime(self.fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_settime: {os.strerror(err)}")
        self._armed = when

    def _expired(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass
        self._armed = None
        while self._heap and self._heap[0][0] <= time.monotonic():
            callback = heapq.heappop(self._heap)[2]
            try:
                callback()
            except Exception as exc:  # noqa: BLE001 - one connection's failure stops no other's timers
                self.loop.call_exception_handler({"message": "relay: a timed send failed", "exception": exc})
        self._arm(self._heap[0][0] if self._heap else None)

    def close(self) -> None:
        self.loop.remove_reader(self.fd)
        os.close(self.fd)


class Holds:
    """How much longer than the delay chunks were held (seconds, the last ``keep`` chunks)."""

    def __init__(self, keep: int = 8192):
        self.late: collections.deque[float] = collections.deque(maxlen=keep)
        self.chunks = 0

    def add(self, late: float) -> None:
        self.late.append(late)
        self.chunks += 1

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.late)
        if not ordered:
            return {"chunks": 0}

        def q(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 3)

        return {"chunks": self.chunks, "late_ms_min": q(0), "late_ms_p50": q(0.5), "late_ms_p99": q(0.99),
                "late_ms_max": q(1)}

    def reset(self) -> None:
        self.late.clear()
        self.chunks = 0


_EOF = b""
_CLOSE = None


class _Pipe:
    """One direction of one relayed connection: what one side received, written to the other side
    ``relay.delay`` after it arrived, in order (an EOF or a close after the data before it)."""

    def __init__(self, relay: "Relay", holds: Holds):
        self.relay, self.holds = relay, holds
        self.held: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self.dst: _Side | None = None
        self.waiting = False

    def push(self, data: bytes | None) -> None:
        self.held.append((time.monotonic() + self.relay.delay, data))
        self._schedule()

    def connect(self, dst: "_Side") -> None:
        self.dst = dst
        self._schedule()

    def _schedule(self) -> None:
        if self.held and self.dst is not None and not self.waiting:
            self.waiting = True
            self.relay.clock.at(self.held[0][0], self._due)

    def _due(self) -> None:
        self.waiting = False
        assert self.dst is not None
        now = time.monotonic()
        while self.held and self.held[0][0] <= now:
            due, data = self.held.popleft()
            self.holds.add(now - due)
            if data is _CLOSE:
                self.dst.close()
                self.held.clear()
            elif data is _EOF:
                self.dst.write_eof()
            else:
                self.dst.write(data)
        self._schedule()


class _Side(asyncio.Protocol):
    """One TCP connection of a relayed pair: what it receives goes into ``inbound``; ``peer`` is
    the other side (paused while this side's send buffer is full)."""

    def __init__(self, inbound: _Pipe):
        self.inbound = inbound
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof_in = self.eof_out = self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no asyncio.Transport subclasses; both loops set TCP_NODELAY on
        # every TCP transport (checked), so Nagle never holds a small chunk back here
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.inbound.push(data)

    def eof_received(self) -> bool:
        self.eof_in = True
        self.inbound.push(_EOF)
        self._close_when_done()
        return True  # half-closed: the other direction goes on

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.inbound.push(_CLOSE)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def write_eof(self) -> None:
        if self.transport is not None and not self.closed and not self.eof_out:
            self.eof_out = True
            self.transport.write_eof()
            self._close_when_done()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def _close_when_done(self) -> None:
        if self.eof_in and self.eof_out:
            self.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class Relay:
    def __init__(self, upstream: tuple[str, int], delay_file: Path | None, delay_ms: float = 0.0):
        self.upstream = upstream
        self.delay_file = delay_file
        self.delay = delay_ms / 1000.0
        self.holds = {"to_upstream": Holds(), "to_client": Holds()}
        self._clock: Clock | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self.reload()

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = Clock(asyncio.get_running_loop())
        return self._clock

    def reload(self) -> None:
        if self.delay_file is not None:
            try:
                self.delay = max(0.0, float(self.delay_file.read_text().strip() or 0)) / 1000.0
            except (OSError, ValueError):
                pass

    def protocol(self) -> asyncio.Protocol:
        """A client's side of a new relayed connection (``loop.create_server(relay.protocol, ...)``):
        the upstream connection is opened at once; what the client sends meanwhile is held."""
        up = _Pipe(self, self.holds["to_upstream"])
        down = _Pipe(self, self.holds["to_client"])
        client = _Side(up)
        upstream = _Side(down)
        client.peer, upstream.peer = upstream, client
        down.connect(client)

        async def connect() -> None:
            try:
                await asyncio.get_running_loop().create_connection(lambda: upstream, *self.upstream)
            except OSError:
                client.close()
                return
            up.connect(upstream)

        task = asyncio.get_running_loop().create_task(connect())
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)
        return client

    def report(self) -> str:
        """One JSON line: the holds since the last report (then reset)."""
        line = json.dumps({"relay_holds": {"delay_ms": round(self.delay * 1000, 3),
                                           **{k: h.summary() for k, h in self.holds.items()}}})
        for h in self.holds.values():
            h.reset()
        return line

    def close(self) -> None:
        if self._clock is not None:
            self._clock.close()
            self._clock = None


async def serve(listen: tuple[str, int], relay: Relay, user: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(relay.protocol, listen[0], listen[1], reuse_address=True)
    if user:
        drop_to(user)
    loop.add_signal_handler(signal.SIGHUP, relay.reload)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(relay.report(), file=sys.stderr, flush=True))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        async with server:
            await stop.wait()
    finally:
        relay.close()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (the kit's ``.venv``), else the stock one (None)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m local.daemons.relay", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, type=_hostport)
    ap.add_argument("--upstream", required=True, type=_hostport)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--delay-file", type=Path)
    ap.add_argument("--user", help="run as this user once the port is bound")
    args = ap.parse_args(argv)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(serve(args.listen, Relay(args.upstream, args.delay_file, args.delay_ms), args.user))


if __name__ == "__main__":
    main()
