"""Real servers for the runtime tests: Knot (authoritative DNS), nginx (HTTP/HTTPS targets and a
forward proxy), a TLS-ALPN responder, uvicorn servers in threads, a hanging TLS peer.

Everything listens on a per-session loopback /24 (127.A.B.0) so parallel work on this machine
does not collide; every process started here is stopped by PID.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KNOT_PORT = 5300
INTERNAL_HOST = 31
"""Last octet of the "internal" web server (same files as web.mpic.test, not in the lab allowance)."""
INTERNAL_ALPN_HOST = 32
"""Last octet of a TLS-ALPN responder outside the lab allowance."""
LAB_TARGETS = (80, 81, 99)
"""Last octets perspectives may reach although loopback (web, alpn, blackhole); the proxy (.82)
is reached as the configured proxy_url, which the guard exempts."""


def lab_networks(prefix: str) -> list[str]:
    """The ``allowed_reserved_networks`` of test perspectives: only the lab's target hosts."""
    return [f"{prefix}.{last}/32" for last in LAB_TARGETS]


def pick_prefix() -> str:
    """A 127.A.B prefix whose .80 address can bind port 80 (checks nobody holds it)."""
    rng = random.Random(os.getpid() ^ time.time_ns())
    for _ in range(50):
        prefix = f"127.{rng.randint(100, 250)}.{rng.randint(1, 250)}"
        try:
            for host, port in ((f"{prefix}.80", 80), (f"{prefix}.53", KNOT_PORT), (f"{prefix}.81", 443)):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
            return prefix
        except OSError:
            continue
    raise RuntimeError("no free loopback prefix")


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{host}:{port} did not open")


def stop_pid(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


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
        '_dnsauth.dcv TXT "challenge-txt-123"',
        "_cn.dcv CNAME target.mpic.test.",
        "target A 192.0.2.2",
        'dcvcaa CAA 0 issue "dnschange-caa-value"',
        '_acme-challenge.dcv TXT "keyauthhash-abc"',
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
        # reserved destinations a perspective must refuse (Hardening #2): a web server on an address
        # the lab does not allow ("the CA's own network"), loopback, and names mixing both kinds
        f"internal A {prefix}.{INTERNAL_HOST}",
        f"alpn-internal A {prefix}.{INTERNAL_ALPN_HOST}",
        "loop A 127.0.0.1",
        "loop6 AAAA ::1",
        "mapped AAAA ::ffff:127.0.0.1",
        f"mixed A {prefix}.80",
        f"mixed A {prefix}.{INTERNAL_HOST}",
    ]
    return {".": root, "mpic.test.": zone}


