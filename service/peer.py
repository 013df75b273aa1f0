"""Who is calling a perspective: the client certificate behind each request, and what it may call.

The perspective listener requires a client certificate of the kit CA (service.server); every
certificate of that CA opens the connection, including the load balancers' health-check
certificates. Checks (``/dcv``, ``/caa``) additionally need a certificate whose common name or a
DNS subject alternative name is in ``allowed_clients`` (default ``mpic-coordinator-client``, the
coordinator's name on AWS and Kubernetes); the probes ``/healthz``, ``/readyz`` and ``/metrics``
run nothing and answer any kit certificate.

uvicorn (0.54) does not pass the peer certificate to the app, so :func:`with_tls_scope` (around
uvicorn's httptools or h11 protocol) adds the ASGI TLS extension (``scope["extensions"]["tls"]``: ``client_cert_chain``,
``client_cert_name``, ``tls_version``; https://asgi.readthedocs.io/en/latest/specs/tls.html) to
every request of a TLS connection, and :class:`ClientAllowlist` enforces the names.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from functools import lru_cache
from typing import Any, Awaitable, Callable, Iterable

from cryptography import x509
from cryptography.x509.oid import NameOID
from uvicorn.protocols.http.h11_impl import H11Protocol

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


@lru_cache(maxsize=64)
def certificate_names(pem: str) -> tuple[str | None, tuple[str, ...]]:
    """(common name, DNS subject alternative names) of a PEM certificate; (None, ()) if unreadable."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None, ()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else None
    try:
        sans = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                     .get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        sans = ()
    return cn, sans


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension for one TLS connection."""
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    name = None
    if chain:
        try:
            name = x509.load_pem_x509_certificate(chain[0].encode()).subject.rfc4514_string()
        except ValueError:  # pragma: no cover - OpenSSL verified it already
            name = None
    return {"server_cert": None, "client_cert_chain": chain, "client_cert_name": name, "client_cert_error": None,
            "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""), "cipher_suite": None}


def with_tls_scope(base: type) -> type:
    """``base`` (one of uvicorn's HTTP protocols) with the ASGI TLS extension in every request scope,
    read once per connection."""

    class TlsScope(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                tls = tls_extension(ssl_object)
                app = self.app

                async def with_tls(scope: dict[str, Any], receive: Any, send: Any) -> None:
                    scope.setdefault("extensions", {})["tls"] = tls
                    await app(scope, receive, send)

                self.app = with_tls

    TlsScope.__name__ = TlsScope.__qualname__ = f"TlsScope{base.__name__}"
    return TlsScope


TlsScopeH11Protocol = with_tls_scope(H11Protocol)
"""uvicorn's h11 protocol with the ASGI TLS extension."""


class ClientAllowlist:
    """ASGI middleware: requests outside :data:`PROBE_PATHS` need an allowed client certificate."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]):
        self.app = app
        self.allowed = frozenset(name.lower() for name in allowed)

    def _names(self, scope: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
        chain = ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_chain") or []
        return certificate_names(chain[0]) if chain else (None, ())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        cn, sans = self._names(scope)
        if {n.lower() for n in (cn, *sans) if n} & self.allowed:
            await self.app(scope, receive, send)
            return
        who = f"client certificate {cn!r}" if cn or sans else "a client without a certificate"
        body = json.dumps({"error": "forbidden", "message": (
            f"{who} may not call {scope['path']}: only allowed_clients ({', '.join(sorted(self.allowed))}) run "
            "checks; other kit certificates may call /healthz, /readyz and /metrics")}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
