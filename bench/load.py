"""The load and the measurements of ``mpic bench``: a lean HTTP/1.1 client, phases, percentiles,
CPU and memory of processes read from ``/proc``.

The client costs as little CPU as possible (it shares the machine with what it measures): one
keep-alive connection per concurrent worker, the request bytes built once, the answer read by
its ``content-length`` and checked for status 200 and ``"is_valid":true`` without parsing the JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.errors import KitError
from local.actions.client import resolve

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(KitError, RuntimeError):
    """The benchmark could not run (a server did not start, answers were wrong)."""


@dataclass(frozen=True)
class Target:
    """Where the MPIC requests go: ``url`` (``http(s)://host:port``), the API key, the CA for https,
    and the DNS server that resolves the URL's name (the local fleet's client resolver: its
    coordinator is a name that fails over; None: the system's resolver)."""

    url: str
    api_key: str
    ca_file: str | None = None
    resolver: str | None = None

    def request(self, body: dict[str, Any], path: str = "/mpic") -> bytes:
        parts = urlsplit(self.url)
        data = json.dumps(body, separators=(",", ":")).encode()
        head = (f"POST {path} HTTP/1.1\r\nhost: {parts.netloc}\r\nx-api-key: {self.api_key}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n")
        return head.encode() + data

    def ssl_context(self) -> ssl.SSLContext | None:
        if urlsplit(self.url).scheme != "https":
            return None
        return ssl.create_default_context(cafile=self.ca_file)


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a prepared request and reads the answer."""

    def __init__(self, target: Target, ctx: ssl.SSLContext | None):
        parts = urlsplit(target.url)
        self.host, self.port = parts.hostname or "", parts.port or (443 if ctx else 80)
        self.resolver = target.resolver
        self.ctx = ctx
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        """(status, body) of one request; reconnects when the server closed the connection."""
        for attempt in (1, 2):
            if self.writer is None:
                await self.connect()
            assert self.reader is not None
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            status = int(head[9:12])
            length, closing = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    closing = True
            body = await self.reader.readexactly(length)
            if closing:
                self.close()
            return status, body
        raise AssertionError("unreachable")  # pragma: no cover

    async def connect(self) -> None:
        """Open the connection, resolving the name again (a failed-over name moves) by ``resolver``."""
        address = self.host
        if self.resolver is not None:
            address = await asyncio.to_thread(resolve, self.host, self.resolver)
        self.reader, self.writer = await asyncio.open_connection(
            address, self.port, ssl=self.ctx, server_hostname=self.host if self.ctx else None)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Samples:
    """Latencies (seconds) of the requests of one phase, its wall time and its failures."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    failures: int = 0
    first_failure: str = ""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per role during the measured part (:class:`CpuMeter`)."""

    def add(self, seconds: float, status: int, body: bytes, expect_valid: bool) -> None:
        self.latencies.append(seconds)
        if status != 200 or (expect_valid and b'"is_valid":true' not in body):
            self.failures += 1
            if not self.first_failure:
                self.first_failure = f"HTTP {status}: {body[:300].decode(errors='replace')}"


async def run_phase(target: Target, body: dict[str, Any], concurrency: int, duration: float,
                    warmup: int = 0, expect_valid: bool = True, max_requests: int | None = None,
                    meter: "CpuMeter | None" = None) -> Samples:
    """``concurrency`` workers, each on its own connection, send ``body`` back to back for
    ``duration`` seconds (or ``max_requests`` in all) after ``warmup`` unmeasured requests each;
    ``meter`` measures the CPU of the measured part only (``Samples.cpu``)."""
    ctx = target.ssl_context()
    raw = target.request(body)
    samples = Samples()
    conns = [Connection(target, ctx) for _ in range(concurrency)]
    remaining = [max_requests if max_requests is not None else 1 << 62]
    try:
        async def warm(conn: Connection) -> None:
            for _ in range(warmup):
                await conn.exchange(raw)

        await asyncio.gather(*(warm(c) for c in conns))
        stop_at = time.perf_counter() + duration

        async def worker(conn: Connection) -> None:
            while time.perf_counter() < stop_at and remaining[0] > 0:
                remaining[0] -= 1
                t0 = time.perf_counter()
                status, answer = await conn.exchange(raw)
                samples.add(time.perf_counter() - t0, status, answer, expect_valid)

        if meter is not None:
            meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        samples.elapsed = time.perf_counter() - t0
        if meter is not None:
            samples.cpu = meter.stop()
    finally:
        for c in conns:
            c.close()
    return samples


async def one_request(target: Target, body: dict[str, Any], timeout: float = 30) -> tuple[int, Any]:
    """(status, parsed JSON) of a single request (checks the setup before measuring)."""
    conn = Connection(target, target.ssl_context())
    try:
        status, raw = await asyncio.wait_for(conn.exchange(target.request(body)), timeout)
    finally:
        conn.close()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def run_client(main: Any) -> Any:
    """Run the bench's client coroutine ``main`` on uvloop (the runtime's loop, service.server) when
    installed, else asyncio's own: the client's share of each measured latency (its TLS and HTTP)
    is then what a client on a fast loop costs, not the stock loop's pure-Python TLS."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the CLI's requirements ship it
        return asyncio.run(main)
    return uvloop.run(main)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least 1
    return ordered[int(min(rank, len(ordered))) - 1]


def latency_ms(samples: Samples) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples.latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(samples.latencies, 0.99) * 1000, 2)}


# ------------------------------------------------------------------------------ processes
def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (seconds; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` (MiB, VmRSS; 0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages of this machine."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class CpuMeter:
    """CPU time of groups of processes (``role -> [pid...]``) between :meth:`start` and :meth:`stop`."""

    def __init__(self, roles: dict[str, list[int]]):
        self.roles = roles
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in self.roles.items()}

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> dict[str, float]:
        """CPU seconds per role since :meth:`start`."""
        now = self._now()
        return {role: now[role] - self._start.get(role, 0.0) for role in self.roles}
