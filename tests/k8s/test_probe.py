"""The perspective's exec readiness probe, run for real against a TCP listener and a DNS server."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from plan.k8s.objects import readiness_command


class _Dns(threading.Thread):
    """A one-socket UDP DNS server answering the root SOA (``rcode`` chosen by the test)."""

    def __init__(self, rcode: int = 0, answer: bool = True) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.rcode, self.answer, self.stop = rcode, answer, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            resp = dns.message.make_response(query)
            resp.set_rcode(self.rcode)
            if self.answer:
                resp.answer.append(dns.rrset.from_text(".", 86400, "IN", "SOA",
                                                       "a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"))
            self.sock.sendto(resp.to_wire(), peer)
        self.sock.close()


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def _probe(listen_port: int, resolver_port: int) -> int:
    cmd = readiness_command(listen_port, resolver_port)
    assert cmd[:2] == ["python", "-c"]
    return subprocess.run([sys.executable, "-c", cmd[2]], capture_output=True, timeout=30).returncode


@pytest.mark.parametrize(("rcode", "answer", "ready"), [(0, True, True), (2, False, False), (0, False, False)])
def test_ready_only_when_listening_and_the_resolver_answers(listener, rcode, answer, ready):
    server = _Dns(rcode, answer)
    server.start()
    try:
        assert (_probe(listener, server.port) == 0) is ready
    finally:
        server.stop.set()
        server.join()


def test_not_ready_without_the_listener():
    server = _Dns()
    server.start()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    try:
        assert _probe(port, server.port) != 0
    finally:
        server.stop.set()
        server.join()
