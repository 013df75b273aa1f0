"""The refusals of ``mpic suggest``: a request checked before the search (:func:`validate_request`,
every bad input a ConfigError naming the option, the value and the fix), the candidate pool of a
request (:func:`candidate_pool`), and why no compliant set exists when the search finds none
(:func:`diagnose_infeasible`: what to relax, the cheapest set when a budget is the reason).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping

from config.br import MIN_DISTANCE_KM, min_remote_perspectives
from config.catalog import Location, load_catalog
from config.errors import ConfigError
from config.geo import distance_km
from plan.suggest.model import MIN_COUNT, SuggestRequest, refusal
from plan.suggest.search import Clock, Problem, SearchTimeout


def _catalog_codes_hint() -> str:
    return "a code from config/regions.yaml (e.g. us-east-1, eu-west-1, ap-northeast-1)"


def validate_request(req: SuggestRequest) -> tuple[list[Location], list[Location]]:
    """Check the request; return (free candidates, includes) after every filter."""
    on = req.evaluation_date
    catalog = load_catalog()
    known_providers = sorted({loc.provider for loc in catalog.values()})
    if not isinstance(req.count, int) or req.count < MIN_COUNT:
        raise refusal(f"--count: {req.count!r} remote perspectives; BR 3.2.2.9 needs >= 2 remote perspectives "
                      f"(>= {max(MIN_COUNT, min_remote_perspectives(on))} on {on.isoformat()}). "
                      f"Use --count {max(MIN_COUNT, min_remote_perspectives(on))} or more.",
                      key="--count", value=req.count)
    need = min_remote_perspectives(on)
    if req.count < need:
        raise refusal(f"--count: {req.count} remote perspectives; BR 3.2.2.9 needs >= {need} on "
                      f"{on.isoformat()} (R3). Use --count {need} or more.", key="--count", value=req.count)
    unknown = sorted(req.providers - set(known_providers))
    if not req.providers or unknown:
        raise refusal(f"--providers: {', '.join(unknown) or '(none)'} is not a provider of the catalog. "
                      f"Use a comma-separated subset of {','.join(known_providers)}.",
                      key="--providers", value=",".join(sorted(req.providers)))
    for key, codes in (("--include", req.include), ("--exclude", sorted(req.exclude))):
        for code in codes:
            if code not in catalog:
                raise refusal(f"{key}: unknown region '{code}'. Use {_catalog_codes_hint()}.", key=key, value=code)
    both = sorted(set(req.include) & req.exclude)
    if both:
        raise refusal(f"--include: {both[0]} is also in --exclude. Drop it from one of them.",
                      key="--include", value=both[0])
    if len(req.include) > req.count:
        raise refusal(f"--include: {len(req.include)} regions ({', '.join(req.include)}) do not fit in "
                      f"--count {req.count}. Raise --count to {len(req.include)} or include fewer.",
                      key="--include", value=",".join(req.include))
    primary_code = req.primary.code if req.primary is not None else None
    includes = [catalog[c] for c in req.include]
    for loc in includes:
        if loc.provider not in req.providers:
            raise refusal(f"--include: {loc.code} is a {loc.provider} region but --providers is "
                          f"{','.join(sorted(req.providers))}. Add {loc.provider} to --providers or drop "
                          f"{loc.code}.", key="--include", value=loc.code)
        if req.no_opt_in and loc.opt_in:
            raise refusal(f"--include: {loc.code} ({loc.city}) is an opt-in region and --no-opt-in is set. "
                          f"Drop --no-opt-in or drop {loc.code}.", key="--include", value=loc.code)
        if loc.code == primary_code:
            raise refusal(f"--include: {loc.code} is the primary perspective; the remote perspectives must be "
                          "distinct from it. Drop it from --include.", key="--include", value=loc.code)
    for loc in includes:
        if req.primary is not None and distance_km(req.primary, loc) < MIN_DISTANCE_KM:
            raise refusal(f"--include: {loc.code} is {distance_km(req.primary, loc):,.0f} km from the primary "
                          f"{primary_code}; BR 3.2.2.9 needs >= 500 km. Drop it from --include or choose another "
                          "primary.", key="--include", value=loc.code)
    for a, b in itertools.combinations(includes, 2):
        if distance_km(a, b) < MIN_DISTANCE_KM:
            raise refusal(f"--include: {a.code} and {b.code} are {distance_km(a, b):,.0f} km apart; BR 3.2.2.9 "
                          "needs >= 500 km between every pair. Keep one of them in --include.",
                          key="--include", value=f"{a.code},{b.code}")
    if req.max_monthly_usd is not None:
        if req.region_monthly_usd is None:
            raise refusal("--max-monthly-usd: a budget needs each region's monthly cost, which depends on the "
                          "target. Add --target aws-hosts or --target aws-lambda.", key="--max-monthly-usd",
                          value=req.max_monthly_usd)
        if req.max_monthly_usd < 0:
            raise refusal(f"--max-monthly-usd: {req.max_monthly_usd} is negative. Give a budget in USD per month.",
                          key="--max-monthly-usd", value=req.max_monthly_usd)
        unpriced = [loc.code for loc in includes if loc.code not in req.region_monthly_usd]
        if unpriced:
            raise refusal(f"--include: {unpriced[0]} has no monthly price for this target, so the budget cannot "
                          f"be checked. Drop --max-monthly-usd or {unpriced[0]}.", key="--include",
                          value=unpriced[0])
    if req.time_budget_s <= 0:
        raise refusal(f"--time-budget: {req.time_budget_s} s is no time for a search. Give the search a positive "
                      "number of seconds, e.g. --time-budget 4.",
                      key="--time-budget", value=req.time_budget_s)
    free = candidate_pool(req.providers, req.exclude | set(req.include), req.no_opt_in, req.primary,
                          req.region_monthly_usd if req.max_monthly_usd is not None else None)
    return free, includes


def candidate_pool(providers: Iterable[str], exclude: Iterable[str], no_opt_in: bool, primary: Location | None,
                   priced: Mapping[str, float] | None) -> list[Location]:
    """Catalog regions of ``providers`` that may join a set: not excluded, not the primary nor
    within 500 km of it, enabled by default when ``no_opt_in``, priced when a budget applies."""
    providers, exclude = set(providers), set(exclude)
    return [loc for code, loc in load_catalog().items()
            if loc.provider in providers and code not in exclude and not (no_opt_in and loc.opt_in)
            and (priced is None or code in priced)
            and (primary is None or (code != primary.code and distance_km(primary, loc) >= MIN_DISTANCE_KM))]


def diagnose_infeasible(req: SuggestRequest, problem: Problem, clock: Clock) -> ConfigError:
    """Why no compliant set exists, and what to relax."""
    prim = f"primary {req.primary.code}" if req.primary else None
    if len(problem.inc) == req.count and len({problem.locs[i].rir for i in problem.inc}) < 2:
        return refusal(f"--include: every included region is in {problem.locs[problem.inc[0]].rir.value}; "
                       "BR 3.2.2.9 needs >= 2 RIRs. Include one region of another RIR or raise --count.",
                       key="--include", value=",".join(req.include))
    relax = ("widen --providers, drop --no-opt-in or shorten --exclude"
             + (" (and --include)" if req.include else ""))
    if problem.max_cost is not None:
        free = [problem.locs[i] for i in range(problem.n) if i not in problem.inc]
        unbudgeted = Problem(req.count, req.primary, free, [problem.locs[i] for i in problem.inc], None, None,
                             problem.multi_provider)
        if unbudgeted.first_set(MIN_DISTANCE_KM, unbudgeted.loose_cap, clock) is not None:
            cheapest = min_cost_set(problem, clock)
            why, fix = "", "raise --max-monthly-usd"
            if cheapest is not None:
                usd, members, proven = cheapest
                why = (f"the cheapest compliant set{'' if proven else ' found in the time budget'} "
                       f"({', '.join(problem.locs[i].code for i in members)}) costs ${usd:,.2f}; ")
                fix = f"raise --max-monthly-usd to at least {math.ceil(usd * 100) / 100:.2f}"
            return refusal(f"--max-monthly-usd: no compliant set of {req.count} remote perspectives costs <= "
                           f"${req.max_monthly_usd:,.2f} a month; {why}{fix}, or lower --count.",
                           key="--max-monthly-usd", value=req.max_monthly_usd, fix=f"{fix}, or lower --count")
    most = problem.largest_feasible(clock)
    where = f"{problem.n} candidate regions" + (f" at >= 500 km from the {prim}" if prim else "")
    if most:
        return refusal(f"--count: no {req.count} of the {where} are pairwise >= 500 km apart in >= 2 RIRs "
                       f"(BR 3.2.2.9); at most {most} are. Lower --count to {most}, or {relax}.",
                       key="--count", value=req.count)
    return refusal(f"--count: no compliant set of {req.count} exists among the {where}. {relax[0].upper()}"
                   f"{relax[1:]}.", key="--count", value=req.count)


def min_cost_set(problem: Problem, clock: Clock) -> tuple[float, list[int], bool] | None:
    """The cheapest set meeting the hard constraints without the budget, and whether the search
    finished (None when none was found)."""
    free = [problem.locs[i] for i in range(problem.n) if i not in problem.inc]
    prices = {loc.code: problem.cost[i] for i, loc in enumerate(problem.locs)}  # type: ignore[index]
    unbounded = Problem(problem.count, problem.primary, free, [problem.locs[i] for i in problem.inc],
                        prices, None, False)
    ctx = unbounded.context(MIN_DISTANCE_KM, unbounded.loose_cap)
    if ctx is None:  # pragma: no cover - the caller found a set without a budget
        return None
    adj, pool, counts, cost = ctx
    best: list = [math.inf, None]

    def walk(pool: int, need: int, cost: float, chosen: list[int]) -> None:
        clock.tick()
        if need == 0:
            if cost < best[0]:
                best[:] = [cost, sorted(unbounded.inc + chosen)]
            return
        if not unbounded.viable(pool, need, counts, cost, unbounded.loose_cap, adj):
            return
        while pool.bit_count() >= need:
            if cost + unbounded.cheapest(pool, need) >= best[0]:
                return
            low = pool & -pool
            v = low.bit_length() - 1
            pool ^= low
            r = unbounded.rir_of[v]
            if counts[r] >= unbounded.loose_cap:
                continue
            counts[r] += 1
            chosen.append(v)
            walk(pool & adj[v], need - 1, cost + unbounded.cost[v], chosen)  # type: ignore[index]
            chosen.pop()
            counts[r] -= 1

    proven = True
    try:
        walk(pool, unbounded.count - len(unbounded.inc), cost, [])
    except SearchTimeout:
        proven = False
    if best[1] is None:  # pragma: no cover - the caller found a set, the first descent finds one
        return None
    return best[0], best[1], proven


