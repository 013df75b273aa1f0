"""Real servers for the runtime tests: nginx (HTTP/HTTPS targets and a forward proxy), a TLS-ALPN
responder, uvicorn servers in threads, a flaky peer; Knot, the hanging peer and the process helpers
are the product's own (:mod:`bench.loopback`, shared with ``mpic bench``).

Everything listens on a per-session loopback /24 (127.A.B.0) so parallel work on this machine
does not collide; every process started here is stopped by PID.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
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

from bench.loopback import (  # noqa: F401 - the tests use them as infra.*
    INTERNAL_ALPN_HOST,
    INTERNAL_HOST,
    KNOT_PORT,
    HangingPeer,
    Knot,
    LoopThread,
    PartitionedPeer,
    pick_prefix,
    start_knot,
    stop_pid,
    wait_port,
    zone_records,
)

LAB_TARGETS = (80, 81, 99)
"""Last octets perspectives may reach although loopback (web, alpn, blackhole); the proxy (.82)
is reached as the configured proxy_url, which the guard exempts."""


def lab_networks(prefix: str) -> list[str]:
    """The ``allowed_reserved_networks`` of test perspectives: only the lab's target hosts."""
    return [f"{prefix}.{last}/32" for last in LAB_TARGETS]


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
    ".well-known/pki-validation/tok1": "web-challenge-0123456789\n",
    ".well-known/pki-validation/tok-other": "something-else\n",
    ".well-known/acme-challenge/tokA-0123456789abcdef": "tokA-0123456789abcdef.keyauth\n",
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
    location = /.well-known/acme-challenge/tointernal {{ return 302 http://internal.mpic.test/.well-known/acme-challenge/tokA-0123456789abcdef; }}
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
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                 b"x-mpic-perspective: us-east-1\r\ncontent-length: "
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
