"""The closest compliant region set to a config (``mpic check`` prints it once per report).

:func:`repair` keeps as many of the config's regions as any compliant set can, then picks, among
the sets that keep that many, the one :func:`plan.suggest.suggest` ranks best. Each candidate is
exactly what ``mpic suggest --include KEPT --exclude REMOVED`` answers, so the command printed
next to the repaired set (:attr:`Suggestion.request`) reproduces it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence

from config.br import MIN_DISTANCE_KM, min_remote_perspectives, sizing_date
from config.catalog import Location
from config.compliance import check_stack
from config.geo import distance_km
from config.model import StackConfig
from plan.suggest.best import build_suggestion
from plan.suggest.band import Outcome, phase_b
from plan.suggest.checks import candidate_pool
from plan.suggest.model import (
    DEFAULT_TIME_BUDGET_S,
    DEFAULT_TOLERANCE_KM,
    MIN_COUNT,
    SuggestRequest,
    Suggestion,
    adhoc_config,
    refusal,
)
from plan.suggest.search import Clock, Problem, SearchTimeout, phase_a

REGION_RULES = frozenset({"R1", "R3", "R5"})
"""The rules whose violations a different region set can fix."""


def repair(cfg: StackConfig, *, providers: Iterable[str] | None = None, no_opt_in: bool = False,
           today: dt.date | None = None, time_budget_s: float = DEFAULT_TIME_BUDGET_S,
           tolerance_km: float = DEFAULT_TOLERANCE_KM, region_monthly_usd: Mapping[str, float] | None = None,
           max_monthly_usd: float | None = None) -> Suggestion | None:
    """The compliant region set closest to ``cfg``'s: fewest replacements, then the objective of
    :func:`plan.suggest.suggest` (its module docstring), by exact search over which of the config's regions
    to keep; among those that keep as many, the winner is what its :attr:`Suggestion.request` answers.

    Returns None when the config's region set (primary included) breaks none of R1, R3 and R5
    (findings of other rules, e.g. R6 resolvers, are not fixed by moving regions). The size of the
    repaired set is the config's number of perspectives, raised to the R3 minimum in force within
    the look-ahead of the evaluation date (``cfg.as_of``, else ``today``, else the real date;
    :func:`config.br.sizing_date`: a repaired set does not fall out of compliance at the next phase-in). ``providers`` defaults
    to the providers of the config's catalog regions; custom sites are kept when they fit.
    ``Suggestion.replaced`` pairs each removed region with the added region nearest to it;
    ``perspectives`` keeps the config's order with each replacement in its predecessor's place.
    Raises ConfigError when no compliant set of that size exists with these filters.
    """
    on = cfg.evaluation_date(today)
    primary = cfg.primary
    originals = list(cfg.perspectives)
    probe = check_stack(adhoc_config(originals, primary, on))
    if not any(f.rule in REGION_RULES for f in probe.violations):
        return None
    count = max(len(originals), min_remote_perspectives(sizing_date(on)), MIN_COUNT)
    provs = set(providers) if providers is not None else {p.provider for p in originals if not p.is_custom_site}
    provs = provs or {"aws"}
    priced = region_monthly_usd if max_monthly_usd is not None else None
    free = candidate_pool(provs, {p.code for p in originals}, no_opt_in, primary, priced)
    clock = Clock(time_budget_s)
    multi = len(provs) > 1

    found: list[tuple[Problem, list[int], bool, bool, list[Location]]] = []
    complete = True
    try:
        for k in range(min(len(originals), count), -1, -1):
            if k + len(free) < count:
                break  # too few candidates left to fill the set, and keeping fewer leaves fewer
            for kept in _kept_sets(originals, primary, priced, k, clock):
                problem = Problem(count, primary, free, kept, region_monthly_usd, max_monthly_usd, multi)
                best, robust, proven = phase_a(problem, clock)
                if best is None and not proven:
                    raise SearchTimeout
                if best is not None:
                    found.append((problem, best, robust, proven, list(kept)))
            if found:
                break
    except SearchTimeout:
        complete = False  # kept sets left unexamined: the answer is not proven
        if not found:
            raise refusal(f"mpic:perspectives: no compliant set of {count} was found within the time budget of "
                          f"{time_budget_s:g} s. Give the search more time.", key="mpic:perspectives",
                          value=list(cfg.codes)) from None
    if not found:
        raise refusal(f"mpic:perspectives: no compliant set of {count} remote perspectives exists among the "
                      f"{', '.join(sorted(provs))} regions{' enabled by default' if no_opt_in else ''} "
                      f"(BR 3.2.2.9: >= 500 km apart, primary included, in >= 2 RIRs). Allow more providers"
                      f"{' or opt-in regions' if no_opt_in else ''}.", key="mpic:perspectives",
                      value=list(cfg.codes))
    robust = any(r for _, _, r, _, _ in found)
    found = [entry for entry in found if entry[2] == robust]
    d_star = max(p.min_pair(best) for p, best, _, _, _ in found)
    all_proven = complete and all(proven for _, _, _, proven, _ in found)
    ranked = []
    for problem, best, _, proven, kept in found:
        if problem.min_pair(best) < d_star - tolerance_km:
            continue  # every set keeping these is outside the band of the best: never the answer
        # what `mpic suggest --include KEPT --exclude REMOVED` answers (its own D* and band)
        members, finished = phase_b(problem, best, robust, proven, clock, tolerance_km)
        all_proven = all_proven and finished
        in_band = problem.min_pair(members) >= d_star - tolerance_km
        key = problem.key(members)
        codes = sorted(problem.locs[i].code for i in members)
        ranked.append(((not in_band, tuple(-x for x in key)), codes, problem, members, kept))
    ranked.sort(key=lambda t: (t[0], t[1]))
    _, _, problem, members, kept = ranked[0]
    chosen = [problem.locs[i] for i in members]
    kept_codes = {p.code for p in kept}
    added = [loc for loc in chosen if loc.code not in kept_codes]
    removed = [p for p in originals if p.code not in kept_codes]
    pairs, order, spare = [], [], list(added)
    for p in originals:
        if p.code in kept_codes:
            order.append(p.code)
            continue
        if spare:
            nearest = min(spare, key=lambda a: (distance_km(a, p), a.code))
            spare.remove(nearest)
            pairs.append((p.code, nearest.code))
            order.append(nearest.code)
    order += [a.code for a in spare]
    outcome = Outcome(members, robust and problem.robust(members), all_proven)
    request = None
    if not any(p.is_custom_site for p in kept):  # mpic suggest takes catalog regions only
        request = SuggestRequest(count=count, primary=primary, providers=frozenset(provs),
                                 include=tuple(p.code for p in kept), exclude=frozenset(p.code for p in removed),
                                 no_opt_in=no_opt_in, as_of=on, time_budget_s=time_budget_s,
                                 region_monthly_usd=region_monthly_usd, max_monthly_usd=max_monthly_usd,
                                 tolerance_km=tolerance_km)
    return build_suggestion(problem, outcome, on, clock, included=set(), costs=region_monthly_usd, order=order,
                            kept=kept_codes, replaced=tuple(pairs) + tuple(("", a.code) for a in spare)
                            if removed or spare else (), request=request)


def _kept_sets(originals: Sequence[Location], primary: Location | None, priced: Mapping[str, float] | None,
               k: int, clock: Clock) -> Iterator[tuple[Location, ...]]:
    """The ``k``-subsets of ``originals`` that meet R1 among themselves and with the primary (and,
    under a budget, are priced), in ``itertools.combinations`` order. Only those can be kept: the
    walk extends a subset with later regions compatible with all of it, so a config of 30 regions
    never enumerates the billions of subsets that break R1."""
    ok = [i for i, p in enumerate(originals) if (priced is None or p.code in priced)
          and (primary is None or distance_km(primary, p) >= MIN_DISTANCE_KM)]
    near = {i: {j for j in ok if j != i and distance_km(originals[i], originals[j]) < MIN_DISTANCE_KM} for i in ok}

    def walk(chosen: list[int], candidates: list[int]) -> Iterator[tuple[Location, ...]]:
        if len(chosen) == k:
            yield tuple(originals[i] for i in chosen)
            return
        for pos, i in enumerate(candidates):
            if len(chosen) + len(candidates) - pos < k:
                return
            clock.tick()
            yield from walk([*chosen, i], [j for j in candidates[pos + 1:] if j not in near[i]])

    yield from walk([], ok)
