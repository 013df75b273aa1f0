"""service.query_ids: dnspython's query ids come from os.urandom, two bytes each, a block at a
time, never handed out twice and never shared with a forked child."""

from __future__ import annotations

import array
import os

import dns.entropy
import dns.message
import pytest

from service import query_ids


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """An empty block and a record of every ``os.urandom`` call's size."""
    monkeypatch.setattr(query_ids, "_ids", [])
    calls: list[int] = []
    real = os.urandom

    def counted(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(query_ids.os, "urandom", counted)
    return calls


def test_ids_are_the_urandom_bytes_two_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_ids, "_ids", [])
    block = bytes(range(256)) * (2 * query_ids.BLOCK // 256)
    monkeypatch.setattr(query_ids.os, "urandom", lambda n: block[:n])
    ids = [query_ids.random_16() for _ in range(query_ids.BLOCK)]
    assert sorted(ids) == sorted(array.array("H", block))
    assert all(0 <= i <= 0xFFFF for i in ids)


def test_one_urandom_call_per_block(fresh: list[int]) -> None:
    ids = [query_ids.random_16() for _ in range(query_ids.BLOCK + 1)]
    assert fresh == [2 * query_ids.BLOCK, 2 * query_ids.BLOCK]
    assert len(set(ids)) > query_ids.BLOCK * 0.9  # 4,097 draws from 65,536 values: few repeats


def test_a_forked_child_drops_the_inherited_block(fresh: list[int]) -> None:
    query_ids.random_16()
    assert len(query_ids._ids) == query_ids.BLOCK - 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.write(write, str(len(query_ids._ids)).encode())
        os._exit(0)
    os.close(write)
    child_left = int(os.read(read, 16))
    os.close(read)
    os.waitpid(pid, 0)
    assert child_left == 0
    assert len(query_ids._ids) == query_ids.BLOCK - 1


def test_install_gives_dnspython_messages_their_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns.entropy, "random_16", dns.entropy.random_16)
    monkeypatch.setattr(query_ids, "_ids", [7, 6, 5])
    query_ids.install()
    assert dns.entropy.random_16 is query_ids.random_16
    assert [dns.message.make_query("example.com.", "CAA").id for _ in range(3)] == [5, 6, 7]
