"""``mpic suggest``: the compliant set of N remote perspectives, found by exact search.

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

The search (exact, time-bounded)
--------------------------------
Distances are computed once into a matrix (GeographicLib WGS84 via ``config.geo``), candidate
sets are Python-int bitsets. Phase A finds D*: a feasibility search for a set whose pairs are all
>= T, restarted with T raised past the minimum of every set found, until no set exists (proof)
or the time budget ends. It prunes by the remaining candidate count, by a per-RIR capacity bound
and by a greedy colouring bound (a set whose pairs are all >= T takes at most one region from
each colour class of "closer than T" conflicts). Phase B enumerates the sets whose pairs are all
>= max(500, D* - tolerance) in code order with a lexicographic bound on keys 3-6, computed
lazily: providers still reachable; the quorum-th smallest RTT if the regions still to add were
the fastest region of each of the first colour classes of the pool (coloured fastest first: a
set takes at most one region per class); the opt-in regions chosen or forced; the current
minimum capped at D*. ``proven_optimal``
is true when both phases finished inside the budget; otherwise the best set found is returned
with ``proven_optimal`` false.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from config.catalog import Location, load_catalog
from config.compliance import (
    MIN_DISTANCE_KM,
    allowed_non_corroborations,
    check_stack,
    min_remote_perspectives,
    required_quorum,
)
from config.errors import ConfigError
from config.geo import distance_km
from config.model import StackConfig

FIBER_KM_PER_MS = 204.0
"""Light in fibre: ~204 km per millisecond, so an RTT costs >= 1 ms per 102 km of distance."""
DEFAULT_TIME_BUDGET_S = 4.0
DEFAULT_TOLERANCE_KM = 25.0
"""Band of the distance key: the R2 borderline margin, the kit's stated coordinate uncertainty."""
MIN_COUNT = 2


# ---------------------------------------------------------------------- request and result
@dataclasses.dataclass(frozen=True)
class SuggestRequest:
    """What ``mpic suggest`` asks for. Iterables are normalised (sets frozen, codes stripped)."""

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
        object.__setattr__(self, "providers", frozenset(p.strip() for p in self.providers))
        object.__setattr__(self, "include", tuple(dict.fromkeys(c.strip() for c in self.include)))
        object.__setattr__(self, "exclude", frozenset(c.strip() for c in self.exclude))

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


# ---------------------------------------------------------------------- the search
class _Timeout(Exception):
    pass


class _Clock:
    def __init__(self, budget_s: float) -> None:
        self.start = time.perf_counter()
        self.deadline = self.start + budget_s
        self.nodes = 0

    def tick(self) -> None:
        self.nodes += 1
        if not self.nodes & 255 and time.perf_counter() > self.deadline:
            raise _Timeout

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclasses.dataclass
class _Best:
    key: tuple | None = None
    members: list[int] | None = None
    seeded: bool = False
    """``key`` is a seed (a known set's key): sets with an equal key still replace it."""


