"""The exact search behind ``mpic suggest``: the candidates as bitsets, the bounds, phase A.

Distances are computed once into a matrix (GeographicLib WGS84 via ``config.geo``), candidate
sets are Python-int bitsets. Phase A (:meth:`Problem.max_min`) finds D*, the largest smallest
pairwise distance of any set that meets the hard constraints: a feasibility search for a set
whose pairs are all >= T, restarted with T raised past the minimum of every set found, until no
set exists (proof) or the time budget ends. It prunes by the remaining candidate count, by a
per-RIR capacity bound and by a greedy colouring bound (a set whose pairs are all >= T takes at
most one region from each colour class of "closer than T" conflicts). Phase B, the later keys of
the objective inside the distance band, is :mod:`plan.suggest.band`.

Every search step ticks a :class:`Clock`; past its budget it raises :class:`SearchTimeout` and the
caller keeps the best set found so far, unproven.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


from config.br import MIN_DISTANCE_KM, allowed_non_corroborations, required_quorum
from config.catalog import Location
from config.geo import distance_km
from plan.suggest.model import MIN_COUNT, rtt_floor_ms


class SearchTimeout(Exception):
    pass


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.start = time.perf_counter()
        self.deadline = self.start + budget_s
        self.nodes = 0

    def tick(self) -> None:
        self.nodes += 1
        if not self.nodes & 255 and time.perf_counter() > self.deadline:
            raise SearchTimeout

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


class Problem:
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
        self.prov_masks_r = [self.to_rtt_space(m) for m in self.prov_masks]
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

    def to_rtt_space(self, mask: int) -> int:
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
    def context(self, threshold: float, cap: int) -> tuple[list[int], int, list[int], float] | None:
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

    def cheapest(self, pool: int, k: int) -> float:
        total, taken = 0.0, 0
        for i in self.cost_order:
            if taken == k:
                break
            if pool >> i & 1:
                total += self.cost[i]  # type: ignore[index]
                taken += 1
        return total

    def viable(self, pool: int, need: int, counts: list[int], cost: float, cap: int, adj: list[int]) -> bool:
        """Cheap necessary conditions for completing a set with ``need`` regions from ``pool``."""
        if pool.bit_count() < need:
            return False
        room = sum(min(cap - c, (pool & m).bit_count()) for c, m in zip(counts, self.rir_masks))
        if room < need:
            return False
        if self.max_cost is not None and cost + self.cheapest(pool, need) > self.max_cost:
            return False
        return colours(pool, adj, need) >= need

    # ------------------------------------------------------------------ phase A: D*
    def first_set(self, threshold: float, cap: int, clock: Clock) -> list[int] | None:
        """Any set whose pairs (primary included) are all >= ``threshold``, or None."""
        ctx = self.context(threshold, cap)
        if ctx is None:
            return None
        adj, pool, counts, cost = ctx
        chosen: list[int] = []
        if self._first(pool, self.count - len(self.inc), counts, cost, chosen, adj, cap, clock):
            return sorted(self.inc + chosen)
        return None

    def _first(self, pool: int, need: int, counts: list[int], cost: float, chosen: list[int],
               adj: list[int], cap: int, clock: Clock) -> bool:
        if need == 0:
            return True
        clock.tick()
        if not self.viable(pool, need, counts, cost, cap, adj):
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

    def max_min(self, cap: int, clock: Clock) -> tuple[list[int] | None, bool]:
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
        except SearchTimeout:
            return best, False

    def largest_feasible(self, clock: Clock) -> int:
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


def class_starts(pool: int, adj: list[int], limit: int) -> list[int]:
    """The first region (lowest bit) of each of the first ``limit`` classes of a greedy
    colouring of ``pool`` that takes regions in bit order (see :func:`colours`)."""
    starts = []
    while pool and len(starts) < limit:
        rest = pool
        starts.append((rest & -rest).bit_length() - 1)
        while rest:
            low = rest & -rest
            pool ^= low
            rest &= ~low & ~adj[low.bit_length() - 1]
    return starts


def colours(pool: int, adj: list[int], limit: int) -> int:
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


def phase_a(problem: Problem, clock: Clock) -> tuple[list[int] | None, bool, bool]:
    """(phase A's best set or None, whether it is RIR-robust, whether phase A finished): a
    RIR-robust set when one exists, else any set in >= 2 RIRs."""
    best, proven = problem.max_min(problem.robust_cap, clock)
    if best is not None or not proven:
        return best, True, proven
    best, proven = problem.max_min(problem.loose_cap, clock)
    return best, False, proven
