"""The mini-internet's TLS-ALPN-01 responder (RFC 8737, and RFC 8738 for IP identifiers).

``python -m local.daemons.alpn --listen ADDR:443 --config FILE`` serves, on its own address of the internet
host, the challenge certificate of each name that asks for ALPN ``acme-tls/1``, chosen by SNI (an
IP identifier's SNI is its reverse-pointer name). The certificates and the SNI -> certificate map
are written by ``mpic challenge tls-alpn``; SIGHUP reloads the map. A fleet process like the WAN
relay: started at ``up``, recorded, stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
import signal
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from local.engine.users import drop_to, own

ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
"""id-pe-acmeIdentifier (RFC 8737 section 3): the critical extension carrying the digest."""
ALPN = "acme-tls/1"


def sni_of(identifier: str) -> str:
    """The SNI a validator sends for ``identifier``: the name itself, or an IP's reverse-pointer name."""
    try:
        return ipaddress.ip_address(identifier).reverse_pointer
    except ValueError:
        return identifier.lower().rstrip(".")


def challenge_cert(folder: Path, identifier: str, key_authorization_hash: str) -> tuple[Path, Path]:
    """A self-signed RFC 8737 challenge certificate: one SAN (the name, or the IP for RFC 8738) and a
    critical acmeIdentifier extension holding the SHA-256 digest of the key authorization (hex)."""
    digest = bytes.fromhex(key_authorization_hash)
    if len(digest) != 32:
        raise ValueError(f"key authorization hash {key_authorization_hash!r}: give the SHA-256 digest, 64 hex digits")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls-alpn challenge")])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(identifier))
    except ValueError:
        san = x509.DNSName(identifier.lower().rstrip("."))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER, b"\x04\x20" + digest), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    stem = sni_of(identifier).replace("/", "_")
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


class Responder:
    """Answers the TLS handshake with the certificate of the SNI asked for, then closes."""

    def __init__(self, config: Path, fallback: tuple[Path, Path]):
        self.config = config
        self.default = self._context(*fallback)
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.default.sni_callback = self._pick  # type: ignore[assignment]
        self.reload()

    @staticmethod
    def _context(cert: Path, key: Path) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        ctx.set_alpn_protocols([ALPN])
        return ctx

    def reload(self) -> None:
        try:
            mapping = json.loads(self.config.read_text())
        except (OSError, ValueError):
            mapping = {}
        self.contexts = {sni: self._context(Path(c), Path(k)) for sni, (c, k) in mapping.items()}

    def _pick(self, sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name is not None and name.lower() in self.contexts:
            sock.context = self.contexts[name.lower()]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()


async def serve(listen: str, config: Path, fallback: tuple[Path, Path], user: str | None = None) -> None:
    host, _, port = listen.rpartition(":")
    responder = Responder(config, fallback)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, responder.reload)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await asyncio.start_server(responder.handle, host, int(port), ssl=responder.default)
    if user:
        drop_to(user)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m local.daemons.alpn", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="ADDR:PORT (the internet host's TLS-ALPN address, port 443)")
    ap.add_argument("--config", required=True, type=Path, help="JSON {sni: [cert, key]} (SIGHUP reloads it)")
    ap.add_argument("--user", help="run as this user once the port is bound (it must read the config's files)")
    args = ap.parse_args(argv)
    fallback = challenge_cert(args.config.parent / "default", "alpn.invalid", "00" * 32)
    if args.user:
        own(fallback[1], args.user, 0o600)
    asyncio.run(serve(args.listen, args.config, fallback, args.user))


if __name__ == "__main__":  # pragma: no cover - run as a fleet process
    main()
