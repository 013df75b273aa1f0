"""What a compliance exhibit of a region set states (``mpic check``/``suggest --map`` and ``--geojson``):
the verdict over time, every pairwise distance and where the coordinates come from.

The verdict is :func:`config.compliance.check_stack`'s (what ``mpic check`` prints and exits on),
taken on the evaluation date and again on every later date a BR 3.2.2.9 requirement takes effect
(:data:`CHANGE_DATES`). The requirements only grow, so a set compliant on its date stays compliant
until the first of those dates on which it is not: "compliant until" names the day before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence

from config.br import MIN_DISTANCE_KM, MIN_REMOTE_PHASES, QUORUM_EFFECTIVE, RIR_EFFECTIVE, min_remote_perspectives
from config.catalog import Location
from config.compliance import Finding, Report, check_stack
from config.geo import distance_km, format_km
from config.model import StackConfig

CHANGE_DATES: tuple[dt.date, ...] = tuple(sorted({start for start, _ in MIN_REMOTE_PHASES}
                                                 | {QUORUM_EFFECTIVE, RIR_EFFECTIVE}))
"""Every date on which a BR 3.2.2.9 requirement grows: the R3 phase-ins, R4's quorum table, R5's RIRs."""

COORDINATE_SOURCE = ("the centre of each region's named city (config/regions.yaml: the providers publish "
                     "city names, not coordinates)")
COORDINATE_UNCERTAINTY_KM = 50
"""How far a region's real hand-off to the Internet may lie from its city-centre coordinates: an
estimate, not a bound. AWS places a region's Availability Zones up to ~100 km apart (AWS Fault
Isolation Boundaries, "Availability Zones"), so a city centre is ~50 km from the farthest of them."""
DISTANCE_METHOD = "WGS84 geodesic (GeographicLib)"
MAX_NAMED = 3
"""Violations named in a verdict's text; more are counted."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A region set's compliance on its evaluation date and how long it lasts."""

    report: Report
    """:func:`check_stack` on the evaluation date."""
    breaks_on: dt.date | None
    """The first day the set is not compliant: the evaluation date itself, or a later date of
    :data:`CHANGE_DATES` (None: compliant on every one)."""
    text: str
    """``compliant until 2026-12-14 (...)``, ``compliant from 2026-12-07 (...)`` or ``NOT compliant ...``."""

    @property
    def as_of(self) -> dt.date:
        return self.report.as_of

    @property
    def compliant(self) -> bool:
        return self.report.compliant

    @property
    def until(self) -> dt.date | None:
        """The last day a compliant set stays compliant (None: not compliant, or no end announced)."""
        if not self.compliant or self.breaks_on is None:
            return None
        return self.breaks_on - dt.timedelta(days=1)

    def to_json(self) -> dict:
        return {"text": self.text, "compliant": self.compliant, "as_of": self.as_of.isoformat(),
                "compliant_until": self.until.isoformat() if self.until else None,
                "breaks_on": self.breaks_on.isoformat() if self.breaks_on else None}


def verdict(cfg: StackConfig, today: dt.date | None = None) -> Verdict:
    """``cfg``'s verdict on its evaluation date (``mpic:asOf``, else ``today``, else the real date)
    and, when compliant, until when (BR 3.2.2.9's coming requirements checked on their dates)."""
    report = check_stack(cfg, today)
    on = report.as_of
    if not report.compliant:
        return Verdict(report, on, f"NOT compliant as of {on.isoformat()}: {_named(report.violations, cfg, on)}")
    for day in (d for d in CHANGE_DATES if d > on):
        later = check_stack(cfg.model_copy(update={"as_of": day}))
        if not later.compliant:
            last = day - dt.timedelta(days=1)
            return Verdict(report, day, f"compliant until {last.isoformat()} (from {day.isoformat()}: "
                                        f"{_named(later.violations, cfg, day)})")
    return Verdict(report, None, f"compliant from {on.isoformat()} (every announced BR 3.2.2.9 phase-in met)")


def _named(findings: Sequence[Finding], cfg: StackConfig, on: dt.date) -> str:
    shown = [_short(f, cfg, on) for f in findings[:MAX_NAMED]]
    rest = len(findings) - len(shown)
    return "; ".join(shown) + (f"; and {rest} more" if rest else "")


def _short(f: Finding, cfg: StackConfig, on: dt.date) -> str:
    """One violation in a few words: ``R1 eu-west-2 - eu-west-3 344 km < 500 km``."""
    if f.distance_km is not None and len(f.regions) == 2:
        return f"{f.rule} {f.regions[0]} - {f.regions[1]} {format_km(f.distance_km)} < {MIN_DISTANCE_KM:.0f} km"
    if f.rule == "R3":
        return f"R3 {cfg.cohort_size} remote perspectives < {min_remote_perspectives(on)}"
    return f"{f.rule} {f.message.split(';')[0]}"


def violating_pairs(report: Report) -> list[tuple[str, str, float]]:
    """The pairs of locations R1 finds under 500 km apart (primary included): (code, code, km)."""
    return [(f.regions[0], f.regions[1], f.distance_km) for f in report.violations
            if f.rule == "R1" and f.distance_km is not None and len(f.regions) == 2]


def pairwise_km(points: Sequence[Location]) -> list[tuple[str, str, float]]:
    """Every pair of ``points`` with its distance (:func:`config.geo.distance_km`, the distance
    every rule measures), nearest first; a pair's codes in the order of ``points``."""
    pairs = [(a.code, b.code, distance_km(a, b)) for a, b in itertools.combinations(points, 2)]
    return sorted(pairs, key=lambda p: (p[2], p[0], p[1]))


__all__ = ["CHANGE_DATES", "COORDINATE_SOURCE", "COORDINATE_UNCERTAINTY_KM", "DISTANCE_METHOD", "Verdict",
           "pairwise_km", "verdict", "violating_pairs"]
