"""Reading audit lines back: every writer's chain checked, the coordinators' lines reconciled with
the perspectives' own, and the summary an auditor reads.

A writer's file holds one or more chains (service.audit): lines numbered from 0, each carrying the
SHA-256 of the line before it; a restarted writer's ``chain_start`` names the last line before it.
:meth:`Checker.writer` reads one writer's lines as a stream and raises :class:`Broken` at the first
break, naming ``file:line``:

- a line that is not JSON (unless it is a crash's torn tail: the file's last line, or closed and
  noted by the next ``chain_start``'s ``torn_bytes``);
- ``seq`` not one more than the line before, or a ``chain`` that changes without a ``chain_start``
  (a line deleted, or lines reordered);
- ``prev`` not the SHA-256 of the line before (that line was edited, or lines were removed);
- a ``chain_start`` whose ``after`` is not the line before it;
- a whole history (no window) that does not begin with a chain start. A window's slice may begin
  anywhere: its first line is the anchor.

:meth:`Checker.finish` then checks that each result a coordinator recorded as ``pass`` or ``fail`` has
the perspective's own ``check`` line of the same request with the same outcome, and that each
perspective line belongs to a request a coordinator recorded, as a result for that perspective
(or, with an identity mismatch recorded, as an answer for another). A request whose coordinator
died before it finished (``request`` without ``response``) is *interrupted*, not a break. Lines of
a window's first minute may have their counterpart before the window (``lenient_before``).

Only what reconciliation and the summary need is kept of each line, so a bundle of 100,000
requests (1.2 million lines) is checked in a few hundred MB.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable

from service.audit import line_sha256

DECIDED = ("pass", "fail")
"""Coordinator outcomes that came from the perspective's own answer (its line must agree)."""


class Broken(Exception):
    """The first break found: ``where`` (file:line) and why."""

    def __init__(self, where: str, why: str):
        super().__init__(f"{where}: {why}")
        self.where, self.why = where, why


