"""Where a stack's audit lines are read from, per target, for a time window.

- local fleet: the writer files in ``/var/lib/mpic-fleet/<stack>/audit/`` (:mod:`local.roles.audit`);
- AWS (hosts, Lambda, the canary): the stack's CloudWatch Logs group, one stream per writer
  (:mod:`plan.audit`), read with boto3 (``logs:FilterLogEvents``), the credentials and region of the
  caller's environment;
- Kubernetes: the sink the operator named (``mpic:audit.sink``): an S3 bucket is read back with
  boto3 (the shipper's objects, per writer, in order); Loki and Elasticsearch are the operator's own
  systems, which the kit does not query: export the window's lines to a folder, one file per
  writer, and give it with ``--from-dir`` (docs/audit.md).

A window keeps, for each writer, the lines from its first line at or after ``start`` to its last
line at or before ``end`` (everything between, so the slice's chain can be checked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

Say = Callable[[str], None]


@dataclass(frozen=True)
class Window:
    start: str | None = None
    """ISO 8601 (a date or a UTC time): lines at or after it."""
    end: str | None = None
    """Lines at or before it (a date includes the whole day)."""

    def __post_init__(self) -> None:
        if self.end is not None and len(self.end) == 10:  # a date: the whole day
            object.__setattr__(self, "end", self.end + "T23:59:59.999999+00:00")

    def slice(self, lines: list[str], at: Callable[[str], str | None]) -> list[str]:
        """The contiguous lines from the first inside the window to the last inside it."""
        inside = [i for i, text in enumerate(lines) if self._inside(at(text))]
        return lines[inside[0]: inside[-1] + 1] if inside else []

    def _inside(self, when: str | None) -> bool:
        if when is None:
            return False
        return (self.start is None or when >= self.start) and (self.end is None or when <= self.end)


def line_time(text: str) -> str | None:
    """The ``at`` of a line without parsing all of it (every line starts with seq, prev, chain, at)."""
    i = text.find('"at":"')
    return text[i + 6: text.find('"', i + 6)] if i >= 0 else None


def from_folder(folder: Path, window: Window, say: Say) -> Iterator[tuple[str, list[str]]]:
    """(writer name, its lines in the window) of every ``*.jsonl`` of ``folder``, one at a time."""
    files = sorted(folder.glob("*.jsonl"))
    for i, path in enumerate(files, 1):
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        kept = window.slice(lines, line_time) if (window.start or window.end) else lines
        say(f"evidence: {path.stem}: {len(kept)} lines read ({i}/{len(files)} writers)")
        if kept:
            yield path.stem, kept


AUDIT_LINE = '{"seq":'
"""How every audit line starts (service.audit): a Lambda's stream also holds the platform's START,
END and REPORT lines, which are not records."""


def writer_name(region: str, stream: str) -> str:
    """A bundle file name for the writer of ``stream`` in ``region`` (a Lambda's stream names hold
    ``/``, ``[`` and ``$``)."""
    return f"{region}--" + re.sub(r"[^A-Za-z0-9._-]+", "_", stream).strip("_")


def from_cloudwatch(logs: Any, group: str, region: str, window: Window, say: Say) -> Iterator[tuple[str, list[str]]]:
    """(writer name, its lines in the window) of CloudWatch Logs group ``group`` in ``region``, one
    writer per log stream (:func:`writer_name`); ``logs``: a boto3 ``logs`` client of that region."""
    kwargs: dict[str, Any] = {"logGroupName": group}
    if window.start:
        kwargs["startTime"] = _millis(window.start)
    if window.end:
        kwargs["endTime"] = _millis(window.end) + 1
    streams: dict[str, list[tuple[int, int, str]]] = {}
    count = 0
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        for event in page.get("events", []):
            if not event["message"].startswith(AUDIT_LINE):
                continue
            streams.setdefault(event["logStreamName"], []).append(
                (event["timestamp"], event.get("ingestionTime", 0), event["message"].rstrip("\n")))
            count += 1
        say(f"evidence: {count} lines from {group} ({len(streams)} writers)")
    for name, events in sorted(streams.items()):
        events.sort(key=lambda e: e[0])  # pages may interleave streams; a stream's own order is kept
        yield writer_name(region, name), [message for _t, _i, message in events]


def from_s3(s3: Any, bucket: str, prefix: str, window: Window, say: Say) -> Iterator[tuple[str, list[str]]]:
    """(writer name, its lines in the window) of the k8s shipper's objects in ``bucket``:
    ``<prefix><writer>/YYYY/MM/DD/HHMMSS-<n>.jsonl`` (:mod:`plan.k8s.audit`), each writer's objects
    in the order the shipper wrote them; ``s3``: a boto3 ``s3`` client."""
    keys: dict[str, list[tuple[tuple[str, int], str]]] = {}
    for start in (prefix, "/" + prefix):  # Fluent Bit's key format begins with "/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=start):
            for item in page.get("Contents", []):
                key = item["Key"]
                parts = key[len(start):].split("/")
                match = re.fullmatch(r"(\d{6})-(\d+)\.jsonl", parts[-1]) if len(parts) == 5 else None
                if match:
                    order = ("/".join(parts[1:4]) + match.group(1), int(match.group(2)))
                    keys.setdefault(parts[0], []).append((order, key))
    say(f"evidence: {sum(map(len, keys.values()))} objects in s3://{bucket}/{prefix} ({len(keys)} writers)")
    for writer, found in sorted(keys.items()):
        lines: list[str] = []
        for _, key in sorted(found):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
            lines += [line for line in body.split("\n") if line]
        kept = window.slice(lines, line_time) if (window.start or window.end) else lines
        say(f"evidence: {writer}: {len(kept)} lines read")
        if kept:
            yield writer, kept


def _millis(iso: str) -> int:
    import datetime as dt

    value = dt.datetime.fromisoformat(iso if len(iso) > 10 else iso + "T00:00:00+00:00")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1000)