class _Problem:
    """Candidates as indexes (sorted by code), the distance matrix and the bitset masks."""

    def __init__(self, count: int, primary: Location | None, free: Iterable[Location],
                 includes: Iterable[Location], costs: Mapping[str, float] | None,
                 max_cost: float | None, multi_provider: bool) -> None:
        inc_codes = {loc.code for loc in includes}
        by_code = {loc.code: loc for loc in [*free, *includes]}
        self.locs: list[Location] = [by_code[c] for c in sorted(by_code)]
        n = len(self.locs)
        self.n, self.count, self.primary = n, count, primary
        self.inc = [i for i, loc in enumerate(self.locs) if loc.code in inc_codes]
        self.inc_mask = sum(1 << i for i in self.inc)
        self.d = [[0.0] * n for _ in range(n)]
        for i, j in itertools.combinations(range(n), 2):
            self.d[i][j] = self.d[j][i] = distance_km(self.locs[i], self.locs[j])
        self.dp = [distance_km(primary, loc) if primary else math.inf for loc in self.locs]
        self.rtt = [rtt_floor_ms(x) if primary else 0.0 for x in self.dp]
        self.rtt_order = sorted(range(n), key=lambda i: (self.rtt[i], i))
        self.rpos = [0] * n  # bit position of each candidate in RTT order
        for pos, i in enumerate(self.rtt_order):
            self.rpos[i] = pos
        self.rtt_sorted = [self.rtt[i] for i in self.rtt_order]
        rirs = sorted({loc.rir for loc in self.locs}, key=lambda r: r.value)
        self.rir_of = [rirs.index(loc.rir) for loc in self.locs]
        self.rir_masks = [sum(1 << i for i in range(n) if self.rir_of[i] == r) for r in range(len(rirs))]
        provs = sorted({loc.provider for loc in self.locs})
        self.prov_of = [provs.index(loc.provider) for loc in self.locs]
        self.prov_masks = [sum(1 << i for i in range(n) if self.prov_of[i] == p) for p in range(len(provs))]
        self.prov_masks_r = [self._to_rtt_space(m) for m in self.prov_masks]
        self.opt_in = [1 if loc.opt_in else 0 for loc in self.locs]
        self.enabled = sum(1 << i for i in range(n) if not self.opt_in[i])
        self.multi_provider = multi_provider
        self.cost = [float(costs[loc.code]) for loc in self.locs] if costs is not None else None
        self.max_cost = max_cost
        self.cost_order = sorted(range(n), key=lambda i: self.cost[i]) if self.cost else []
        self.quorum = required_quorum(count)
        f = allowed_non_corroborations(count)
        self.robust_cap = count - f - 1 if count > 2 else count - 1
        self.loose_cap = count - 1
        values = {self.d[i][j] for i, j in itertools.combinations(range(n), 2)}
        values |= {x for x in self.dp if x != math.inf}
        self.values = sorted(values)

    def _to_rtt_space(self, mask: int) -> int:
        return sum(1 << self.rpos[i] for i in range(self.n) if mask >> i & 1)

    # ------------------------------------------------------------------ figures of a set
    def min_pair(self, members: Sequence[int]) -> float:
        pairs = (self.d[i][j] for i, j in itertools.combinations(members, 2))
        return min(itertools.chain(pairs, (self.dp[i] for i in members)), default=math.inf)

    def quorum_rtt(self, members: Sequence[int]) -> float:
        return sorted(self.rtt[i] for i in members)[self.quorum - 1]

    def key(self, members: Sequence[int]) -> tuple[int, float, int, float]:
        """Keys 3-6 of the objective, larger is better."""
        prov = len({self.prov_of[i] for i in members}) if self.multi_provider else 0
        rtt = -self.quorum_rtt(members) if self.primary else 0.0
        return prov, rtt, -sum(self.opt_in[i] for i in members), self.min_pair(members)

    def robust(self, members: Sequence[int]) -> bool:
        return max(Counter(self.rir_of[i] for i in members).values()) <= self.robust_cap

    # ------------------------------------------------------------------ search helpers
    def _context(self, threshold: float, cap: int) -> tuple[list[int], int, list[int], float] | None:
        """Adjacency at ``threshold``, the free candidates compatible with every include, the
        includes' RIR counts and cost; None when the includes alone break the constraints."""
        n, d = self.n, self.d
        adj = [sum(1 << j for j in range(n) if j != i and d[i][j] >= threshold) for i in range(n)]
        pool = sum(1 << i for i in range(n) if self.dp[i] >= threshold) & ~self.inc_mask
        counts = [0] * len(self.rir_masks)
        cost = 0.0
        for i in self.inc:
            if self.dp[i] < threshold or (self.inc_mask & ~(1 << i)) & ~adj[i]:
                return None
            pool &= adj[i]
            counts[self.rir_of[i]] += 1
            cost += self.cost[i] if self.cost else 0.0
        if max(counts, default=0) > cap or (self.max_cost is not None and cost > self.max_cost):
            return None
        return adj, pool, counts, cost

    def _cheapest(self, pool: int, k: int) -> float:
        total, taken = 0.0, 0
        for i in self.cost_order:
            if taken == k:
                break
            if pool >> i & 1:
                total += self.cost[i]  # type: ignore[index]
                taken += 1
        return total

    def _viable(self, pool: int, need: int, counts: list[int], cost: float, cap: int, adj: list[int]) -> bool:
        """Cheap necessary conditions for completing a set with ``need`` regions from ``pool``."""
        if pool.bit_count() < need:
            return False
        room = sum(min(cap - c, (pool & m).bit_count()) for c, m in zip(counts, self.rir_masks))
        if room < need:
            return False
        if self.max_cost is not None and cost + self._cheapest(pool, need) > self.max_cost:
            return False
        return _colours(pool, adj, need) >= need

    # ------------------------------------------------------------------ phase A: D*
    def first_set(self, threshold: float, cap: int, clock: _Clock) -> list[int] | None:
        """Any set whose pairs (primary included) are all >= ``threshold``, or None."""
        ctx = self._context(threshold, cap)
        if ctx is None:
            return None
        adj, pool, counts, cost = ctx
        chosen: list[int] = []
        if self._first(pool, self.count - len(self.inc), counts, cost, chosen, adj, cap, clock):
            return sorted(self.inc + chosen)
        return None

    def _first(self, pool: int, need: int, counts: list[int], cost: float, chosen: list[int],
               adj: list[int], cap: int, clock: _Clock) -> bool:
        if need == 0:
            return True
        clock.tick()
        if not self._viable(pool, need, counts, cost, cap, adj):
            return False
        while pool.bit_count() >= need:
            low = pool & -pool
            v = low.bit_length() - 1
            pool ^= low
            r = self.rir_of[v]
            if counts[r] >= cap:
                continue
            vcost = self.cost[v] if self.cost else 0.0
            if self.max_cost is not None and cost + vcost > self.max_cost:
                continue
            counts[r] += 1
            chosen.append(v)
            if self._first(pool & adj[v], need - 1, counts, cost + vcost, chosen, adj, cap, clock):
                return True
            chosen.pop()
            counts[r] -= 1
        return False

    def max_min(self, cap: int, clock: _Clock) -> tuple[list[int] | None, bool]:
        """Phase A: the set with the largest smallest distance, and whether that is proven."""
        threshold, best = MIN_DISTANCE_KM, None
        try:
            while True:
                found = self.first_set(threshold, cap, clock)
                if found is None:
                    return best, True
                best = found
                k = bisect.bisect_right(self.values, self.min_pair(found))
                if k == len(self.values):  # pragma: no cover - a set's minimum is one of the values
                    return best, True
                threshold = self.values[k]
        except _Timeout:
            return best, False

    # ------------------------------------------------------------------ phase B: keys 3-6
    def best_in_band(self, threshold: float, cap: int, clock: _Clock,
                     min_cap: float = math.inf, seed: Sequence[int] | None = None) -> tuple[_Best, bool]:
        """Phase B: the best set by keys 3-6 among those with all pairs >= ``threshold``.

        ``min_cap``: a proven upper bound of any set's smallest distance (D* of phase A), which
        caps key 6 in the bound so that ties on keys 3-5 are cut early. ``seed``: a set in the
        band (phase A's), whose key starts the search as incumbent; the code-order tie-break stays
        exact because a seed yields to the first set found with an equal key."""
        best = _Best()
        if seed is not None:
            best.key, best.members, best.seeded = self.key(seed), list(seed), True
        ctx = self._context(threshold, cap)
        if ctx is None:  # pragma: no cover - phase A found a set at a threshold at least this high
            return best, True
        adj, pool, counts, cost = ctx
        provs = [0] * len(self.prov_masks)
        for i in self.inc:
            provs[self.prov_of[i]] += 1
        cur_min = self.min_pair(self.inc)
        self._min_cap = min_cap
        adj_r = [self._to_rtt_space(m) for m in adj]  # by region index, masks in RTT order
        self._adj_by_pos = [adj_r[i] for i in self.rtt_order]  # by RTT position, masks in RTT order
        try:
            self._best(pool, self._to_rtt_space(pool), self.count - len(self.inc), counts, provs, cost, [], cur_min,
                       adj, adj_r, cap, clock, best)
        except _Timeout:
            return best, False
        return best, True

    def _dominated(self, best: _Best, chosen: list[int], pool: int, pool_r: int, need: int, provs: list[int],
                   cur_min: float, adj: list[int]) -> bool:
        """Whether no set completing ``chosen`` from the pool can replace the incumbent: an upper
        bound of keys 3-6, compared lexicographically and computed lazily, key by key
        (``pool_r``: the pool as bits in RTT order)."""
        key = best.key
        assert key is not None
        strict = not best.seeded  # a seed yields to an equal key, a found set does not

        def decided(bound: float, incumbent: float) -> bool | None:
            if bound != incumbent:
                return bound < incumbent
            return None

        prov = 0
        if self.multi_provider:
            used = sum(1 for c in provs if c)
            avail = sum(1 for c, m in zip(provs, self.prov_masks_r) if not c and pool_r & m)
            prov = used + min(need, avail)
        verdict = decided(prov, key[0])
        if verdict is not None:
            return verdict
        rtt = 0.0
        if self.primary is not None:
            # The regions still to add hold at most one region per colour class of the pool
            # (classes of mutual conflicts, coloured fastest first), so their sorted RTTs are at
            # least the ``need`` smallest class minima: the quorum-th smallest RTT is bounded.
            values = [self.rtt[i] for i in self.inc]
            values += [self.rtt[i] for i in chosen]
            starts = _class_starts(pool_r, self._adj_by_pos, need)
            if len(starts) < need:
                return True  # fewer classes than regions to add: no completion exists
            values += [self.rtt_sorted[pos] for pos in starts]
            values.sort()
            rtt = -values[self.quorum - 1]
        verdict = decided(rtt, key[1])
        if verdict is not None:
            return verdict
        # opt-in regions: those chosen, plus those forced because at most one enabled-by-default
        # region per colour class of the pool can join
        opt_in = sum(self.opt_in[i] for i in self.inc) + sum(self.opt_in[i] for i in chosen)
        opt_in += max(0, need - _colours(pool & self.enabled, adj, need))
        verdict = decided(-opt_in, key[2])
        if verdict is not None:
            return verdict
        bound_min = min(cur_min, self._min_cap)
        return bound_min < key[3] or (bound_min == key[3] and strict)

    def _best(self, pool: int, pool_r: int, need: int, counts: list[int], provs: list[int], cost: float,
              chosen: list[int], cur_min: float, adj: list[int], adj_r: list[int], cap: int, clock: _Clock,
              best: _Best) -> None:
        clock.tick()
        if need == 0:
            members = sorted(self.inc + chosen)
            key = self.key(members)
            if best.key is None or key > best.key or (best.seeded and key == best.key):
                best.key, best.members, best.seeded = key, members, False  # equal keys: the first in code order
            return
        if not self._viable(pool, need, counts, cost, cap, adj):
            return
        while pool.bit_count() >= need:
            if best.key is not None and self._dominated(best, chosen, pool, pool_r, need, provs, cur_min, adj):
                return  # nothing left here beats the incumbent; later sets lose the code tie-break
            low = pool & -pool
            v = low.bit_length() - 1
            pool ^= low
            pool_r ^= 1 << self.rpos[v]
            r = self.rir_of[v]
            if counts[r] >= cap:
                continue
            vcost = self.cost[v] if self.cost else 0.0
            if self.max_cost is not None and cost + vcost > self.max_cost:
                continue
            new_min = min([cur_min, self.dp[v], *(self.d[v][u] for u in self.inc), *(self.d[v][u] for u in chosen)])
            counts[r] += 1
            provs[self.prov_of[v]] += 1
            chosen.append(v)
            self._best(pool & adj[v], pool_r & adj_r[v], need - 1, counts, provs, cost + vcost, chosen, new_min,
                       adj, adj_r, cap, clock, best)
            chosen.pop()
            provs[self.prov_of[v]] -= 1
            counts[r] -= 1

    # ------------------------------------------------------------------ diagnosis
    def largest_feasible(self, clock: _Clock) -> int:
        """The largest set size (< count) that meets R1 and >= 2 RIRs with the includes (0: none)."""
        saved = self.count
        try:
            for size in range(saved - 1, max(len(self.inc), MIN_COUNT) - 1, -1):
                self.count = size
                if self.first_set(MIN_DISTANCE_KM, size - 1, clock) is not None:
                    return size
            return 0
        finally:
            self.count = saved