def start_knot(prefix: str, workdir: Path) -> Knot:
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    addr = f"{prefix}.53"
    workdir.mkdir(parents=True, exist_ok=True)
    zones = zone_records(prefix)
    zone_cfg = []
    for name, records in zones.items():
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
    proc = subprocess.Popen([knotd, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=open(workdir / "knot.log", "w"))
    deadline = time.monotonic() + 10
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


# ------------------------------------------------------------------------------------ HTTP
@dataclass
class Nginx:
    web: str
    proxy_port: int
    proc: subprocess.Popen[Any]
    workdir: Path

    @property
    def proxy_log(self) -> Path:
        return self.workdir / "proxy.log"

    def stop(self) -> None:
        stop_pid(self.proc)


WEB_FILES = {
    ".well-known/pki-validation/tok1": "web-challenge-1\n",
    ".well-known/pki-validation/tok-other": "something-else\n",
    ".well-known/acme-challenge/tokA": "tokA.keyauth\n",
}


def start_nginx(prefix: str, workdir: Path, cert: Path, key: Path) -> Nginx:
    web = f"{prefix}.80"
    docroot = workdir / "www"
    for rel, content in WEB_FILES.items():
        path = docroot / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    conf = workdir / "nginx.conf"
    proxy_port = 3128
    conf.write_text(f"""
daemon off;
master_process off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/tmp_body;
  proxy_temp_path {workdir}/tmp_proxy;
  fastcgi_temp_path {workdir}/tmp_fcgi;
  uwsgi_temp_path {workdir}/tmp_uwsgi;
  scgi_temp_path {workdir}/tmp_scgi;
  default_type text/plain;
  server {{
    listen {web}:80;
    listen {web}:443 ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {docroot};
    location = /.well-known/pki-validation/redir {{ return 301 /.well-known/pki-validation/tok1; }}
    location = /.well-known/pki-validation/badredir {{ return 301 http://web.mpic.test:8081/x; }}
    location = /.well-known/pki-validation/tointernal {{ return 302 http://internal.mpic.test/.well-known/pki-validation/tok1; }}
    location = /.well-known/pki-validation/toloop {{ return 302 http://127.0.0.1/.well-known/pki-validation/tok1; }}
    location = /.well-known/acme-challenge/tointernal {{ return 302 http://internal.mpic.test/.well-known/acme-challenge/tokA; }}
  }}
  server {{
    listen {prefix}.{INTERNAL_HOST}:80;
    root {docroot};
  }}
  server {{
    listen {prefix}.82:{proxy_port};
    access_log {workdir}/proxy.log;
    location / {{ proxy_pass http://{web}:80; proxy_set_header Host $host; }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)], stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "nginx.stderr", "w"))
    try:
        wait_port(web, 80)
        wait_port(web, 443)
        wait_port(f"{prefix}.{INTERNAL_HOST}", 80)
        wait_port(f"{prefix}.82", proxy_port)
    except RuntimeError:
        stop_pid(proc)
        raise RuntimeError((workdir / "nginx.stderr").read_text() + (workdir / "error.log").read_text())
    return Nginx(web, proxy_port, proc, workdir)


# ------------------------------------------------------------------------------- TLS-ALPN
ACME_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def alpn_challenge_cert(workdir: Path, san: str, key_auth_hash_hex: str) -> tuple[Path, Path]:
    """Self-signed RFC 8737 challenge certificate: single SAN, critical id-pe-acmeIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls-alpn challenge")])
    try:
        general: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(san))
    except ValueError:
        general = x509.DNSName(san)
    now = dt.datetime.now(dt.timezone.utc)
    value = b"\x04\x20" + bytes.fromhex(key_auth_hash_hex)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([general]), critical=False)
        .add_extension(x509.UnrecognizedExtension(ACME_OID, value), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / f"alpn-{san}.crt", workdir / f"alpn-{san}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


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


class AlpnResponder:
    """A TLS server on port 443 that answers ALPN acme-tls/1 with a challenge certificate,
    chosen by SNI (reverse-pointer name for IP targets)."""

    def __init__(self, lt: LoopThread, host: str, certs: dict[str, tuple[Path, Path]]):
        self.lt, self.host = lt, host
        contexts = {}
        for sni, (cert, key) in certs.items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert), str(key))
            ctx.set_alpn_protocols(["acme-tls/1"])
            contexts[sni] = ctx
        default = next(iter(contexts.values()))

        def pick(sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            if name in contexts:
                sock.context = contexts[name]

        default.sni_callback = pick  # type: ignore[assignment]

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self.server = lt.run(asyncio.start_server(handle, host, 443, ssl=default))

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()

        self.lt.run(close())


class HangingPeer:
    """Completes the TLS handshake (it has a valid kit server cert) and then never answers."""

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


# ------------------------------------------------------------------------------- uvicorn
@dataclass
class ThreadServer:
    """A uvicorn server (real sockets, real TLS) in a thread of this process."""

    config: uvicorn.Config
    server: uvicorn.Server = field(init=False)
    thread: threading.Thread = field(init=False)

    def start(self) -> "ThreadServer":
        from service.server import build_server

        self.server = build_server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class FlakyPeer:
    """Closes the first ``drop`` connections as soon as a request arrives (like a keep-alive
    connection closed by the server at the wrong moment), then answers every request with a
    canned passing CAA check response."""

    BODY = b'{"check_completed":true,"check_passed":true,"check_type":"caa","details":{"caa_record_present":false}}'

    def __init__(self, lt: LoopThread, host: str, port: int, cert: Path, key: Path, drop: int = 1):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.lt = lt
        self.connections = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            number = self.connections
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    await reader.readexactly(length)
                    if number <= drop:
                        return
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                                 + str(len(self.BODY)).encode() + b"\r\n\r\n" + self.BODY)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            finally:
                writer.close()

        self.server = lt.run(asyncio.start_server(handle, host, port, ssl=ctx))

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()

        self.lt.run(close())
