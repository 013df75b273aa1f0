"""The one compliance gate: every path that deploys or starts a fleet passes through it.

``pulumi up`` (the program in ``stacks/program.py``), ``mpic up`` (the local fleet), ``mpic
plan`` (the same program under mocks) and the policy pack call :func:`compliance_gate`. A config
that breaks BR 3.2.2.9 is refused with :class:`~config.errors.NonCompliantError` before anything
exists, unless ``mpic:complianceMode: testing`` marks the stack as a lab: then the gate lets it
through and says so (``LAB: non-compliant``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from config.compliance import Report, check_stack, format_report
from config.errors import NonCompliantError
from config.model import NAMESPACE, StackConfig

LAB_WARNING = ("mpic:complianceMode is 'testing': deploying a fleet that is NOT compliant with BR 3.2.2.9. "
               "LAB USE ONLY: never point a CA at it.")


@dataclasses.dataclass(frozen=True)
class GateDecision:
    """What the gate decided for one config: the report, its text, and whether it is a lab."""

    report: Report
    text: str
    """The findings as text (:func:`config.compliance.format_report`)."""

    @property
    def lab(self) -> bool:
        """Not compliant, let through because ``mpic:complianceMode`` is ``testing``."""
        return not self.report.compliant

    @property
    def verdict(self) -> str:
        """``compliant`` or ``LAB: non-compliant`` (what plans and status lines print)."""
        return "compliant" if self.report.compliant else "LAB: non-compliant"


Advisor = Callable[[StackConfig, Report], Report]
"""Rewrites a report's region fixes with one repaired set (:func:`plan.suggest.advice.advised`,
passed in by the callers above the planners: the rules do not search region sets)."""


def compliance_gate(cfg: StackConfig, today: dt.date | None = None, *, advise: Advisor | None = None) -> GateDecision:
    """Check ``cfg``; raise NonCompliantError (naming every violation and the fix) unless it is
    compliant or a declared lab (``mpic:complianceMode: testing``). ``advise`` names the regions
    of the fixes (without it they point to ``mpic check``)."""
    report = check_stack(cfg, today)
    if advise is not None and report.findings:
        report = advise(cfg, report)
    text = format_report(report, cfg)
    if not report.compliant and cfg.compliance_mode != "testing":
        first = report.violations[0]
        raise NonCompliantError(
            f"{text}\nNothing was deployed (stack '{cfg.name}' is not compliant with the Baseline Requirements: nothing started). "
            f"Fix the violations above (./scripts/mpic check {cfg.name} shows the same report and one repaired "
            f"region set), or set {NAMESPACE}:complianceMode: testing for a lab stack.",
            key=first.message.split(":", 1)[0], value=list(first.regions),
            fix=f"fix the violations, or set {NAMESPACE}:complianceMode: testing for a lab stack", report=report)
    return GateDecision(report=report, text=text)
