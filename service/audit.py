"""Audit log: one JSON line per perspective result, per attempt and per request.

BR 5.4.1 (items 7-8 as amended for 3.2.2.9): the CA logs, for each validation attempt, the
Network Perspectives used, the domain or IP, each perspective's result and the quorum result
(e.g. "3/4"). Every line is kept; the lines of one request are written together: inside
:meth:`AuditLog.batch` (the coordinator opens one per request) lines are collected and written
with one ``write`` when the batch ends, however it ends (answer, error, cancellation). A write
goes straight to the file descriptor (no user-space buffer), under a lock, so a clean shutdown
(SIGTERM) loses none.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Iterator


def iso_ns(ns: int) -> str:
    """RFC 3339 UTC timestamp with microseconds from a time.time_ns() value."""
    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc).isoformat(timespec="microseconds")


class _Batch:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.open = True


_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("mpic_audit_batch", default=None)
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


class AuditLog:
    """Append-only JSON-lines sink: ``"-"`` = stdout, else a file path."""

    def __init__(self, destination: str = "-", role: str = "coordinator", source: str | None = None):
        self.destination = destination
        self.role = role
        self.source = source
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False
        if destination != "-":
            path = Path(destination)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def line(self, event: str, **fields: Any) -> str:
        """One audit record as a JSON line."""
        record: dict[str, Any] = {"event": event, "role": self.role}
        if self.source is not None:
            record["source"] = self.source
        record.update(fields)
        return _encode(record) + "\n"

    def write(self, event: str, **fields: Any) -> None:
        """Write one record now, or add it to the batch open in this context."""
        text = self.line(event, **fields)
        batch = _BATCH.get()
        if batch is not None and batch.open:
            batch.lines.append(text)
        else:
            self._emit(text)

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
            if batch.lines:
                self._emit("".join(batch.lines))

    def _emit(self, text: str) -> None:
        data = text.encode("utf-8")
        with self._lock:
            if self._fd is not None:
                while data:  # a regular file takes it whole; loop for the rare short write
                    data = data[os.write(self._fd, data):]
            else:  # "-", or after close(): stdout
                sys.stdout.write(text)
                sys.stdout.flush()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._closed = True