def split_lines(text: str) -> list[str]:
    """A file's lines (a final newline ends the last one)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class Checker:
    """Checks writer after writer (:meth:`writer`), then reconciles and sums up (:meth:`finish`)."""

    def __init__(self, lenient_before: str | None = None):
        self.lenient_before = lenient_before
        self.writers: dict[str, int] = {}
        self.requests: dict[str, str] = {}
        """request id -> where its ``request`` line is."""
        self.responses: dict[str, str] = {}
        """request id -> its outcome."""
        self.results: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        """(request id, perspective) -> [(where, outcome, at)] of the coordinators' results."""
        self.mismatched: set[str] = set()
        self.checks: list[tuple[str, str | None, str, str, str]] = []
        """(where, request id, perspective, outcome, at) of the perspectives' own lines."""
        self.builds: set[str] = set()
        """The builds (``source_sha256``) whose runtimes wrote the lines (each run starts a chain)."""
        self.quorums: Counter[str] = Counter()
        self.rirs: Counter[str] = Counter()
        self.attempts = self.below = self.torn = 0

    def _early(self, at: str) -> bool:
        return self.lenient_before is not None and at < self.lenient_before

    def writer(self, name: str, lines: Iterable[str]) -> int:
        """Check one writer's lines (its whole history unless a window is set); the number of chains."""
        chains = 0
        before_text: str | None = None
        before: dict[str, Any] | None = None
        pending: tuple[str, str] | None = None  # a line that is not JSON: a torn tail only if noted next
        for number, text in enumerate(lines, 1):
            where = f"{name}:{number}"
            if not text:
                continue
            try:
                rec = json.loads(text)
            except ValueError:
                rec = None
            if not isinstance(rec, dict):
                if pending is not None:
                    raise Broken(pending[0], "not a JSON line (edited, or cut without a chain start noting it)")
                pending = (where, text)
                continue
            start = rec.get("event") == "chain_start" and rec.get("seq") == 0
            if pending is not None:
                if not (start and rec.get("torn_bytes") == len(pending[1])):
                    raise Broken(pending[0], "not a JSON line (edited, or cut without a chain start noting it)")
                pending = None
            if before is None and not start and self.lenient_before is None:
                raise Broken(where, "the writer's first line is not the start of a chain: lines before it were removed")
            if start:
                chains += 1
                if rec.get("build"):
                    self.builds.add(str(rec["build"]))
                if before is not None:
                    want = {"chain": before.get("chain"), "seq": before.get("seq"), "sha256": line_sha256(before_text or "")}
                    if rec.get("after") != want:
                        raise Broken(where, f"this chain starts after {rec.get('after')}, but the line before it is "
                                            f"{want}: lines were removed or edited")
                if rec.get("prev") is not None:
                    raise Broken(where, "a chain start with a prev: edited")
            elif before is None:
                chains += 1  # a window's first line: the anchor
            else:
                if rec.get("chain") != before.get("chain"):
                    raise Broken(where, f"chain {rec.get('chain')} follows chain {before.get('chain')} without a "
                                        "chain start: lines were reordered or removed")
                if rec.get("seq") != (before.get("seq") or 0) + 1:
                    raise Broken(where, f"seq {rec.get('seq')} follows seq {before.get('seq')}: a line was deleted, "
                                        "or lines were reordered")
                if rec.get("prev") != line_sha256(before_text or ""):
                    raise Broken(where, f"prev is not the SHA-256 of the line before ({name}:{number - 1}): that "
                                        "line was edited")
            self._keep(where, rec)
            before_text, before = text, rec
        if pending is not None:
            self.torn += 1  # the last line, cut by a crash: the writer has not restarted since
        self.writers[name] = chains
        return chains

    def _keep(self, where: str, rec: dict[str, Any]) -> None:
        event, rid, at = rec.get("event"), rec.get("request_id"), str(rec.get("at", ""))
        if rec.get("role") == "coordinator":
            if event == "request":
                self.requests[rid] = where
            elif event == "response":
                self.responses[rid] = str(rec.get("outcome"))
            elif event == "perspective_result":
                outcome = str(rec.get("outcome"))
                self.results.setdefault((rid, rec.get("perspective")), []).append((where, outcome, at))
                if outcome == "identity_mismatch":
                    self.mismatched.add(rid)
            elif event == "attempt":
                self.attempts += 1
                self.below += not rec.get("is_valid")
                self.quorums[str(rec.get("quorum"))] += 1
                self.rirs.update(rec.get("rirs_passing") or [])
        elif rec.get("role") == "perspective" and event == "check":
            self.checks.append((where, rid, str(rec.get("site")), str(rec.get("outcome")), at))

    def reconcile(self) -> None:
        """Broken at the first line of one side without its counterpart (see the module docstring)."""
        own: dict[tuple[str | None, str], set[str]] = {}
        for _where, rid, code, outcome, _at in self.checks:
            own.setdefault((rid, code), set()).add(outcome)
        for (rid, code), results in self.results.items():
            for where, outcome, at in results:
                if outcome in DECIDED and not self._early(at) and outcome not in own.get((rid, code), ()):
                    raise Broken(where, f"the coordinator recorded {code}'s result {outcome!r} for request {rid}, "
                                        f"but {code} has no such line of its own")
        for where, rid, code, _outcome, at in self.checks:
            if rid is None:
                raise Broken(where, f"{code} ran a check without a request id: no coordinator asked for it")
            if rid not in self.requests:
                if self._early(at):
                    continue
                raise Broken(where, f"{code} checked for request {rid}, which no coordinator recorded")
            if (rid, code) not in self.results and rid in self.responses and rid not in self.mismatched:
                raise Broken(where, f"{code} checked for request {rid}, but its coordinator recorded no result of {code}")

    def summary(self) -> dict[str, Any]:
        """What an auditor reads first: requests and their outcomes, per perspective results, quorum
        results, RIR coverage, attempts below their quorum, writers and chains."""
        per: dict[str, Counter[str]] = {}
        for (_rid, code), results in self.results.items():
            for _where, outcome, _at in results:
                per.setdefault(str(code), Counter())[outcome] += 1
        return {
            "requests": len(self.requests),
            "responses": dict(sorted(Counter(self.responses.values()).items())),
            "interrupted": len(set(self.requests) - set(self.responses)),
            "attempts": self.attempts,
            "attempts_below_quorum": self.below,
            "quorum_results": dict(sorted(self.quorums.items())),
            "rirs_passing": dict(sorted(self.rirs.items())),
            "perspectives": {code: dict(sorted(c.items())) for code, c in sorted(per.items())},
            "perspective_checks": len(self.checks),
            "torn_tails": self.torn,
            "writers": dict(sorted(self.writers.items())),
        }

    def finish(self) -> dict[str, Any]:
        self.reconcile()
        return self.summary()


def check_all(files: Iterable[tuple[str, Iterable[str]]], lenient_before: str | None = None) -> dict[str, Any]:
    """Check every writer's chain, reconcile, summarise; Broken at the first break."""
    checker = Checker(lenient_before)
    for name, lines in files:
        checker.writer(name, lines)
    return checker.finish()
