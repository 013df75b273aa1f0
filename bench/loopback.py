"""Real servers on this machine's loopback for the runtime tests and ``mpic bench``: Knot serving a
test zone, a TLS peer that never answers, a peer whose packets are dropped, stop by PID.

Everything listens on a per-run loopback /24 (127.A.B.0, :func:`pick_prefix`) so parallel work on
this machine does not collide; every process started here is stopped by PID, never by name; the
machine's own network and firewall are never touched.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KNOT_PORT = 5300
INTERNAL_HOST = 31
"""Last octet of the "internal" web server (same files as web.mpic.test, not in the lab allowance)."""
INTERNAL_ALPN_HOST = 32
"""Last octet of a TLS-ALPN responder outside the lab allowance."""


def pick_prefix(ports: tuple[tuple[int, int], ...] = ((80, 80), (53, KNOT_PORT), (81, 443))) -> str:
    """A 127.A.B prefix whose ``(last octet, port)`` pairs can all be bound (nobody holds them).
    The default checks the runtime tests' web (.80:80), DNS (.53) and TLS-ALPN (.81:443) addresses."""
    rng = random.Random(os.getpid() ^ time.time_ns())
    for _ in range(50):
        prefix = f"127.{rng.randint(100, 250)}.{rng.randint(1, 250)}"
        try:
            for last, port in ports:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((f"{prefix}.{last}", port))
            return prefix
        except OSError:
            continue
    raise RuntimeError("no free loopback prefix")


