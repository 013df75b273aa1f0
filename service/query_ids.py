"""dnspython's query ids from the operating system's CSPRNG, read in blocks.

dnspython gives every query a 16-bit id from ``random.SystemRandom().randrange(65536)``: a
``getrandom`` system call and Python's rejection sampling for two bytes, about 2% of a CAA
check's CPU (docs/performance.md). :func:`install` points ``dns.entropy.random_16`` at
:func:`random_16`, which hands out ids read from ``os.urandom`` 4,096 at a time. The source is the
same, each id is two bytes of it (uniform over 0..65535, as before), and no id is handed out twice
from a block: a forked child drops the block it inherited, so parent and child never share ids.

The id is what an off-path spoofer has to guess (with the source port, which the perspective's
shared loopback socket fixes: service.udp_nameserver), so it stays the CSPRNG's and is never
derived from a counter or a seeded generator.
"""

from __future__ import annotations

import array
import os

import dns.entropy

BLOCK = 4096
"""Ids read per ``os.urandom`` call."""

_ids: list[int] = []


def _refill() -> None:
    _ids.extend(array.array("H", os.urandom(2 * BLOCK)))


def random_16() -> int:
    """A query id: the next two bytes of the current block (a new block when it is used up)."""
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _refill()


def _forget() -> None:
    _ids.clear()


os.register_at_fork(after_in_child=_forget)


def install() -> None:
    """Make every dnspython message in this process take its id from :func:`random_16` (idempotent)."""
    dns.entropy.random_16 = random_16  # type: ignore[assignment]
