"""Audit log: one JSON line per perspective result, per attempt and per request.

BR 5.4.1 (items 7-8 as amended for 3.2.2.9): the CA logs, for each validation attempt, the
Network Perspectives used, the domain or IP, each perspective's result and the quorum result
(e.g. "3/4"). Lines are written and flushed one at a time, under a lock, so a clean shutdown
(SIGTERM) loses none.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import threading
from pathlib import Path
from typing import IO, Any


def iso_ns(ns: int) -> str:
    """RFC 3339 UTC timestamp with microseconds from a time.time_ns() value."""
    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.timezone.utc).isoformat(timespec="microseconds")


class AuditLog:
    """Append-only JSON-lines sink: ``"-"`` = stdout, else a file path."""

    def __init__(self, destination: str = "-", role: str = "coordinator", source: str | None = None):
        self.destination = destination
        self.role = role
        self.source = source
        self._lock = threading.Lock()
        self._owns = destination != "-"
        self._stream: IO[str] | None
        if self._owns:
            path = Path(destination)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = open(path, "a", encoding="utf-8", buffering=1)
        else:
            self._stream = sys.stdout

    def write(self, event: str, **fields: Any) -> None:
        record: dict[str, Any] = {"event": event, "role": self.role}
        if self.source is not None:
            record["source"] = self.source
        record.update(fields)
        line = json.dumps(record, separators=(",", ":"), default=str, sort_keys=False) + "\n"
        with self._lock:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(line)
            stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.flush()
                if self._owns:
                    self._stream.close()
                self._stream = None