def _class_starts(pool: int, adj: list[int], limit: int) -> list[int]:
    """The first region (lowest bit) of each of the first ``limit`` classes of a greedy
    colouring of ``pool`` that takes regions in bit order (see :func:`_colours`)."""
    starts = []
    while pool and len(starts) < limit:
        rest = pool
        starts.append((rest & -rest).bit_length() - 1)
        while rest:
            low = rest & -rest
            pool ^= low
            rest &= ~low & ~adj[low.bit_length() - 1]
    return starts


def _colours(pool: int, adj: list[int], limit: int) -> int:
    """Greedy colouring of ``pool`` into classes of mutually conflicting regions (closer than the
    threshold): a set whose pairs all clear the threshold holds at most one region per class.
    Stops counting at ``limit``."""
    classes = 0
    while pool:
        classes += 1
        if classes >= limit:
            return classes
        rest = pool
        while rest:
            low = rest & -rest
            pool ^= low
            rest &= ~low & ~adj[low.bit_length() - 1]
    return classes


@dataclasses.dataclass
class _Outcome:
    members: list[int]
    robust: bool
    proven: bool


def _phase_a(problem: _Problem, clock: _Clock) -> tuple[list[int] | None, bool, bool]:
    """(phase A's best set or None, whether it is RIR-robust, whether phase A finished)."""
    best, proven = problem.max_min(problem.robust_cap, clock)
    if best is not None or not proven:
        return best, True, proven
    best, proven = problem.max_min(problem.loose_cap, clock)
    return best, False, proven


