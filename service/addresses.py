"""Destinations a perspective never connects to: the IANA special-purpose and other reserved ranges.

A DCV check connects where the applicant's DNS (or URL, or redirect) points. Without a guard an
API caller can make every perspective fetch pages from loopback, from the CA's own networks or
from cloud metadata services, and read their first bytes back in the response. So every address
is checked *before* connecting, and the connection goes to the address that was checked (no
second lookup, hence no DNS-rebinding window):

- HTTP checks (website-change, acme-http-01): :class:`GuardedConnector` checks every address the
  perspective's resolver returns, and literal IP hosts, for the first URL and every redirect hop
  (aiohttp asks the connector for each hop). One reserved address refuses the whole name.
- TLS-ALPN checks: ``service.resolver.ResolvingAsyncio`` checks before it connects.
- An explicit ``proxy_url`` is the operator's choice: the proxy's own address is exempt. The
  destinations sent to the proxy are checked (literals directly, names through the perspective's
  resolver) but the proxy resolves names again itself, so the proxy must refuse reserved
  destinations too (e.g. Squid ``http_access deny to_localhost`` and ``to_linklocal``...).

Refused: everything outside IPv6 global unicast (2000::/3) and, inside it and in IPv4, the
ranges of :data:`RESERVED_V4` / :data:`RESERVED_V6`; IPv4-mapped (::ffff:0:0/96) and NAT64
(64:ff9b::/96) addresses are judged by the IPv4 address they carry. A lab lists its own
mini-internet in ``allowed_reserved_networks``; nothing else is ever reachable.
"""

from __future__ import annotations

import errno
import ipaddress
from typing import Any, Iterable, Sequence

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _table(rows: Sequence[tuple[str, str]]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(cidr), label) for cidr, label in rows)


RESERVED_V4 = _table([
    ("0.0.0.0/8", "'this network' (RFC 791, RFC 1122)"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space / CGNAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved / limited broadcast (RFC 1112, RFC 919)"),
])
RESERVED_V6 = _table([
    ("::/128", "unspecified (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("::/96", "deprecated IPv4-compatible (RFC 4291)"),
    ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001::/23", "IETF protocol assignments incl. Teredo (RFC 2928, RFC 4380)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("2002::/16", "6to4 (RFC 3056)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "SRv6 SIDs (RFC 9602)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("fec0::/10", "deprecated site-local (RFC 3879)"),
    ("ff00::/8", "multicast (RFC 4291)"),
])
GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")


class ReservedAddressError(OSError):
    """A destination the perspective refuses to connect to (an OSError, so the core reports it
    as a lookup error: ``check_completed: false``)."""

    def __init__(self, message: str):
        super().__init__(errno.EACCES, message)


def embedded_v4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) address stands for."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64_WELL_KNOWN:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressPolicy:
    """Which destinations a perspective may connect to (see the module docstring)."""

    def __init__(self, allowed: Iterable[Network] = ()):
        self.allowed = tuple(allowed)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allowed)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused (its range and RFC), or None when it may be reached."""
        inner = embedded_v4(address)
        if self._allowed(address) or (inner is not None and self._allowed(inner)):
            return None
        if inner is not None:
            reason = self.refusal(inner)
            kind = "IPv4-mapped" if address.ipv4_mapped is not None else "NAT64"  # type: ignore[union-attr]
            return None if reason is None else f"{kind} address of {inner}, {reason}"
        table = RESERVED_V4 if address.version == 4 else RESERVED_V6
        for net, label in table:
            if address in net:
                return f"{label}, in {net}"
        if address.version == 6 and address not in GLOBAL_UNICAST_V6:
            return "outside IPv6 global unicast 2000::/3 (RFC 4291, IANA IPv6 address space)"
        return None

    def check(self, host: str, addresses: Iterable[str]) -> None:
        """ReservedAddressError when any address of ``host`` is refused."""
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise ReservedAddressError(f"refused {host}: {text!r} is not an IP address") from None
            reason = self.refusal(address)
            if reason is not None:
                via = "" if text == host else f"{host} resolves to "
                raise ReservedAddressError(
                    f"refused {via}{text}: {reason}; perspectives never connect to reserved addresses "
                    "(a lab lists its own networks in allowed_reserved_networks)")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


class GuardedConnector(aiohttp.TCPConnector):
    """aiohttp's connector with every destination checked before connecting (each redirect hop
    comes through here). ``proxy_url``'s own address is exempt; destinations sent to a proxy are
    checked before the proxy is asked."""

    def __init__(self, *, policy: AddressPolicy, resolver: AbstractResolver, proxy_url: str | None = None,
                 **kwargs: Any):
        super().__init__(resolver=resolver, **kwargs)
        self._policy = policy
        self._guard_resolver = resolver
        proxy = URL(proxy_url) if proxy_url else None
        self._exempt = (proxy.raw_host, proxy.port) if proxy is not None else None

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> Any:
        hosts = await super()._resolve_host(host, port, traces=traces)
        if (host, port) != self._exempt:
            self._policy.check(host, [h["host"] for h in hosts])
        return hosts

    async def _create_proxy_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        host = req.url.raw_host
        try:
            if _is_ip(host):
                self._policy.check(host, [host])
            else:
                found = await self._guard_resolver.resolve(host, req.port or 0)
                self._policy.check(host, [r["host"] for r in found])
        except OSError as exc:
            raise aiohttp.ClientConnectorError(req.connection_key, exc) from exc
        return await super()._create_proxy_connection(req, traces, timeout)
