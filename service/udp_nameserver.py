"""One UDP socket per process for the perspective's own resolver on loopback.

dnspython's asyncio resolver opens a fresh UDP endpoint (socket, transport, protocol) for every
query and closes it after the answer; profiled under load that was most of a CAA check's CPU
(docs/performance.md). :class:`LoopbackUdpNameserver` keeps one connected UDP socket per event
loop and matches answers to waiting queries by message id and question, as
``dns.asyncquery.receive_udp`` does (``ignore_errors``/``ignore_unexpected``: a datagram that is
not the answer to a waiting query is dropped and the query keeps waiting until its timeout).

Only a resolver on a **loopback** address gets it (``build_resolver`` decides, see
:func:`shares_socket`): a fixed source port gives an off-path spoofer one number less to guess,
which is nothing where nobody off the host can reach the socket, and something across a network
(the Lambda perspectives' VPC resolver keeps dnspython's per-query socket and random port).
Everything else is the stock ``Do53Nameserver``: TCP (``max_size`` or a truncated answer, which
the resolver retries over TCP), an explicit source address or port, and an id already waiting.

The query's wire form comes from :func:`query_wire` when the query is the resolver's plain one (one
question, EDNS without options, no TSIG, no padding): header, name, type, class and the OPT record
written in one pass, byte for byte what ``Message.to_wire`` renders (tests/service/
test_udp_nameserver.py compares both), without the renderer's compression table and reservations;
anything else goes through ``to_wire``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import time
from typing import Any

import dns.asyncbackend
import dns.exception
import dns.inet
import dns.message
import dns.nameserver
import dns.rdatatype

_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_OPT = struct.Struct("!BHHIH")


def shares_socket(address: str) -> bool:
    """May lookups to ``address`` share one long-lived socket? Only a loopback address."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def query_wire(request: dns.message.Message) -> bytes | None:
    """The wire form of a plain query (see the module docstring), or None: let ``to_wire`` render it."""
    if (len(request.question) != 1 or request.answer or request.authority or request.additional
            or request.tsig is not None or request.pad):
        return None
    question = request.question[0]
    if not question.name.is_absolute():
        return None
    opt = request.opt
    if opt is not None and (len(opt) != 1 or opt[0].options):
        return None
    wire = [_HEADER.pack(request.id, request.flags, 1, 0, 0, 0 if opt is None else 1),
            question.name.to_wire(), _QUESTION.pack(question.rdtype, question.rdclass)]
    if opt is not None:  # the root name, OPT, the payload as the class, the extended flags as the TTL, no data
        wire.append(_OPT.pack(0, dns.rdatatype.OPT, opt.rdclass, opt.ttl, 0))
    return b"".join(wire)


def _expire(future: asyncio.Future[Any], timeout: float) -> None:
    if not future.done():
        future.set_exception(dns.exception.Timeout(timeout=timeout))


class _Endpoint(asyncio.DatagramProtocol):
    """The shared socket of one event loop: waiting queries by message id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[dns.message.Message, asyncio.Future[tuple[dns.message.Message, float]], dict[str, Any]]] = {}
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 2:
            return
        entry = self.waiting.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return  # not the answer to a waiting query (late, or someone else's): dropped
        query, future, options = entry
        if future.done():
            return
        try:
            response = dns.message.from_wire(data, keyring=query.keyring, request_mac=query.mac,
                                             raise_on_truncation=True, **options)
        except dns.message.Truncated as exc:
            if query.is_response(exc.message()):
                future.set_exception(exc)  # the resolver asks again over TCP
            return
        except Exception:  # malformed: as dnspython with ignore_errors, keep waiting
            return
        if query.is_response(response):
            future.set_result((response, time.time()))

    def error_received(self, exc: Exception) -> None:
        """An ICMP error (nothing listening yet): ignored, as dnspython's unconnected per-query socket
        never sees one; the waiting queries time out and the resolver retries within its lifetime."""

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for _query, future, _options in list(self.waiting.values()):
            if not future.done():
                future.set_exception(exc or ConnectionError("the resolver socket closed"))


class LoopbackUdpNameserver(dns.nameserver.Do53Nameserver):
    """``Do53Nameserver`` whose UDP queries share one socket per event loop (see the module docstring)."""

    def __init__(self, address: str, port: int = 53):
        super().__init__(address, port)
        self._endpoints: dict[asyncio.AbstractEventLoop, asyncio.Task[_Endpoint]] = {}
        """Each loop's socket, as the task that opens it: concurrent first queries wait for one socket."""

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Endpoint:
        _transport, endpoint = await loop.create_datagram_endpoint(
            _Endpoint, remote_addr=(self.address, self.port), family=dns.inet.af_for_address(self.address),
            proto=socket.IPPROTO_UDP)
        return endpoint

    async def _endpoint(self) -> _Endpoint:
        loop = asyncio.get_running_loop()
        opening = self._endpoints.get(loop)
        if opening is None or (opening.done() and (opening.cancelled() or opening.exception() is not None
                                                   or opening.result().closed)):
            for old in [lp for lp in self._endpoints if lp.is_closed()]:
                del self._endpoints[old]
            opening = self._endpoints[loop] = loop.create_task(self._open(loop))
        return await asyncio.shield(opening)

    async def async_query(self, request: dns.message.QueryMessage, timeout: float, source: str | None,
                          source_port: int, max_size: bool, backend: dns.asyncbackend.Backend,
                          one_rr_per_rrset: bool = False, ignore_trailing: bool = False) -> dns.message.Message:
        endpoint = None if max_size or source or source_port else await self._endpoint()
        if endpoint is None or request.id in endpoint.waiting:
            return await super().async_query(request, timeout, source, source_port, max_size, backend,
                                             one_rr_per_rrset, ignore_trailing)
        begin = time.time()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[dns.message.Message, float]] = loop.create_future()
        endpoint.waiting[request.id] = (request, future,
                                        {"one_rr_per_rrset": one_rr_per_rrset, "ignore_trailing": ignore_trailing})
        expiry = loop.call_later(timeout, _expire, future, timeout)
        try:
            assert endpoint.transport is not None
            wire = query_wire(request)
            endpoint.transport.sendto(request.to_wire() if wire is None else wire)
            response, received = await future
        finally:
            expiry.cancel()
            endpoint.waiting.pop(request.id, None)
        response.time = received - begin
        return response

    def close(self) -> None:
        """Close the socket of every loop still open (tests; a process simply exits)."""
        for loop, opening in self._endpoints.items():
            if not loop.is_closed() and opening.done() and not opening.cancelled() and opening.exception() is None:
                opening.result().transport.close()  # type: ignore[union-attr]
        self._endpoints.clear()
