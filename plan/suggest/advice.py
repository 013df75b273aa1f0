"""One repair behind every sentence that says which regions to move.

The rules (:mod:`config.compliance`) say what is wrong and leave the regions to move to
:data:`~config.compliance.REPAIR_HINT`. :func:`advise` runs :func:`plan.suggest.repair.repair` once
for a report and rewrites the fix of every finding a different region set fixes (R1, R3 and R5,
violations and their warnings of a coming phase-in) with that one set's changes. ``mpic check``,
``mpic plan`` (text and JSON) and the program's refusal (``pulumi up``) all call it, so they name
the same regions as the repaired set they print and as ``mpic suggest`` with the printed request.

A config compliant today whose R3 or R5 warning names a coming phase-in is repaired for the first
date it would break (the repaired set is then sized by :func:`config.br.sizing_date` of that date).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from config.compliance import Finding, Report, check_stack
from config.errors import ConfigError
from config.exhibit import CHANGE_DATES
from config.model import StackConfig
from plan.suggest.model import Suggestion
from plan.suggest.repair import REGION_RULES, repair


@dataclasses.dataclass(frozen=True)
class Advice:
    """A report whose region fixes name one repaired set, and that set."""

    report: Report
    repaired: Suggestion | None = None
    why_not: str | None = None
    """Why no repaired set exists (the repair's refusal), when one was needed."""
    for_date: dt.date | None = None
    """The date the set was repaired for: the report's date, or the coming phase-in a warning names."""

    @property
    def upcoming(self) -> bool:
        """Repaired for a coming phase-in: the config is compliant until then."""
        return self.for_date is not None and self.for_date != self.report.as_of


def changes(s: Suggestion) -> str:
    """``replace us-east-1 with mx-central-1, replace eu-west-3 with us-west-2 and add us-west-1``."""
    swaps = [f"replace {old} with {new}" for old, new in s.replaced if old]
    added = [new for old, new in s.replaced if not old]
    parts = swaps + ([f"add {', '.join(added)}"] if added else [])
    if not parts:
        return "keep the regions"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def fix_sentence(s: Suggestion, for_date: dt.date, today: dt.date) -> str:
    """The fix every repairable finding of one report ends with."""
    when = "" if for_date == today else f" for {for_date.isoformat()}"
    return f"The closest compliant set{when}: {changes(s)} (mpic:perspectives: {', '.join(s.codes)})."


def breaking_date(cfg: StackConfig, report: Report) -> dt.date | None:
    """The first date on which ``cfg``'s regions break a rule a different set fixes: the report's
    date when they already do, else the first coming phase-in (R3 count, R5 RIRs) that breaks them;
    None when neither does."""
    if any(f.rule in REGION_RULES and f.fix for f in report.violations):
        return report.as_of
    if not any(f.rule in REGION_RULES and f.fix for f in report.warnings):
        return None
    for day in (d for d in CHANGE_DATES if d > report.as_of):
        later = check_stack(cfg.model_copy(update={"as_of": day}))
        if any(f.rule in REGION_RULES and f.fix for f in later.violations):
            return day
    return None  # pragma: no cover - a repairable warning always names a coming phase-in


def advise(cfg: StackConfig, report: Report | None = None, *, today: dt.date | None = None) -> Advice:
    """``report`` (default: :func:`check_stack` of ``cfg``) with one repaired set behind its region fixes."""
    report = report if report is not None else check_stack(cfg, today)
    day = breaking_date(cfg, report)
    if day is None:
        return Advice(report)
    try:
        repaired = repair(cfg.model_copy(update={"as_of": day}))
    except ConfigError as exc:  # no compliant set of that size: the findings keep their own fix
        return Advice(report, why_not=str(exc), for_date=day)
    if repaired is None:  # pragma: no cover - breaking_date found a region violation on that day
        return Advice(report, for_date=day)
    fix = fix_sentence(repaired, day, report.as_of)
    findings = tuple(_refix(f, fix) if f.rule in REGION_RULES and f.fix else f for f in report.findings)
    return Advice(dataclasses.replace(report, findings=findings), repaired, None, day)


def advised(cfg: StackConfig, report: Report) -> Report:
    """:func:`advise`'s report alone (the gate's ``advise`` hook, :data:`config.gate.Advisor`)."""
    return advise(cfg, report).report


def _refix(finding: Finding, fix: str) -> Finding:
    return dataclasses.replace(finding, message=f"{finding.problem} {fix}", fix=fix)


__all__ = ["Advice", "advise", "advised", "breaking_date", "changes", "fix_sentence"]