def _phase_b(problem: _Problem, best: list[int], robust: bool, proven: bool, clock: _Clock, tolerance_km: float,
             d_star: float | None = None) -> tuple[list[int], bool]:
    """Phase B in the band below ``d_star`` (default: ``best``'s minimum): (set, finished)."""
    d_star = problem.min_pair(best) if d_star is None else d_star
    threshold = max(MIN_DISTANCE_KM, d_star - tolerance_km)
    cap = problem.robust_cap if robust else problem.loose_cap
    band, finished = problem.best_in_band(threshold, cap, clock, d_star if proven else math.inf, seed=best)
    return (band.members if band.members is not None else best), finished


def _solve(problem: _Problem, clock: _Clock, tolerance_km: float) -> _Outcome | None:
    """Phases A and B; None when no compliant set exists (proven). Raises _Timeout when the
    budget ends before any compliant set was found."""
    best, robust, proven = _phase_a(problem, clock)
    if best is None:
        if proven:
            return None
        raise _Timeout
    members, finished = _phase_b(problem, best, robust, proven, clock, tolerance_km)
    return _Outcome(members, robust, proven and finished)


# ---------------------------------------------------------------------- validation
def _catalog_codes_hint() -> str:
    return "a code from config/regions.yaml (e.g. us-east-1, eu-west-1, ap-northeast-1)"


