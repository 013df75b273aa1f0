"""service.udp_nameserver: one shared UDP socket to a loopback resolver, answers matched by id."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import dns.asyncbackend
import dns.asyncresolver
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import pytest

from service.resolver import build_resolver
from service.settings import ResolverSettings
from service.udp_nameserver import LoopbackUdpNameserver, query_wire, shares_socket

Reply = Callable[[dns.message.Message, bytes], list[bytes]]


def answer(query: dns.message.Message, text: str = "0 issue \"ca.example\"") -> bytes:
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "CAA", text))
    return response.to_wire()


class Server(asyncio.DatagramProtocol):
    """A scripted UDP 'resolver': ``reply(query, wire)`` gives the datagrams to send back."""

    def __init__(self, reply: Reply):
        self.reply = reply
        self.sources: list[int] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.sources.append(addr[1])
        for out in self.reply(dns.message.from_wire(data), data):
            self.transport.sendto(out, addr)


async def serve(reply: Reply) -> tuple[Server, int]:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(lambda: Server(reply), local_addr=("127.0.0.1", 0))
    return server, transport.get_extra_info("sockname")[1]


def query(name: str = "caa.mpic.test.") -> dns.message.QueryMessage:
    q = dns.message.make_query(name, dns.rdatatype.CAA)
    assert isinstance(q, dns.message.QueryMessage)
    return q


async def ask(ns: LoopbackUdpNameserver, q: dns.message.Message, timeout: float = 2.0, **kw: Any) -> dns.message.Message:
    return await ns.async_query(q, timeout=timeout, source=kw.pop("source", None), source_port=kw.pop("source_port", 0),
                                max_size=kw.pop("max_size", False), backend=dns.asyncbackend.get_default_backend(), **kw)


def endpoint_of(ns: LoopbackUdpNameserver) -> Any:
    """The shared socket (its protocol) ``ns`` opened on the running loop."""
    return ns._endpoints[asyncio.get_running_loop()].result()


def test_only_loopback_resolvers_share_a_socket() -> None:
    assert shares_socket("127.0.0.1") and shares_socket("127.3.2.1") and shares_socket("::1")
    assert not shares_socket("10.0.0.2") and not shares_socket("169.254.169.253") and not shares_socket("fd00::2")
    assert not shares_socket("resolver.internal")
    resolver = build_resolver(ResolverSettings(nameservers=["127.0.0.1", "10.0.0.2"], port=5353))
    assert [type(ns).__name__ for ns in resolver.nameservers] == ["LoopbackUdpNameserver", "Do53Nameserver"]
    assert {ns.port for ns in resolver.nameservers} == {5353}


def test_concurrent_queries_share_one_socket_and_get_their_own_answers() -> None:
    async def main() -> None:
        held: list[tuple[dns.message.Message, Any]] = []

        def reply(q: dns.message.Message, _wire: bytes) -> list[bytes]:
            held.append((q, None))
            if len(held) < 3:
                return []
            # answer all three at once, in reverse order: each must reach its own query
            return [answer(m, f"0 issue \"{m.question[0].name.labels[0].decode()}\"") for m, _ in reversed(held)]

        server, port = await serve(reply)
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        names = ["a.mpic.test.", "b.mpic.test.", "c.mpic.test."]
        got = await asyncio.gather(*(ask(ns, query(n)) for n in names))
        assert [r.answer[0][0].value.decode() for r in got] == ["a", "b", "c"]
        assert all(r.time >= 0 for r in got)
        again = await ask(ns, query("a.mpic.test."))
        assert again.answer
        assert len(set(server.sources)) == 1  # four queries, one source port
        ns.close()
    asyncio.run(main())


def test_a_stray_or_malformed_datagram_is_dropped_and_the_real_answer_taken() -> None:
    async def main() -> None:
        def reply(q: dns.message.Message, wire: bytes) -> list[bytes]:
            other = query("other.mpic.test.")
            other.id = q.id  # same id, another question: not the answer
            stray = query()
            stray.id = (q.id + 1) % 65536  # nobody waits for this id
            return [b"\x00", wire[:2] + b"\xff\xff", answer(other), answer(stray), answer(q)]

        _server, port = await serve(reply)
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        q = query()
        response = await ask(ns, q)
        assert q.is_response(response) and response.answer[0].name == q.question[0].name
        endpoint = endpoint_of(ns)
        done = asyncio.get_running_loop().create_future()
        done.set_result("first")
        endpoint.waiting[q.id] = (q, done, {})
        endpoint.datagram_received(answer(q), ("127.0.0.1", port))  # a duplicate answer: the first one stands
        assert done.result() == "first"
        ns.close()
    asyncio.run(main())


def test_no_answer_times_out_as_dnspython_does() -> None:
    async def main() -> None:
        _server, port = await serve(lambda q, w: [])
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        with pytest.raises(dns.exception.Timeout):
            await ask(ns, query(), timeout=0.2)
        endpoint = endpoint_of(ns)
        assert endpoint.waiting == {}  # the timed-out query is forgotten
        ns.close()
    asyncio.run(main())


def test_nothing_listening_is_a_timeout_not_a_crash() -> None:
    async def main() -> None:
        server, port = await serve(lambda q, w: [])
        server.transport.close()  # the port is now closed: ICMP port unreachable
        await asyncio.sleep(0)
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        with pytest.raises(dns.exception.Timeout):
            await ask(ns, query(), timeout=0.3)
        ns.close()
    asyncio.run(main())


def test_a_truncated_answer_sends_the_resolver_to_tcp() -> None:
    async def main() -> None:
        def reply(q: dns.message.Message, _wire: bytes) -> list[bytes]:
            r = dns.message.make_response(q)
            r.flags |= dns.flags.TC
            return [r.to_wire()]

        _server, port = await serve(reply)
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        with pytest.raises(dns.message.Truncated):
            await ask(ns, query())
        ns.close()
    asyncio.run(main())


def test_tcp_a_source_or_a_waiting_id_use_dnspythons_own_socket(monkeypatch: Any) -> None:
    async def main() -> None:
        server, port = await serve(lambda q, w: [answer(q)])
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        calls: list[bool] = []
        stock = dns.nameserver.Do53Nameserver.async_query

        async def spy(self: Any, request: Any, timeout: float, source: Any, source_port: int, max_size: bool,
                      backend: Any, *a: Any) -> Any:
            calls.append(max_size)
            if max_size:
                return "tcp"
            return await stock(self, request, timeout, source, source_port, max_size, backend, *a)

        monkeypatch.setattr(dns.nameserver.Do53Nameserver, "async_query", spy)
        assert await ask(ns, query(), max_size=True) == "tcp"
        assert (await ask(ns, query(), source="127.0.0.1")).answer
        shared = await ask(ns, query())
        first = query()
        endpoint = endpoint_of(ns)
        endpoint.waiting[first.id] = endpoint.waiting.get(first.id) or (first, asyncio.get_running_loop().create_future(), {})
        assert (await ask(ns, first)).answer  # its id is taken: a socket of its own
        assert calls == [True, False, False] and shared.answer
        assert len(set(server.sources)) == 3  # the source query, the shared socket, the id collision
        ns.close()
    asyncio.run(main())


def test_a_closed_socket_fails_its_waiters_and_the_next_query_opens_a_new_one() -> None:
    async def main() -> None:
        server, port = await serve(lambda q, w: [])
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        pending = asyncio.ensure_future(ask(ns, query(), timeout=5))
        await asyncio.sleep(0.05)
        endpoint = endpoint_of(ns)
        endpoint.transport.close()
        with pytest.raises(ConnectionError):
            await pending
        server.reply = lambda q, w: [answer(q)]
        assert (await ask(ns, query())).answer
        assert endpoint_of(ns) is not endpoint
        ns.close()
    asyncio.run(main())


def test_each_event_loop_gets_its_own_socket_and_closed_loops_are_forgotten() -> None:
    ns: LoopbackUdpNameserver | None = None

    async def once() -> None:
        nonlocal ns
        _server, port = await serve(lambda q, w: [answer(q)])
        if ns is None:
            ns = LoopbackUdpNameserver("127.0.0.1", port)
        ns.port = port
        assert (await ask(ns, query())).answer

    asyncio.run(once())
    asyncio.run(once())
    assert ns is not None and len(ns._endpoints) == 1  # the first loop's endpoint went with its loop
    ns.close()


def test_the_resolver_answers_through_the_shared_socket() -> None:
    async def main() -> None:
        server, port = await serve(lambda q, w: [answer(q)])
        resolver = build_resolver(ResolverSettings(nameservers=["127.0.0.1"], port=port))
        for _ in range(3):
            got = await resolver.resolve("caa.mpic.test.", dns.rdatatype.CAA)
            assert got.rrset is not None and got.rrset[0].tag == b"issue"
        assert len(server.sources) == 3 and len(set(server.sources)) == 1
        resolver.nameservers[0].close()
    asyncio.run(main())


def _queries() -> list[dns.message.Message]:
    """Queries as the resolver builds them, and variations of every field query_wire writes."""
    out: list[dns.message.Message] = []
    names = ["caa.mpic.test.", ".", "xn--bcher-kva.example.", "MiXeD.Case.Example.", r"a\.b\032c.example.",
             ".".join(["l" * 63] * 3) + "."]
    for name in names:
        for rdtype in ("CAA", "TXT", "A", "AAAA", "CNAME", "DS", "TYPE65534"):
            out.append(dns.message.make_query(name, rdtype, use_edns=0, payload=1232))
    variants = [
        dict(use_edns=False), dict(use_edns=0, payload=512), dict(use_edns=0, payload=65535),
        dict(use_edns=0, want_dnssec=True, payload=4096), dict(use_edns=1, payload=1400),
        dict(use_edns=0, ednsflags=dns.flags.DO | 0x0001, payload=1232), dict(rdclass="CH", use_edns=0),
    ]
    for kw in variants:
        out.append(dns.message.make_query("caa.mpic.test.", "CAA", **kw))
    for flags in (dns.flags.RD | dns.flags.AD, dns.flags.RD | dns.flags.CD, 0, dns.flags.AD):
        q = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=0, payload=1232)
        q.flags = flags
        out.append(q)
    q = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=0)
    q.set_opcode(dns.opcode.NOTIFY)
    q.id = 0xFFFF
    out.append(q)
    return out


def test_query_wire_is_to_wire_byte_for_byte() -> None:
    queries = _queries()
    assert len(queries) > 50
    for q in queries:
        assert query_wire(q) == q.to_wire(), q.question
    # the resolver's own query, as build_resolver sets it up
    resolver = build_resolver(ResolverSettings(nameservers=["127.0.0.1"]))
    request = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=resolver.edns, ednsflags=resolver.ednsflags,
                                     payload=resolver.payload)
    request.flags = resolver.flags
    assert query_wire(request) == request.to_wire() and len(request.to_wire()) == 42


def test_query_wire_leaves_anything_but_a_plain_query_to_to_wire() -> None:
    with_option = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=0,
                                         options=[dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"12345678")])
    padded = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=0, pad=128)
    signed = dns.message.make_query("caa.mpic.test.", "CAA")
    signed.use_tsig(dns.tsigkeyring.from_text({"k.": "c2VjcmV0c2VjcmV0c2VjcmV0"}), keyname="k.")
    two = dns.message.make_query("caa.mpic.test.", "CAA")
    two.question.append(dns.rrset.RRset(dns.name.from_text("b.mpic.test."), dns.rdataclass.IN, dns.rdatatype.A))
    relative = dns.message.make_query(dns.name.from_text("caa", None), "CAA")
    update = dns.message.make_query("caa.mpic.test.", "CAA")
    update.additional.append(dns.rrset.from_text("x.mpic.test.", 60, "IN", "A", "192.0.2.1"))
    for message in (with_option, padded, signed, two, relative, update):
        assert query_wire(message) is None
    assert query_wire(with_option) is None and len(with_option.to_wire()) > 42


def test_a_query_that_query_wire_leaves_alone_still_goes_out() -> None:
    """A query with an EDNS option is rendered by to_wire and answered over the shared socket."""

    async def main() -> None:
        server, port = await serve(lambda q, wire: [answer(q)])
        ns = LoopbackUdpNameserver("127.0.0.1", port)
        q = dns.message.make_query("caa.mpic.test.", "CAA", use_edns=0,
                                   options=[dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"12345678")])
        try:
            response = await ask(ns, q)
            assert response.answer[0].rdtype == dns.rdatatype.CAA
        finally:
            ns.close()
            server.transport.close()

    asyncio.run(main())
