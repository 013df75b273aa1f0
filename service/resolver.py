"""Per-perspective DNS: one explicit resolver per process, never the process-wide default.

BR 3.2.2.9: a perspective's recursive resolver must sit in the perspective's own RIR and must
not share a cache with any other perspective. Each perspective therefore builds its own
``dns.asyncresolver.Resolver(configure=False)`` from settings (no /etc/resolv.conf, no cache),
and routes every lookup through it: the core's DNS checks, the hostnames of HTTP checks
(aiohttp resolver adapter) and of TLS-ALPN checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from service.addresses import AddressPolicy
from service.settings import ResolverSettings
from service.udp_nameserver import LoopbackUdpNameserver, shares_socket


def build_resolver(settings: ResolverSettings) -> dns.asyncresolver.Resolver:
    """A resolver bound to the configured nameservers and port; no cache, AD bit requested, EDNS0
    (1232-byte payload) so the resolver can say why it failed (Extended DNS Errors, RFC 8914:
    service.caa_lookup). A resolver on loopback is asked through one shared UDP socket
    (service.udp_nameserver); any other through dnspython's fresh socket per query."""
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [LoopbackUdpNameserver(ns, settings.port) if shares_socket(ns)
                            else dns.nameserver.Do53Nameserver(ns, settings.port) for ns in settings.nameservers]
    resolver.timeout = settings.timeout
    resolver.lifetime = settings.lifetime
    resolver.cache = None
    resolver.flags = dns.flags.RD | dns.flags.AD
    resolver.use_edns(0, 0, 1232)
    return resolver


def isolate_default_resolver() -> None:
    """Replace dnspython's process-wide default with one that has no nameservers.

    The core's checkers grab the default resolver when constructed; the kit swaps its own in
    afterwards. With this in place any lookup that still reached the default would fail at once
    instead of silently using the host's /etc/resolv.conf.
    """
    empty = dns.asyncresolver.Resolver(configure=False)
    empty.nameservers = []
    empty.cache = None
    dns.asyncresolver.default_resolver = empty


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


async def resolve_addresses(resolver: dns.asyncresolver.Resolver, host: str, family: int = 0) -> list[tuple[int, str]]:
    """(family, address) pairs for ``host`` through ``resolver``; OSError when there are none."""
    wanted = []
    if family in (0, socket.AF_INET):
        wanted.append((socket.AF_INET, dns.rdatatype.A))
    if family in (0, socket.AF_INET6):
        wanted.append((socket.AF_INET6, dns.rdatatype.AAAA))
    results: list[tuple[int, str]] = []
    errors: list[str] = []
    for fam, rdtype in wanted:
        try:
            answer = await resolver.resolve(dns.name.from_text(host), rdtype)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN) as exc:
            errors.append(type(exc).__name__)
            continue
        except dns.exception.DNSException as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        results.extend((fam, rr.address) for rr in answer)
    if not results:
        raise OSError(f"cannot resolve {host!r} through the perspective's resolver ({'; '.join(errors)})")
    return results


class PerspectiveHostResolver(AbstractResolver):
    """aiohttp resolver that asks the perspective's own resolver (not getaddrinfo)."""

    def __init__(self, resolver: dns.asyncresolver.Resolver):
        self._resolver = resolver

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        if _is_ip(host):
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            pairs = [(fam, host)]
        else:
            pairs = await resolve_addresses(self._resolver, host, int(family))
        return [
            ResolveResult(hostname=host, host=addr, port=port, family=fam, proto=0, flags=socket.AI_NUMERICHOST)
            for fam, addr in pairs
        ]

    async def close(self) -> None:
        return None


class _PeerCertWriter:
    """StreamWriter proxy whose ``get_extra_info("peercert")`` is the DER certificate.

    The core's TLS-ALPN validator gets DER by swapping ``ssl.SSLObject.getpeercert`` process-wide
    for the duration of a check; two concurrent checks in one process race on that swap (one
    of them then gets a dict and fails). The kit disables the swap and answers here instead.
    """

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer = writer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peercert":
            ssl_object = self._writer.get_extra_info("ssl_object")
            return ssl_object.getpeercert(binary_form=True) if ssl_object is not None else default
        return self._writer.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class ResolvingAsyncio:
    """Stand-in for the ``asyncio`` module inside the core's TLS-ALPN validator.

    The validator calls ``asyncio.open_connection(hostname, 443, ...)``, which would resolve
    with getaddrinfo (the host's resolver). This proxy resolves the name with the perspective's
    resolver (when given), checks every address against ``policy`` (service.addresses: no
    reserved destinations) and connects to the checked address (SNI stays the hostname); the
    writer it returns reports the peer certificate as DER. Everything else is the real ``asyncio``.
    """

    def __init__(self, resolver: dns.asyncresolver.Resolver | None, policy: AddressPolicy | None = None):
        self._resolver = resolver
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def open_connection(self, host: str, port: int, **kwargs: Any) -> Any:
        if self._resolver is None or _is_ip(host):
            addresses = [host]
        else:
            addresses = [addr for _fam, addr in await resolve_addresses(self._resolver, host)]
        if self._policy is not None:
            self._policy.check(host, addresses)
        last: OSError | None = None
        for addr in addresses:
            try:
                reader, writer = await asyncio.open_connection(addr, port, **kwargs)
                return reader, _PeerCertWriter(writer)
            except OSError as exc:
                last = exc
        assert last is not None
        raise last


async def resolver_answers(resolver: dns.asyncresolver.Resolver, name: str) -> tuple[bool, str]:
    """Readiness: does the resolver answer an SOA query for ``name``? (True, rcode) / (False, why)."""
    try:
        answer = await resolver.resolve(dns.name.from_text(name), dns.rdatatype.SOA, raise_on_no_answer=False)
        return True, dns.rcode.to_text(answer.response.rcode())
    except dns.resolver.NXDOMAIN:
        return True, "NXDOMAIN"
    except dns.exception.DNSException as exc:
        return False, f"{type(exc).__name__}: {exc}"