def _validate(req: SuggestRequest) -> tuple[list[Location], list[Location]]:
    """Check the request; return (free candidates, includes) after every filter."""
    on = req.evaluation_date
    catalog = load_catalog()
    known_providers = sorted({loc.provider for loc in catalog.values()})
    if not isinstance(req.count, int) or req.count < MIN_COUNT:
        raise ConfigError(f"--count: {req.count!r} remote perspectives; BR 3.2.2.9 needs >= 2 remote perspectives "
                          f"(>= {max(MIN_COUNT, min_remote_perspectives(on))} on {on.isoformat()}). "
                          f"Use --count {max(MIN_COUNT, min_remote_perspectives(on))} or more.",
                          key="--count", value=req.count)
    need = min_remote_perspectives(on)
    if req.count < need:
        raise ConfigError(f"--count: {req.count} remote perspectives; BR 3.2.2.9 needs >= {need} on "
                          f"{on.isoformat()} (R3). Use --count {need} or more.", key="--count", value=req.count)
    unknown = sorted(req.providers - set(known_providers))
    if not req.providers or unknown:
        raise ConfigError(f"--providers: {', '.join(unknown) or '(none)'} is not a provider of the catalog. "
                          f"Use a comma-separated subset of {','.join(known_providers)}.",
                          key="--providers", value=",".join(sorted(req.providers)))
    for key, codes in (("--include", req.include), ("--exclude", sorted(req.exclude))):
        for code in codes:
            if code not in catalog:
                raise ConfigError(f"{key}: unknown region '{code}'. Use {_catalog_codes_hint()}.", key=key, value=code)
    both = sorted(set(req.include) & req.exclude)
    if both:
        raise ConfigError(f"--include: {both[0]} is also in --exclude. Drop it from one of them.",
                          key="--include", value=both[0])
    if len(req.include) > req.count:
        raise ConfigError(f"--include: {len(req.include)} regions ({', '.join(req.include)}) do not fit in "
                          f"--count {req.count}. Raise --count to {len(req.include)} or include fewer.",
                          key="--include", value=",".join(req.include))
    primary_code = req.primary.code if req.primary is not None else None
    includes = [catalog[c] for c in req.include]
    for loc in includes:
        if loc.provider not in req.providers:
            raise ConfigError(f"--include: {loc.code} is a {loc.provider} region but --providers is "
                              f"{','.join(sorted(req.providers))}. Add {loc.provider} to --providers or drop "
                              f"{loc.code}.", key="--include", value=loc.code)
        if req.no_opt_in and loc.opt_in:
            raise ConfigError(f"--include: {loc.code} ({loc.city}) is an opt-in region and --no-opt-in is set. "
                              f"Drop --no-opt-in or drop {loc.code}.", key="--include", value=loc.code)
        if loc.code == primary_code:
            raise ConfigError(f"--include: {loc.code} is the primary perspective; the remote perspectives must be "
                              "distinct from it. Drop it from --include.", key="--include", value=loc.code)
    for loc in includes:
        if req.primary is not None and distance_km(req.primary, loc) < MIN_DISTANCE_KM:
            raise ConfigError(f"--include: {loc.code} is {distance_km(req.primary, loc):,.0f} km from the primary "
                              f"{primary_code}; BR 3.2.2.9 needs >= 500 km. Drop it from --include or choose another "
                              "primary.", key="--include", value=loc.code)
    for a, b in itertools.combinations(includes, 2):
        if distance_km(a, b) < MIN_DISTANCE_KM:
            raise ConfigError(f"--include: {a.code} and {b.code} are {distance_km(a, b):,.0f} km apart; BR 3.2.2.9 "
                              "needs >= 500 km between every pair. Keep one of them in --include.",
                              key="--include", value=f"{a.code},{b.code}")
    if req.max_monthly_usd is not None:
        if req.region_monthly_usd is None:
            raise ConfigError("--max-monthly-usd: needs the per-region monthly cost (give --target aws-hosts or "
                              "aws-lambda).", key="--max-monthly-usd", value=req.max_monthly_usd)
        if req.max_monthly_usd < 0:
            raise ConfigError(f"--max-monthly-usd: {req.max_monthly_usd} is negative. Give a budget in USD per month.",
                              key="--max-monthly-usd", value=req.max_monthly_usd)
        unpriced = [loc.code for loc in includes if loc.code not in req.region_monthly_usd]
        if unpriced:
            raise ConfigError(f"--include: {unpriced[0]} has no monthly price for this target, so the budget cannot "
                              f"be checked. Drop --max-monthly-usd or {unpriced[0]}.", key="--include",
                              value=unpriced[0])
    if req.time_budget_s <= 0:
        raise ConfigError(f"--time-limit: {req.time_budget_s} s; give the search a positive number of seconds.",
                          key="--time-limit", value=req.time_budget_s)
    free = _pool(req.providers, req.exclude | set(req.include), req.no_opt_in, req.primary,
                 req.region_monthly_usd if req.max_monthly_usd is not None else None)
    return free, includes


