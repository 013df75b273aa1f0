"""Audit log: the BR 5.4.1 records of every validation, one writer per process, numbered and chained.

BR 5.4.1 (items 7-8 as amended for 3.2.2.9): the CA logs, for each validation attempt, the Network
Perspectives used, the domain or IP, each perspective's result and the quorum result (e.g. "3/4");
BR 5.4.3 keeps them two years. Each line (JSON) names its writer — ``role``, ``site`` (a
perspective's region, a coordinator's site), ``replica`` (host, instance, pod or Lambda
environment), the kit ``version`` and ``build`` (the ``source_sha256`` the runtime was built from)
— and carries its place in the writer's chain: ``seq`` (0, 1, 2...), ``chain`` (the writer's run)
and ``prev``, the SHA-256 of the writer's previous line, so a deleted, edited or reordered line
breaks the chain (docs/audit.md; ``mpic evidence verify``). A writer opened on a file that already
holds lines starts its chain with a ``chain_start`` line naming the last line before it (chain,
seq, SHA-256); a line torn by a crash (no newline) is closed and noted there.

The lines of one request are written together: inside :meth:`AuditLog.batch` (the coordinator opens
one per request) records are collected and written with one ``write`` when the batch ends, however
it ends; :meth:`AuditLog.write` with ``now=True`` bypasses the batch (the coordinator's ``request``
line, so a request a crash interrupts is still on record). A write goes straight to the file
descriptor (no user-space buffer), under a lock, so a clean shutdown (SIGTERM) loses none.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from service import __version__

TAIL_BYTES = 1 << 16
"""How much of an existing file a new writer reads to find the last line before it."""


_SECOND: tuple[int, str] = (-1, "")
"""The last second formatted by :func:`iso_ns` and its text (a process writes many lines a second)."""


def iso_ns(ns: int) -> str:
    """RFC 3339 UTC timestamp with microseconds (truncated) from a time.time_ns() value, as
    ``datetime.isoformat(timespec="microseconds")`` writes it: ``2026-12-07T16:19:24.123456+00:00``."""
    global _SECOND
    seconds, rest = divmod(ns, 1_000_000_000)
    last = _SECOND
    if last[0] != seconds:
        last = _SECOND = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{last[1]}.{rest // 1000:06d}+00:00"


def now_iso() -> str:
    return iso_ns(time.time_ns())


def line_sha256(text: str) -> str:
    """The chain's digest of one line (its JSON text, without the newline)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_id() -> str | None:
    """``source_sha256`` of the build this runtime was installed from (``_build.json`` beside this
    module, written into the runtime wheel by ``mpic build``); None when it runs from the source tree."""
    try:
        return json.loads((Path(__file__).parent / "_build.json").read_text())["source_sha256"]
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class Writer:
    """Who writes: the fields every line carries."""

    role: str
    site: str | None
    replica: str
    version: str = __version__
    build: str | None = None

    def fields(self) -> dict[str, Any]:
        return {"role": self.role, "site": self.site, "replica": self.replica, "version": self.version,
                "build": self.build}

    @property
    def name(self) -> str:
        """``<site>--<replica>`` as a file name (the local fleet names each writer's file so)."""
        return writer_name(self.site or self.role, self.replica)


def writer_name(site: str, replica: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{site}--{replica}")


class _Batch:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.open = True


_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("mpic_audit_batch", default=None)
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def last_line(path: Path) -> tuple[str | None, int]:
    """(the last complete line of ``path`` or None, the length of a torn tail after it: 0 when
    the file ends with a newline)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read()
    except OSError:
        return None, 0
    if not tail:
        return None, 0
    torn = 0 if tail.endswith(b"\n") else len(tail) - (tail.rfind(b"\n") + 1)
    complete = tail[: len(tail) - torn].rstrip(b"\n")
    if not complete:
        return None, torn
    return complete.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace"), torn


class AuditLog:
    """Append-only JSON-lines sink of one writer: ``"-"`` = stdout, else a file path."""

    def __init__(self, destination: str = "-", role: str = "coordinator", source: str | None = None, *,
                 site: str | None = None, replica: str | None = None):
        self.destination = destination
        self.writer = Writer(role, site or source, replica or socket.gethostname(), build=build_id())
        self._writer_fields = self.writer.fields()
        self.role = role
        self.chain = uuid.uuid4().hex[:16]
        self.seq = 0
        self.prev: str | None = None
        self._lock = threading.Lock()
        self._fd: int | None = None
        after: dict[str, Any] | None = None
        torn = 0
        if destination != "-":
            path = Path(destination)
            path.parent.mkdir(parents=True, exist_ok=True)
            before, torn = last_line(path)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            if torn:  # a crash cut the last line: close it, so the chain start is a line of its own
                os.write(self._fd, b"\n")
            after = _link(before)
        self.write("chain_start", now=True, after=after, **({"torn_bytes": torn} if torn else {}))

    def write(self, event: str, *, now: bool = False, **fields: Any) -> None:
        """Write one record now, or add it to the batch open in this context (``now``: write it
        at once, batch or not)."""
        record = {"at": now_iso(), "event": event, **self._writer_fields, **fields}
        batch = _BATCH.get()
        if batch is not None and batch.open and not now:
            batch.records.append(record)
        else:
            self._emit([record])

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the records written inside (this task and the tasks it starts) and write them
        with one write when it ends; a batch inside another joins the outer one."""
        if _BATCH.get() is not None and _BATCH.get().open:  # type: ignore[union-attr]
            yield
            return
        batch = _Batch()
        token = _BATCH.set(batch)
        try:
            yield
        finally:
            batch.open = False
            _BATCH.reset(token)
            if batch.records:
                self._emit(batch.records)

    def _emit(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            texts = []
            for record in records:
                text = _encode({"seq": self.seq, "prev": self.prev, "chain": self.chain, **record})
                self.prev = line_sha256(text)
                self.seq += 1
                texts.append(text + "\n")
            data = "".join(texts).encode("utf-8")
            if self._fd is not None:
                while data:  # a regular file takes it whole; loop for the rare short write
                    data = data[os.write(self._fd, data):]
            else:  # "-", or after close(): stdout
                sys.stdout.write(data.decode("utf-8"))
                sys.stdout.flush()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _link(before: str | None) -> dict[str, Any] | None:
    """The ``after`` of a chain start: the last line before it (chain, seq, SHA-256)."""
    if before is None:
        return None
    try:
        record = json.loads(before)
    except ValueError:
        return {"sha256": line_sha256(before), "unreadable": True}
    return {"chain": record.get("chain"), "seq": record.get("seq"), "sha256": line_sha256(before)}
