"""The objective of ``mpic suggest`` and its search: the compliant set of N remote perspectives.

BR 3.2.2.9 asks for remote perspectives >= 500 km from the primary perspective and from each
other, in >= 2 RIRs, with at most 1 (2-5 remotes) or 2 (6+) non-corroborations. Many sets pass;
this module picks the best one for a stated objective and says whether it *proved* it best.

The objective (lexicographic, first key first)
----------------------------------------------
Hard constraints: every pair among {primary} U remotes >= 500 km (R1; the primary counts; a
candidate within 500 km of the primary never enters); >= 2 RIRs among the remotes (R5; also
before R5 takes effect on 2026-03-15); N >= 2 and >= the R3 minimum on ``as_of`` (a smaller
``--count`` is refused with a ConfigError rather than warned about: the answer must pass
``mpic check``); the filters of the request (providers, include, exclude, no opt-in, budget).

1. **RIR robustness** (R5 warning): the largest single-RIR count is <= N - f - 1, f =
   ``allowed_non_corroborations(N)``, so f failures in the minority RIRs still leave a quorum in
   >= 2 RIRs. A boolean: robust sets win whenever one exists (for N = 2 the rule is moot and every
   2-RIR set counts as robust, as in ``config.compliance.rule_r5_rir``).
2. **Smallest pairwise distance** (primary included), maximised — with a tolerance band:
   every set whose minimum is within ``tolerance_km`` (default 25 km) of the best minimum D*
   counts as tied on this key.
3. **Provider diversity**: the number of distinct providers, when the request allows several.
4. **Quorum latency**: the quorum-th smallest RTT floor from the primary (lower is better);
   RTT floor = 2 x geodesic km / 204 km per ms (light in fibre). Without a primary: no key.
5. Fewer opt-in regions (each must be enabled in the account before a deploy; upstream
   deployments broke on them). ``--no-opt-in`` makes this a hard filter instead.
6. The exact smallest pairwise distance (larger is better), then the sorted region codes
   (alphabetically first): the result is reproducible.

Why not the issue's literal order (distance, then RIR spread, then providers, then latency):
the smallest distance is a continuous value, so a pure lexicographic order makes every later
key a tie-breaker among sets with *exactly* the same minimum, i.e. irrelevant. Two changes make
the later keys matter without giving up the distance goal:

* RIR robustness goes first because it is a boolean that ``mpic check`` reports (R5 warning:
  f failures of the minority RIR block issuance); a suggestion should never earn an avoidable
  finding for a few more kilometres. Measured on the catalog (AWS only and all providers; no
  primary, us-east-1 or eu-west-1 as primary; N = 4..10) the robust optimum has exactly the
  unconstrained D*; only N = 3 pays (3 RIRs needed): D* 7,638 instead of 9,595 km around
  us-east-1, still far above 500 km.
* The distance key is compared within a band of ``tolerance_km``: region coordinates are
  city-level estimates (``config/regions.yaml``), the same uncertainty that makes R2 warn within
  the 25 km ``borderline_margin_km`` above 500 km. Minimum distances closer than that to D* are
  not meaningfully different, so provider diversity and latency decide among them. The band is
  relative to the optimum (no fixed bucket edges), so the choice stays stable when the catalog
  moves a city by a kilometre.

The search is exact and bounded in time: phase A (:mod:`plan.suggest.search`) proves D*, phase B
(:mod:`plan.suggest.band`) ranks the sets of the band by the later keys. ``proven_optimal`` is
true when both phases finished inside the budget; otherwise the best set found is returned with
``proven_optimal`` false. Refusals: :mod:`plan.suggest.checks`; the closest compliant set to a
config: :mod:`plan.suggest.repair`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from config.catalog import Location, load_catalog
from config.compliance import check_stack
from config.geo import distance_km
from plan.suggest.band import Outcome, solve
from plan.suggest.checks import diagnose_infeasible, validate_request
from plan.suggest.model import (
    DEFAULT_TIME_BUDGET_S,
    DEFAULT_TOLERANCE_KM,
    MIN_COUNT,
    SuggestRequest,
    Suggestion,
    adhoc_config,
    refusal,
    rtt_floor_ms,
)
from plan.suggest.search import Clock, Problem, SearchTimeout

__all__ = ["DEFAULT_TIME_BUDGET_S", "DEFAULT_TOLERANCE_KM", "MIN_COUNT", "SuggestRequest", "Suggestion",
           "build_suggestion", "rtt_floor_ms", "suggest"]


def suggest(request: SuggestRequest) -> Suggestion:
    """The compliant set of ``request.count`` remote perspectives that is best for the objective
    of this module (see its docstring), by exact search within ``request.time_budget_s``.

    Raises :class:`~config.errors.ConfigError` (key, value, rule and fix in the message) for bad
    input (count below the R3 minimum, unknown codes, contradictory filters) and for requests
    that no set can meet (too large a count, includes too close, too small a budget).
    """
    free, includes = validate_request(request)
    clock = Clock(request.time_budget_s)
    problem = Problem(request.count, request.primary, free, includes,
                      request.region_monthly_usd, request.max_monthly_usd, len(request.providers) > 1)
    if problem.n < request.count:
        where = "after --providers, --exclude, --no-opt-in" + (" and the 500 km rule around the primary"
                                                                if request.primary else "")
        raise refusal(f"--count: {request.count} remote perspectives asked but only {problem.n} candidate regions "
                      f"remain {where}. Lower --count or widen the filters.", key="--count", value=request.count)
    try:
        outcome = solve(problem, clock, request.tolerance_km)
    except SearchTimeout:
        raise refusal(f"--count: no compliant set of {request.count} was found within the time budget of "
                      f"{request.time_budget_s:g} s. Raise --time-budget or narrow the candidates.",
                      key="--count", value=request.count) from None
    if outcome is None:
        try:  # the diagnosis searches too: give it a budget of its own
            error = diagnose_infeasible(request, problem, Clock(max(1.0, request.time_budget_s)))
        except SearchTimeout:
            error = refusal(f"--count: no compliant set of {request.count} remote perspectives exists with these "
                            "filters (BR 3.2.2.9: >= 500 km apart, primary included, in >= 2 RIRs). Lower "
                            "--count, widen --providers, drop --no-opt-in or shorten --exclude/--include.",
                            key="--count", value=request.count)
        raise error
    return build_suggestion(problem, outcome, request.evaluation_date, clock, included=set(request.include),
                            costs=request.region_monthly_usd, request=request)


def build_suggestion(problem: Problem, outcome: Outcome, on: dt.date, clock: Clock, *, included: set[str],
                     costs: Mapping[str, float] | None, order: Sequence[str] | None = None,
                     kept: Iterable[str] = (), replaced: tuple[tuple[str, str], ...] = (),
                     request: SuggestRequest | None = None) -> Suggestion:
    """The :class:`Suggestion` of a solved problem: the set in catalog order (or ``order``), its
    figures, one reason per region and the ``check_stack`` warnings of the set."""
    members = outcome.members
    locs = [problem.locs[i] for i in members]
    if order is None:
        rank = {code: k for k, code in enumerate(load_catalog())}
        locs.sort(key=lambda loc: (rank.get(loc.code, len(rank)), loc.code))
    else:
        rank = {code: k for k, code in enumerate(order)}
        locs.sort(key=lambda loc: rank[loc.code])
    primary = problem.primary
    points = ([primary] if primary else []) + locs
    pairs = [(distance_km(a, b), a.code, b.code) for a, b in itertools.combinations(points, 2)]
    min_km, a, b = min(pairs)
    rirs = Counter(loc.rir.value for loc in locs)
    providers = Counter(loc.provider for loc in locs)
    rtt = problem.quorum_rtt(members) if primary else None
    monthly = None
    if costs is not None and all(loc.code in costs for loc in locs):
        monthly = float(sum(costs[loc.code] for loc in locs))
    reasons = _reasons(locs, primary, problem.quorum, rtt, rirs, (a, b), included, set(kept))
    cfg = adhoc_config(locs, primary, on)
    report = check_stack(cfg)
    if not report.compliant:  # pragma: no cover - the search enforces every config rule it can break
        raise AssertionError(f"suggest produced a non-compliant set: {report.violations}")
    notes = [f"{f.rule}: {f.message}" for f in report.warnings if f.rule != "REGION"]
    opt_in = [loc.code for loc in locs if loc.opt_in]
    if opt_in:
        one = len(opt_in) == 1
        notes.append(f"REGION: {', '.join(opt_in)} {'is an opt-in region' if one else 'are opt-in regions'}; enable "
                     f"{'it' if one else 'them'} in the account first (aws account enable-region) or use --no-opt-in.")
    return Suggestion(
        perspectives=tuple(locs), primary=primary, as_of=on, proven_optimal=outcome.proven, min_pair_km=min_km,
        nearest_pair=(a, b), rirs=dict(sorted(rirs.items())), rir_robust=outcome.robust and problem.robust(members),
        providers=dict(sorted(providers.items())), quorum=problem.quorum, quorum_rtt_ms_bound=rtt,
        monthly_usd=monthly, reasons=reasons, warnings=tuple(notes), elapsed_s=clock.elapsed, nodes=clock.nodes,
        replaced=replaced, request=request)


def _reasons(locs: list[Location], primary: Location | None, quorum: int, rtt_bound: float | None,
             rirs: Counter, nearest: tuple[str, str], included: set[str], kept: set[str]) -> dict[str, str]:
    points = ([primary] if primary else []) + locs
    by_rtt = sorted(locs, key=lambda loc: (distance_km(primary, loc), loc.code)) if primary else []
    out = {}
    for loc in locs:
        d, other = min((distance_km(loc, p), p.code) for p in points if p.code != loc.code)
        other_label = f"the primary {other}" if primary is not None and other == primary.code else other
        share = rirs[loc.rir.value]
        rir_text = (f"the only {loc.rir.value} perspective" if share == 1
                    else f"{share} of {len(locs)} in {loc.rir.value}")
        text = f"{loc.code} ({loc.city}; {rir_text}): nearest is {other_label} at {d:,.0f} km"
        if set(nearest) == {loc.code, other}:
            text += ", the closest pair of the set"
        if primary is not None:
            rank = by_rtt.index(loc) + 1
            rtt = rtt_floor_ms(distance_km(primary, loc))
            role = ("sets the quorum bound" if rank == quorum else
                    "inside the quorum" if rank < quorum else "beyond the quorum, a spare for non-corroboration")
            text += f"; RTT floor {rtt:.0f} ms from the primary, {_ordinal(rank)} fastest ({role})"
        if loc.code in included:
            text += "; required by --include"
        if loc.code in kept:
            text += "; kept from the current config"
        out[loc.code] = text + "."
    return out


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"