def _pool(providers: Iterable[str], exclude: Iterable[str], no_opt_in: bool, primary: Location | None,
          priced: Mapping[str, float] | None) -> list[Location]:
    """Catalog regions of ``providers`` that may join a set: not excluded, not the primary nor
    within 500 km of it, enabled by default when ``no_opt_in``, priced when a budget applies."""
    providers, exclude = set(providers), set(exclude)
    return [loc for code, loc in load_catalog().items()
            if loc.provider in providers and code not in exclude and not (no_opt_in and loc.opt_in)
            and (priced is None or code in priced)
            and (primary is None or (code != primary.code and distance_km(primary, loc) >= MIN_DISTANCE_KM))]


def _infeasible(req: SuggestRequest, problem: _Problem, clock: _Clock) -> ConfigError:
    """Why no compliant set exists, and what to relax."""
    prim = f"primary {req.primary.code}" if req.primary else None
    if len(problem.inc) == req.count and len({problem.locs[i].rir for i in problem.inc}) < 2:
        return ConfigError(f"--include: every included region is in {problem.locs[problem.inc[0]].rir.value}; "
                           "BR 3.2.2.9 needs >= 2 RIRs. Include one region of another RIR or raise --count.",
                           key="--include", value=",".join(req.include))
    relax = ("widen --providers, drop --no-opt-in or shorten --exclude"
             + (" (and --include)" if req.include else ""))
    if problem.max_cost is not None:
        free = [problem.locs[i] for i in range(problem.n) if i not in problem.inc]
        unbudgeted = _Problem(req.count, req.primary, free, [problem.locs[i] for i in problem.inc], None, None,
                              problem.multi_provider)
        if unbudgeted.first_set(MIN_DISTANCE_KM, unbudgeted.loose_cap, clock) is not None:
            cheapest = _min_cost_set(problem, clock)
            fix = "raise --max-monthly-usd"
            if cheapest is not None:
                usd, members, proven = cheapest
                fix = (f"the cheapest compliant set{'' if proven else ' found in the time budget'} "
                       f"({', '.join(problem.locs[i].code for i in members)}) costs ${usd:,.2f}; raise "
                       f"--max-monthly-usd to at least {math.ceil(usd * 100) / 100:.2f}")
            return ConfigError(f"--max-monthly-usd: no compliant set of {req.count} remote perspectives costs <= "
                               f"${req.max_monthly_usd:,.2f} a month; {fix}, or lower --count.",
                               key="--max-monthly-usd", value=req.max_monthly_usd)
    most = problem.largest_feasible(clock)
    where = f"{problem.n} candidate regions" + (f" at >= 500 km from the {prim}" if prim else "")
    if most:
        return ConfigError(f"--count: no {req.count} of the {where} are pairwise >= 500 km apart in >= 2 RIRs "
                           f"(BR 3.2.2.9); at most {most} are. Lower --count to {most}, or {relax}.",
                           key="--count", value=req.count)
    return ConfigError(f"--count: no compliant set of {req.count} exists among the {where}. {relax[0].upper()}"
                       f"{relax[1:]}.", key="--count", value=req.count)