def wait_port(host: str, port: int, timeout: float = 10.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Wait until ``host:port`` accepts connections (RuntimeError after ``timeout`` or when ``proc`` exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{host}:{port}: the process exited ({proc.returncode}) before listening") from None
            time.sleep(0.02)
    raise RuntimeError(f"{host}:{port} did not open")


def stop_pid(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM the process we started, SIGKILL after ``timeout`` seconds (:func:`stop_all` of one)."""
    stop_all([proc], timeout)


def stop_all(procs: list[subprocess.Popen[Any]], timeout: float = 10) -> None:
    """Stop the processes we started, all of them even when interrupted: SIGTERM to each at once,
    then wait for them together (SIGKILL for any still running after ``timeout`` seconds). A Ctrl-C
    or any error while waiting SIGKILLs and reaps every one left before it propagates, so an
    interrupted bench leaves no process behind."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    except BaseException:
        running = [proc for proc in procs if proc.poll() is None]
        for proc in running:  # all killed first: a second Ctrl-C while reaping leaves none running
            proc.kill()
        for proc in running:
            proc.wait()
        raise


# ------------------------------------------------------------------------------------ DNS
@dataclass
class Knot:
    addr: str
    port: int
    proc: subprocess.Popen[Any]
    workdir: Path

    def stop(self) -> None:
        stop_pid(self.proc)


def zone_records(prefix: str) -> dict[str, list[str]]:
    """Zone contents (relative owner names, TTL 60). ``.`` is the root; ``mpic.test.`` delegated."""
    ns = f"{prefix}.53"
    root = [
        "@ SOA ns.root. hostmaster.root. 1 3600 600 86400 60",
        "@ NS ns.root.",
        f"ns.root. A {ns}",
        "mpic.test. NS ns.mpic.test.",
        f"ns.mpic.test. A {ns}",
        "7.2.0.192.in-addr.arpa. PTR host.mpic.test.",
    ]
    zone = [
        "@ SOA ns.mpic.test. hostmaster.mpic.test. 1 3600 600 86400 60",
        "@ NS ns.mpic.test.",
        f"ns A {ns}",
        # CAA
        'caa-permit CAA 0 issue "ca.mpic.test"',
        'caa-deny CAA 0 issue "other-ca.example"',
        'caa-wild CAA 0 issue "other-ca.example"',
        'caa-wild CAA 0 issuewild "ca.mpic.test"',
        'caa-mail CAA 0 issuemail "ca.mpic.test"',
        'caa-mail-deny CAA 0 issuemail "other-ca.example"',
        'caa-critical CAA 128 tbs "unknown"',
        'caa-critical CAA 0 issue "ca.mpic.test"',
        "nocaa A 192.0.2.1",
        # DCV over DNS
        '_dnsauth.dcv TXT "challenge-txt-0123456789abcdef"',
        "_cn.dcv CNAME target-0123456789abcdef.mpic.test.",
        "target-0123456789abcdef A 192.0.2.2",
        'dcvcaa CAA 0 issue "dnschange-caa-value"',
        '_acme-challenge.dcv TXT "keyauthhash-abc-0123456789"',
        '_validation-contactemail.dcv TXT "admin@mpic.test"',
        '_validation-contactphone.dcv TXT "+1 555 0100"',
        'contact CAA 0 contactemail "admin@mpic.test"',
        'contact CAA 0 contactphone "+15550100"',
        '_validation-persist.dcv TXT "ca.mpic.test; accounturi=https://ca.mpic.test/acct/1"',
        "ip A 192.0.2.7",
        # HTTP and TLS-ALPN targets
        f"web A {prefix}.80",
        f"alpn A {prefix}.81",
        f"blackhole A {prefix}.99",
        # reserved destinations a perspective must refuse: a web server on an address the lab does
        # not allow ("the CA's own network"), loopback, and names mixing both kinds
        f"internal A {prefix}.{INTERNAL_HOST}",
        f"alpn-internal A {prefix}.{INTERNAL_ALPN_HOST}",
        "loop A 127.0.0.1",
        "loop6 AAAA ::1",
        "mapped AAAA ::ffff:127.0.0.1",
        f"mixed A {prefix}.80",
        f"mixed A {prefix}.{INTERNAL_HOST}",
    ]
    return {".": root, "mpic.test.": zone}


def start_knot(prefix: str, workdir: Path, timeout: float = 10) -> Knot:
    """knotd serving :func:`zone_records` on ``<prefix>.53`` port :data:`KNOT_PORT` (answers checked)."""
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    addr = f"{prefix}.53"
    workdir.mkdir(parents=True, exist_ok=True)
    zone_cfg = []
    for name, records in zone_records(prefix).items():
        fname = "root.zone" if name == "." else f"{name.rstrip('.')}.zone"
        origin = f"$ORIGIN {name}\n$TTL 60\n"
        (workdir / fname).write_text(origin + "\n".join(records) + "\n")
        zone_cfg.append(f"  - domain: \"{name}\"\n    file: \"{workdir / fname}\"")
    conf = workdir / "knot.conf"
    conf.write_text(
        "server:\n"
        f"  listen: {addr}@{KNOT_PORT}\n"
        f"  rundir: \"{workdir}\"\n"
        f"  pidfile: \"{workdir}/knot.pid\"\n"
        "log:\n  - target: stderr\n    any: warning\n"
        "database:\n"
        f"  storage: \"{workdir}/db\"\n"
        "template:\n  - id: default\n    semantic-checks: off\n    zonefile-sync: -1\n    journal-content: none\n"
        "zone:\n" + "\n".join(zone_cfg) + "\n"
    )
    with open(workdir / "knot.log", "w") as log:
        proc = subprocess.Popen([knotd, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["kdig", f"@{addr}", "-p", str(KNOT_PORT), "+short", "+time=1", "web.mpic.test", "A"],
                             capture_output=True, text=True)
        if out.stdout.strip():
            return Knot(addr, KNOT_PORT, proc, workdir)
        if proc.poll() is not None:
            raise RuntimeError(f"knotd exited: {(workdir / 'knot.log').read_text()}")
        time.sleep(0.05)
    stop_pid(proc)
    raise RuntimeError(f"knotd not answering: {(workdir / 'knot.log').read_text()}")


# ------------------------------------------------------------------------------- peers
class LoopThread:
    """An asyncio loop in a daemon thread, for small servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class HangingPeer:
    """A hung perspective: completes the TLS handshake (it has a valid kit server cert) and then
    never answers."""

    def __init__(self, lt: LoopThread, host: str, port: int, cert: Path, key: Path):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.lt = lt
        self.connections = 0
        self.tasks: set[asyncio.Task[Any]] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # stop(): end quietly
                pass
            finally:
                writer.close()
                self.tasks.discard(task)

        self.server = lt.run(asyncio.start_server(handle, host, port, ssl=ctx))

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        self.lt.run(close())


class PartitionedPeer:
    """A partitioned perspective: its packets are dropped, so a connection never opens.

    Emulated without a firewall: a listener whose accept queue is full (backlog 0, filled by one
    connection of its own that is never accepted). Linux then drops every further SYN, as a
    blackholed route would; the caller's connect retries until its own timeout."""

    def __init__(self, host: str, port: int):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(0)
        self.filler = socket.create_connection((host, port), timeout=2)  # fills the accept queue

    def stop(self) -> None:
        self.filler.close()
        self.listener.close()


def serve_peer(argv: list[str]) -> None:
    """``python -m bench.loopback hung HOST PORT CERT KEY`` | ``partitioned HOST PORT``: one faulty
    peer in a process of its own (its TLS handshakes then cost the caller's process nothing), until
    SIGTERM."""
    kind, host, port = argv[0], argv[1], int(argv[2])
    loop = LoopThread()
    peer: HangingPeer | PartitionedPeer = (HangingPeer(loop, host, port, Path(argv[3]), Path(argv[4]))
                                           if kind == "hung" else PartitionedPeer(host, port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    peer.stop()
    loop.stop()


if __name__ == "__main__":  # pragma: no cover - run as a process by mpic bench
    import sys

    serve_peer(sys.argv[1:])
