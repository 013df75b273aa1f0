"""The auditor's bundle: one ``.tar.gz`` of the window's audit lines, the fleet's attestation, a
summary and a manifest; and its verification.

Layout::

    audit/<writer>.jsonl    the window's lines of each writer, as written (evidence.sources)
    attestation.json        the fleet: perspectives with coordinates, RIRs, pairwise distances, the
                            resolver of each, the compliance report as of each BR phase-in date in
                            the window, the build manifest, the kit version, the stack file's SHA-256
    summary.json            requests, outcomes per perspective, quorum results, RIR coverage,
                            attempts below their quorum, writers and chains, the verification
    MANIFEST                ``<sha256>  <path>`` of every other file

:func:`verify` checks the manifest, every writer's chain and the reconciliation
(:mod:`evidence.chain`); it raises :class:`evidence.chain.Broken` naming the first break.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any, Callable, Iterable

from config import br
from config.compliance import check_stack
from config.geo import distance_km
from config.model import StackConfig
from evidence import chain
from evidence.sources import Say, Window

MANIFEST = "MANIFEST"
COMPRESSION = 6
"""gzip level: most of level 9's size in a fraction of its time (the audit lines repeat a lot)."""


def attestation(cfg: StackConfig, stack_file: Path | None, manifest: dict[str, Any] | None, window: Window,
                builds: set[str], today: dt.date | None = None) -> dict[str, Any]:
    """What the fleet was: its perspectives and their distances, resolvers, compliance on each BR
    phase-in date of the window (and at its end), the build."""
    from service import __version__

    today = today or dt.date.today()
    start = dt.date.fromisoformat(window.start[:10]) if window.start else None
    end = dt.date.fromisoformat(window.end[:10]) if window.end else today
    dates = sorted({d for d, _ in br.MIN_REMOTE_PHASES if (start is None or d >= start) and d <= end} | {end})
    points = cfg.locations
    return {
        "stack": cfg.name,
        "target": cfg.target,
        "kit_version": __version__,
        "stack_file_sha256": hashlib.sha256(stack_file.read_bytes()).hexdigest() if stack_file else None,
        "build_manifest": manifest,
        "builds_in_the_records": sorted(builds),
        "primary": _where(cfg.primary) if cfg.primary else None,
        "perspectives": [{**_where(p), "resolver": _resolver(cfg, p.code)} for p in cfg.perspectives],
        "distances_km": {f"{a.code}/{b.code}": round(distance_km(a, b), 1)
                         for i, a in enumerate(points) for b in points[i + 1:]},
        "compliance": [check_stack(cfg, d).to_json() for d in dates],
        "window": {"from": window.start, "to": window.end},
    }


def _where(p: Any) -> dict[str, Any]:
    return {"code": p.code, "city": p.city, "rir": p.rir.value, "lat": p.lat, "lon": p.lon}


def _resolver(cfg: StackConfig, code: str) -> dict[str, Any]:
    spec = cfg.resolver_for(code)
    if spec.location is None and spec.address is None:
        return {"kind": "own", "where": "the perspective's own validating Unbound, in its region, no shared cache"}
    return {"kind": "configured", "location": spec.location.code if spec.location else None, "address": spec.address}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, path: str, data: bytes) -> str:
    info = tarfile.TarInfo(path)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))
    return _digest(data)


def write(out: Path, writers: Iterable[tuple[str, list[str]]], attest: Callable[[set[str]], dict[str, Any]],
          window: Window, say: Say) -> dict[str, Any]:
    """Write the bundle to ``out``, writer by writer (one writer's lines in memory at a time), each
    checked as it goes; ``attest(builds)`` gives the attestation once every line was read (with
    the builds that wrote them). Return the summary (with the verification's outcome)."""
    checker = chain.Checker(lenient_before=_lenient(window))
    digests: dict[str, str] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")  # the bundle appears whole or not at all
    try:
        summary = _write(part, writers, attest, window, say, checker, digests)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    return summary


def _write(part: Path, writers: Iterable[tuple[str, list[str]]], attest: Callable[[set[str]], dict[str, Any]],
           window: Window, say: Say, checker: chain.Checker, digests: dict[str, str]) -> dict[str, Any]:
    broken: chain.Broken | None = None
    with tarfile.open(part, "w:gz", compresslevel=COMPRESSION) as tar:
        for name, lines in writers:
            path = f"audit/{name}.jsonl"
            if broken is None:
                try:
                    checker.writer(path, lines)
                except chain.Broken as exc:
                    broken = exc
            digests[path] = _add(tar, path, ("\n".join(lines) + "\n").encode("utf-8"))
            say(f"evidence: {path}: {len(lines)} lines checked and written")
        try:
            summary = checker.finish() if broken is None else {}
        except chain.Broken as exc:
            broken, summary = exc, {}
        summary["verification"] = {"whole": True} if broken is None else {"whole": False, "first_break": str(broken)}
        summary["window"] = {"from": window.start, "to": window.end}
        for path, data in (("attestation.json", attest(checker.builds)), ("summary.json", summary)):
            digests[path] = _add(tar, path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
        _add(tar, MANIFEST, "".join(f"{d}  {p}\n" for p, d in sorted(digests.items())).encode())
    return summary


def _lenient(window: Window) -> str | None:
    """Perspective lines of a window's first minute may belong to a request recorded before it."""
    if not window.start:
        return None
    start = dt.datetime.fromisoformat(window.start if len(window.start) > 10 else window.start + "T00:00:00+00:00")
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.timezone.utc)
    return (start + dt.timedelta(minutes=1)).isoformat(timespec="microseconds")


def verify(bundle: Path) -> dict[str, Any]:
    """The bundle's summary recomputed from its lines; Broken at the first break: every writer's
    chain and the reconciliation first (a break names ``file:line``), then the manifest (a file
    changed, added or missing)."""
    digests: dict[str, str] = {}
    listed: dict[str, str] = {}
    window: dict[str, Any] = {}
    members: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(bundle, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                digests[member.name] = _digest(data)
                if member.name.startswith("audit/"):
                    members.append((member.name, data))
                elif member.name == "summary.json":
                    window = json.loads(data).get("window") or {}
                elif member.name == MANIFEST:
                    listed = {p: d for d, _, p in (ln.partition("  ") for ln in data.decode().splitlines())}
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise chain.Broken(str(bundle), f"not a readable bundle ({exc})") from None
    checker = chain.Checker(lenient_before=_lenient(Window(window.get("from"), window.get("to"))))
    for name, data in members:
        checker.writer(name, chain.split_lines(data.decode("utf-8", errors="replace")))
    summary = checker.finish()
    if not listed:
        raise chain.Broken(MANIFEST, "no manifest")
    for path in sorted(set(digests) - {MANIFEST}):
        if path not in listed:
            raise chain.Broken(path, "a file the manifest does not list")
        if digests[path] != listed[path]:
            raise chain.Broken(path, "its SHA-256 is not the manifest's: the file was changed")
    for path in sorted(set(listed) - set(digests)):
        raise chain.Broken(path, "listed in the manifest, missing from the bundle")
    summary["verification"] = {"whole": True}
    summary["window"] = window
    return summary