def _min_cost_set(problem: _Problem, clock: _Clock) -> tuple[float, list[int], bool] | None:
    """The cheapest set meeting the hard constraints without the budget, and whether the search
    finished (None when none was found)."""
    free = [problem.locs[i] for i in range(problem.n) if i not in problem.inc]
    prices = {loc.code: problem.cost[i] for i, loc in enumerate(problem.locs)}  # type: ignore[index]
    unbounded = _Problem(problem.count, problem.primary, free, [problem.locs[i] for i in problem.inc],
                         prices, None, False)
    ctx = unbounded._context(MIN_DISTANCE_KM, unbounded.loose_cap)
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
        if not unbounded._viable(pool, need, counts, cost, unbounded.loose_cap, adj):
            return
        while pool.bit_count() >= need:
            if cost + unbounded._cheapest(pool, need) >= best[0]:
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
    except _Timeout:
        proven = False
    if best[1] is None:  # pragma: no cover - the caller found a set, the first descent finds one
        return None
    return best[0], best[1], proven


# ---------------------------------------------------------------------- public API
def suggest(request: SuggestRequest) -> Suggestion:
    """The compliant set of ``request.count`` remote perspectives that is best for the objective
    of this module (see its docstring), by exact search within ``request.time_budget_s``.

    Raises :class:`~config.errors.ConfigError` (key, value, rule and fix in the message) for bad
    input (count below the R3 minimum, unknown codes, contradictory filters) and for requests
    that no set can meet (too large a count, includes too close, too small a budget).
    """
    free, includes = _validate(request)
    clock = _Clock(request.time_budget_s)
    problem = _Problem(request.count, request.primary, free, includes,
                       request.region_monthly_usd, request.max_monthly_usd, len(request.providers) > 1)
    if problem.n < request.count:
        where = "after --providers, --exclude, --no-opt-in" + (" and the 500 km rule around the primary"
                                                                if request.primary else "")
        raise ConfigError(f"--count: {request.count} remote perspectives asked but only {problem.n} candidate regions "
                          f"remain {where}. Lower --count or widen the filters.", key="--count", value=request.count)
    try:
        outcome = _solve(problem, clock, request.tolerance_km)
    except _Timeout:
        raise ConfigError(f"--count: no compliant set of {request.count} was found within the time budget of "
                          f"{request.time_budget_s:g} s. Give the search more time or fewer candidates.",
                          key="--count", value=request.count) from None
    if outcome is None:
        try:  # the diagnosis searches too: give it a budget of its own
            error = _infeasible(request, problem, _Clock(max(1.0, request.time_budget_s)))
        except _Timeout:
            error = ConfigError(f"--count: no compliant set of {request.count} remote perspectives exists with these "
                                "filters (BR 3.2.2.9: >= 500 km apart, primary included, in >= 2 RIRs). Lower "
                                "--count, widen --providers, drop --no-opt-in or shorten --exclude/--include.",
                                key="--count", value=request.count)
        raise error
    return _build(problem, outcome, request.evaluation_date, clock, included=set(request.include),
                  costs=request.region_monthly_usd)


def _build(problem: _Problem, outcome: _Outcome, on: dt.date, clock: _Clock, *, included: set[str],
           costs: Mapping[str, float] | None, order: Sequence[str] | None = None, kept: Iterable[str] = (),
           replaced: tuple[tuple[str, str], ...] = ()) -> Suggestion:
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
    cfg = _adhoc_config(locs, primary, on)
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
        replaced=replaced)


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


def _config_value(loc: Location) -> str | dict:
    """How a stack file names ``loc``: its code, or a site object for a custom site."""
    if not loc.is_custom_site:
        return loc.code
    return {"name": loc.code, "lat": loc.lat, "lon": loc.lon, "rir": loc.rir.value, "city": loc.city,
            "country": loc.country}


def _adhoc_config(perspectives: Sequence[Location], primary: Location | None, on: dt.date) -> StackConfig:
    raw: dict = {"target": "local", "perspectives": [_config_value(p) for p in perspectives], "asOf": on}
    if primary is not None:
        raw["primary"] = _config_value(primary)
    return StackConfig.from_config(raw)


# ---------------------------------------------------------------------- repair
REGION_RULES = frozenset({"R1", "R3", "R5"})
"""The rules whose violations a different region set can fix."""


