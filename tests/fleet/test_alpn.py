"""local.daemons.alpn: the mini-internet's TLS-ALPN-01 responder, as a real process on loopback."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from local.daemons.alpn import ACME_IDENTIFIER, ALPN, challenge_cert, sni_of

KIT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _handshake(port: int, sni: str, alpn: str = ALPN) -> tuple[x509.Certificate, str | None]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=sni) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)), tls.selected_alpn_protocol()


@pytest.fixture
def responder(tmp_path):
    port, config = _free_port(), tmp_path / "config.json"
    config.write_text("{}")
    proc = subprocess.Popen([sys.executable, "-m", "local.daemons.alpn", "--listen", f"127.0.0.1:{port}", "--config",
                             str(config)], cwd=KIT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield proc, port, config
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def test_serves_each_identifier_its_rfc8737_certificate_after_sighup(responder, tmp_path):
    proc, port, config = responder
    digest = hashlib.sha256(b"token.thumbprint").hexdigest()
    name_cert = challenge_cert(tmp_path / "certs", "Alpn.Example.org", digest)
    ip_cert = challenge_cert(tmp_path / "certs", "10.213.64.3", digest)
    # before any challenge: the fallback certificate, for no real name
    cert, proto = _handshake(port, "alpn.example.org")
    assert proto == ALPN and cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["alpn.invalid"]
    config.write_text(json.dumps({sni_of("alpn.example.org"): [str(p) for p in name_cert],
                                  sni_of("10.213.64.3"): [str(p) for p in ip_cert]}))
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    cert, _ = _handshake(port, "alpn.example.org")
    ext = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
    assert ext.critical and ext.value.value == b"\x04\x20" + bytes.fromhex(digest)
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["alpn.example.org"]
    cert, _ = _handshake(port, "3.64.213.10.in-addr.arpa")  # RFC 8738: SNI is the reverse name
    assert [str(a) for a in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            .get_values_for_type(x509.IPAddress)] == ["10.213.64.3"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_a_client_without_acme_tls_negotiates_no_protocol(responder):
    _, port, _ = responder
    _, proto = _handshake(port, "alpn.example.org", alpn="http/1.1")
    assert proto is None  # the responder speaks acme-tls/1 only (RFC 8737 section 3)


def test_challenge_cert_refuses_a_digest_of_the_wrong_size(tmp_path):
    with pytest.raises(ValueError, match="64 hex digits"):
        challenge_cert(tmp_path, "a.example", "abcd")
    assert sni_of("2001:db8::1").endswith(".8.b.d.0.1.0.0.2.ip6.arpa") and sni_of("A.Example.") == "a.example"
