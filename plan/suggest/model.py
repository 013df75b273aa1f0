"""What ``mpic suggest`` asks and answers: :class:`SuggestRequest`, :class:`Suggestion`, and how a
set is written back into a stack file (``stack_yaml``, :func:`adhoc_config`).

The objective and the search are described in :mod:`plan.suggest` and :mod:`plan.suggest.search`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from config.br import LOOKAHEAD_DAYS, min_remote_perspectives, sizing_date
from config.catalog import Location
from config.errors import ConfigError
from config.model import StackConfig

FIBER_KM_PER_MS = 204.0
"""Light in fibre: ~204 km per millisecond, so an RTT costs >= 1 ms per 102 km of distance."""
DEFAULT_TIME_BUDGET_S = 4.0
DEFAULT_TOLERANCE_KM = 25.0
"""Band of the distance key: the R2 borderline margin, the kit's stated coordinate uncertainty."""
MIN_COUNT = 2


@dataclasses.dataclass(frozen=True)
class SuggestRequest:
    """What ``mpic suggest`` asks for. Iterables are normalised (sets frozen, codes stripped and
    lower-cased: region codes are case-insensitive)."""

    count: int
    """Remote perspectives in the set (``--count``); >= the R3 minimum on ``as_of``."""
    primary: Location | None = None
    """The CA's primary perspective (``--primary CODE`` or ``--primary-site``), or None."""
    providers: frozenset[str] = frozenset({"aws"})
    """Providers whose catalog regions are candidates (``--providers``); default AWS only."""
    include: tuple[str, ...] = ()
    """Region codes that must be in the set (``--include``)."""
    exclude: frozenset[str] = frozenset()
    """Region codes that must not be in the set (``--exclude``)."""
    no_opt_in: bool = False
    """Leave out regions that must be enabled in the account first (``--no-opt-in``)."""
    as_of: dt.date | None = None
    """Date the rules are evaluated for (R3 minimum, R5); default: today."""
    time_budget_s: float = DEFAULT_TIME_BUDGET_S
    """Wall-clock budget of the search; past it the best set found is returned, unproven."""
    region_monthly_usd: Mapping[str, float] | None = None
    """Monthly cost of one perspective region, by code (computed by the CLI from the price model)."""
    max_monthly_usd: float | None = None
    """Budget: the sum of ``region_monthly_usd`` over the set must not exceed it."""
    tolerance_km: float = DEFAULT_TOLERANCE_KM
    """Minimum distances within this of the best one count as equal (see the module docstring)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "providers", frozenset(p.strip().lower() for p in self.providers))
        object.__setattr__(self, "include", tuple(dict.fromkeys(c.strip().lower() for c in self.include)))
        object.__setattr__(self, "exclude", frozenset(c.strip().lower() for c in self.exclude))

    @property
    def evaluation_date(self) -> dt.date:
        return self.as_of or dt.date.today()


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A compliant set of remote perspectives with the figures that justify it."""

    perspectives: tuple[Location, ...]
    """The set, in catalog order (repair: the config's order, replacements in place)."""
    primary: Location | None
    as_of: dt.date
    proven_optimal: bool
    """True when the search finished: no other set is better for the objective."""
    min_pair_km: float
    """Smallest distance between two perspectives of the set, primary included."""
    nearest_pair: tuple[str, str]
    rirs: Mapping[str, int]
    rir_robust: bool
    """Largest single-RIR count <= N - f - 1 (R5 robustness; always true for N = 2)."""
    providers: Mapping[str, int]
    quorum: int
    quorum_rtt_ms_bound: float | None
    """Quorum-th smallest RTT floor from the primary, in ms (None without a primary)."""
    monthly_usd: float | None
    reasons: Mapping[str, str]
    """One sentence per region code: why it is in the set."""
    warnings: tuple[str, ...] = ()
    """``check_stack`` warnings of the set (opt-in regions, one provider, borderline pairs...)."""
    elapsed_s: float = 0.0
    nodes: int = 0
    """Search nodes visited (a measure of the work behind ``proven_optimal``)."""
    replaced: tuple[tuple[str, str], ...] = ()
    """Repair only: (removed, added) pairs, each added region paired with the nearest removed one."""
    request: SuggestRequest | None = None
    """The request that gives this set: ``suggest``'s own, or for a repair the ``--include KEPT
    --exclude REMOVED`` request that reproduces it (None when a custom site is kept)."""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.perspectives)

    @property
    def stack_yaml(self) -> str:
        """A ready block for the ``config:`` map of a stack file (``mpic:primary`` when known)."""
        lines = []
        if self.primary is not None:
            lines.append(f"mpic:primary: {_primary_yaml(self.primary)}")
        lines.append("mpic:perspectives:")
        lines.extend(f"  - {code}" for code in self.codes)
        return "\n".join(lines) + "\n"

    @property
    def sized_for(self) -> dt.date:
        """The date whose BR 3.2.2.9 minimum sized a default set (:func:`config.br.sizing_date`)."""
        return sizing_date(self.as_of)

    @property
    def sizing_line(self) -> str:
        """One line: the rules the set's size was chosen for."""
        return (f"sized for the BR 3.2.2.9 minimum in force on {self.sized_for.isoformat()} "
                f"({min_remote_perspectives(self.sized_for)} remote perspectives): the next phase-in or "
                f"{LOOKAHEAD_DAYS} days after {self.as_of.isoformat()}, whichever is later")

    def to_json(self) -> dict:
        """The ``--json`` document: the issue's keys first, then the extra figures."""
        return {
            "perspectives": list(self.codes),
            "primary": _primary_json(self.primary),
            "proven_optimal": self.proven_optimal,
            "min_pair_km": round(self.min_pair_km, 1),
            "rirs": dict(self.rirs),
            "quorum_rtt_ms_bound": None if self.quorum_rtt_ms_bound is None else round(self.quorum_rtt_ms_bound, 1),
            "monthly_usd": None if self.monthly_usd is None else round(self.monthly_usd, 2),
            "stack_yaml": self.stack_yaml,
            "as_of": self.as_of.isoformat(),
            "sized_for": self.sized_for.isoformat(),
            "nearest_pair": list(self.nearest_pair),
            "rir_robust": self.rir_robust,
            "providers": dict(self.providers),
            "quorum": self.quorum,
            "reasons": dict(self.reasons),
            "warnings": list(self.warnings),
            "replaced": [list(pair) for pair in self.replaced],
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _primary_yaml(primary: Location) -> str:
    if primary.is_custom_site:
        return (f"{{name: {primary.code}, lat: {primary.lat}, lon: {primary.lon}, "
                f"rir: {primary.rir.value}}}")
    return primary.code


def _primary_json(primary: Location | None) -> str | dict | None:
    if primary is None:
        return None
    if primary.is_custom_site:
        return {"name": primary.code, "lat": primary.lat, "lon": primary.lon, "rir": primary.rir.value}
    return primary.code


def rtt_floor_ms(km: float) -> float:
    """Round-trip time floor over ``km`` of great-circle distance: 2 x km / 204 km per ms."""
    return 2.0 * km / FIBER_KM_PER_MS


def config_value(loc: Location) -> str | dict:
    """How a stack file names ``loc``: its code, or a site object for a custom site."""
    if not loc.is_custom_site:
        return loc.code
    return {"name": loc.code, "lat": loc.lat, "lon": loc.lon, "rir": loc.rir.value, "city": loc.city,
            "country": loc.country}


def adhoc_config(perspectives: Sequence[Location], primary: Location | None, on: dt.date) -> StackConfig:
    raw: dict = {"target": "local", "perspectives": [config_value(p) for p in perspectives], "asOf": on}
    if primary is not None:
        raw["primary"] = config_value(primary)
    return StackConfig.from_config(raw)


def refusal(message: str, *, key: str, value: Any = None, fix: str | None = None) -> ConfigError:
    """A ConfigError of ``mpic suggest`` whose fix is the message's last sentence (unless given)."""
    if fix is None:
        last = re.split(r"(?<=[.!?])\s+(?=[A-Z])", message.strip())[-1].rstrip(".")
        fix = last[:1].lower() + last[1:]
    return ConfigError(message, key=key, value=value, fix=fix)