def repair(cfg: StackConfig, *, providers: Iterable[str] | None = None, no_opt_in: bool = False,
           today: dt.date | None = None, time_budget_s: float = DEFAULT_TIME_BUDGET_S,
           tolerance_km: float = DEFAULT_TOLERANCE_KM, region_monthly_usd: Mapping[str, float] | None = None,
           max_monthly_usd: float | None = None) -> Suggestion | None:
    """The compliant region set closest to ``cfg``'s: fewest replacements, then the objective of
    :func:`suggest` (module docstring), by exact search over which of the config's regions to keep.

    Returns None when the config's region set (primary included) breaks none of R1, R3 and R5
    (findings of other rules, e.g. R6 resolvers, are not fixed by moving regions). The size of the
    repaired set is the config's number of perspectives, raised to the R3 minimum on the
    evaluation date (``cfg.as_of``, else ``today``, else the real date). ``providers`` defaults
    to the providers of the config's catalog regions; custom sites are kept when they fit.
    ``Suggestion.replaced`` pairs each removed region with the added region nearest to it;
    ``perspectives`` keeps the config's order with each replacement in its predecessor's place.
    Raises ConfigError when no compliant set of that size exists with these filters.
    """
    on = cfg.evaluation_date(today)
    primary = cfg.primary
    originals = list(cfg.perspectives)
    probe = check_stack(_adhoc_config(originals, primary, on))
    if not any(f.rule in REGION_RULES for f in probe.violations):
        return None
    count = max(len(originals), min_remote_perspectives(on), MIN_COUNT)
    provs = set(providers) if providers is not None else {p.provider for p in originals if not p.is_custom_site}
    provs = provs or {"aws"}
    priced = region_monthly_usd if max_monthly_usd is not None else None
    free = _pool(provs, {p.code for p in originals}, no_opt_in, primary, priced)
    clock = _Clock(time_budget_s)
    multi = len(provs) > 1

    found: list[tuple[_Problem, list[int], bool, bool, list[Location]]] = []
    try:
        for k in range(min(len(originals), count), -1, -1):
            for kept in itertools.combinations(originals, k):
                if not _compatible(kept, primary, priced):
                    continue
                problem = _Problem(count, primary, free, kept, region_monthly_usd, max_monthly_usd, multi)
                if problem.n < count:
                    continue
                best, robust, proven = _phase_a(problem, clock)
                if best is None and not proven:
                    raise _Timeout
                if best is not None:
                    found.append((problem, best, robust, proven, list(kept)))
            if found:
                break
    except _Timeout:
        if not found:
            raise ConfigError(f"mpic:perspectives: no compliant set of {count} was found within the time budget of "
                              f"{time_budget_s:g} s. Give the search more time.", key="mpic:perspectives",
                              value=list(cfg.codes)) from None
    if not found:
        raise ConfigError(f"mpic:perspectives: no compliant set of {count} remote perspectives exists among the "
                          f"{', '.join(sorted(provs))} regions{' enabled by default' if no_opt_in else ''} "
                          f"(BR 3.2.2.9: >= 500 km apart, primary included, in >= 2 RIRs). Allow more providers"
                          f"{' or opt-in regions' if no_opt_in else ''}.", key="mpic:perspectives",
                          value=list(cfg.codes))
    robust = any(r for _, _, r, _, _ in found)
    found = [entry for entry in found if entry[2] == robust]
    d_star = max(p.min_pair(best) for p, best, _, _, _ in found)
    all_proven = all(proven for _, _, _, proven, _ in found)
    ranked = []
    for problem, best, _, _, kept in found:
        if problem.min_pair(best) < d_star - tolerance_km:
            continue
        members, finished = _phase_b(problem, best, robust, all_proven, clock, tolerance_km, d_star)
        all_proven = all_proven and finished
        key = problem.key(members)
        codes = sorted(problem.locs[i].code for i in members)
        ranked.append((tuple(-x for x in key), codes, problem, members, kept))
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
    outcome = _Outcome(members, robust and problem.robust(members), all_proven)
    return _build(problem, outcome, on, clock, included=set(), costs=region_monthly_usd, order=order,
                  kept=kept_codes, replaced=tuple(pairs) + tuple(("", a.code) for a in spare)
                  if removed or spare else ())


def _compatible(kept: Sequence[Location], primary: Location | None, priced: Mapping[str, float] | None) -> bool:
    """Whether ``kept`` alone meets R1 (primary included) and, under a budget, is priced."""
    if priced is not None and any(p.code not in priced for p in kept):
        return False
    points = ([primary] if primary else []) + list(kept)
    return all(distance_km(a, b) >= MIN_DISTANCE_KM for a, b in itertools.combinations(points, 2))
