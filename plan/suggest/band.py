"""Phase B of the ``mpic suggest`` search, and the two phases together (:func:`solve`).

Phase A (:mod:`plan.suggest.search`) proves D*, the largest smallest pairwise distance. Phase B
enumerates the sets whose pairs are all >= max(500, D* - tolerance) in code order, with a
lexicographic upper bound on the later keys of the objective (:meth:`Problem.key`), computed
lazily, key by key: the providers still reachable; the quorum-th smallest RTT if the regions still
to add were the fastest region of each of the first colour classes of the pool (coloured fastest
first: a set takes at most one region per class); the opt-in regions chosen or forced; the
current minimum capped at D*. ``proven`` is true when both phases finished inside the budget.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from config.br import MIN_DISTANCE_KM
from plan.suggest.search import Clock, Problem, SearchTimeout, class_starts, colours, phase_a


@dataclasses.dataclass
class Incumbent:
    """The best set found so far in phase B and its key."""

    key: tuple | None = None
    members: list[int] | None = None
    seeded: bool = False
    """``key`` is a seed (a known set's key): sets with an equal key still replace it."""


@dataclasses.dataclass
class Outcome:
    members: list[int]
    robust: bool
    proven: bool


class _Band:
    """One phase B search: the problem at one threshold, its adjacency in both bit orders."""

    def __init__(self, problem: Problem, adj: list[int], cap: int, clock: Clock, min_cap: float,
                 best: Incumbent) -> None:
        self.p, self.adj, self.cap, self.clock, self.min_cap, self.best = problem, adj, cap, clock, min_cap, best
        self.adj_r = [problem.to_rtt_space(m) for m in adj]  # by region index, masks in RTT order
        self.adj_by_pos = [self.adj_r[i] for i in problem.rtt_order]  # by RTT position, masks in RTT order

    def dominated(self, chosen: list[int], pool: int, pool_r: int, need: int, provs: list[int],
                  cur_min: float) -> bool:
        """Whether no set completing ``chosen`` from the pool can replace the incumbent: an upper
        bound of the keys, compared lexicographically and computed lazily, key by key
        (``pool_r``: the pool as bits in RTT order)."""
        p, key = self.p, self.best.key
        assert key is not None
        strict = not self.best.seeded  # a seed yields to an equal key, a found set does not

        def decided(bound: float, incumbent: float) -> bool | None:
            if bound != incumbent:
                return bound < incumbent
            return None

        prov = 0
        if p.multi_provider:
            used = sum(1 for c in provs if c)
            avail = sum(1 for c, m in zip(provs, p.prov_masks_r) if not c and pool_r & m)
            prov = used + min(need, avail)
        verdict = decided(prov, key[0])
        if verdict is not None:
            return verdict
        rtt = 0.0
        if p.primary is not None:
            # The regions still to add hold at most one region per colour class of the pool
            # (classes of mutual conflicts, coloured fastest first), so their sorted RTTs are at
            # least the ``need`` smallest class minima: the quorum-th smallest RTT is bounded.
            values = [p.rtt[i] for i in p.inc]
            values += [p.rtt[i] for i in chosen]
            starts = class_starts(pool_r, self.adj_by_pos, need)
            if len(starts) < need:
                return True  # fewer classes than regions to add: no completion exists
            values += [p.rtt_sorted[pos] for pos in starts]
            values.sort()
            rtt = -values[p.quorum - 1]
        verdict = decided(rtt, key[1])
        if verdict is not None:
            return verdict
        # opt-in regions: those chosen, plus those forced because at most one enabled-by-default
        # region per colour class of the pool can join
        opt_in = sum(p.opt_in[i] for i in p.inc) + sum(p.opt_in[i] for i in chosen)
        opt_in += max(0, need - colours(pool & p.enabled, self.adj, need))
        verdict = decided(-opt_in, key[2])
        if verdict is not None:
            return verdict
        bound_min = min(cur_min, self.min_cap)
        return bound_min < key[3] or (bound_min == key[3] and strict)

    def walk(self, pool: int, pool_r: int, need: int, counts: list[int], provs: list[int], cost: float,
             chosen: list[int], cur_min: float) -> None:
        p, best, adj = self.p, self.best, self.adj
        self.clock.tick()
        if need == 0:
            members = sorted(p.inc + chosen)
            key = p.key(members)
            if best.key is None or key > best.key or (best.seeded and key == best.key):
                best.key, best.members, best.seeded = key, members, False  # equal keys: the first in code order
            return
        if not p.viable(pool, need, counts, cost, self.cap, adj):
            return
        while pool.bit_count() >= need:
            if best.key is not None and self.dominated(chosen, pool, pool_r, need, provs, cur_min):
                return  # nothing left here beats the incumbent; later sets lose the code tie-break
            low = pool & -pool
            v = low.bit_length() - 1
            pool ^= low
            pool_r ^= 1 << p.rpos[v]
            r = p.rir_of[v]
            if counts[r] >= self.cap:
                continue
            vcost = p.cost[v] if p.cost else 0.0
            if p.max_cost is not None and cost + vcost > p.max_cost:
                continue
            new_min = min([cur_min, p.dp[v], *(p.d[v][u] for u in p.inc), *(p.d[v][u] for u in chosen)])
            counts[r] += 1
            provs[p.prov_of[v]] += 1
            chosen.append(v)
            self.walk(pool & adj[v], pool_r & self.adj_r[v], need - 1, counts, provs, cost + vcost, chosen, new_min)
            chosen.pop()
            provs[p.prov_of[v]] -= 1
            counts[r] -= 1


def best_in_band(problem: Problem, threshold: float, cap: int, clock: Clock, min_cap: float = math.inf,
                 seed: Sequence[int] | None = None) -> tuple[Incumbent, bool]:
    """Phase B: the best set by the later keys among those with all pairs >= ``threshold``.

    ``min_cap``: a proven upper bound of any set's smallest distance (D* of phase A), which caps
    the last key in the bound so that ties on the keys before it are cut early. ``seed``: a set
    in the band (phase A's), whose key starts the search as incumbent; the code-order tie-break
    stays exact because a seed yields to the first set found with an equal key."""
    best = Incumbent()
    if seed is not None:
        best.key, best.members, best.seeded = problem.key(seed), list(seed), True
    ctx = problem.context(threshold, cap)
    if ctx is None:  # pragma: no cover - phase A found a set at a threshold at least this high
        return best, True
    adj, pool, counts, cost = ctx
    provs = [0] * len(problem.prov_masks)
    for i in problem.inc:
        provs[problem.prov_of[i]] += 1
    band = _Band(problem, adj, cap, clock, min_cap, best)
    try:
        band.walk(pool, problem.to_rtt_space(pool), problem.count - len(problem.inc), counts, provs, cost, [],
                  problem.min_pair(problem.inc))
    except SearchTimeout:
        return best, False
    return best, True


def phase_b(problem: Problem, best: list[int], robust: bool, proven: bool, clock: Clock, tolerance_km: float,
            d_star: float | None = None) -> tuple[list[int], bool]:
    """Phase B in the band below ``d_star`` (default: ``best``'s minimum): (set, finished)."""
    d_star = problem.min_pair(best) if d_star is None else d_star
    threshold = max(MIN_DISTANCE_KM, d_star - tolerance_km)
    cap = problem.robust_cap if robust else problem.loose_cap
    band, finished = best_in_band(problem, threshold, cap, clock, d_star if proven else math.inf, seed=best)
    return (band.members if band.members is not None else best), finished


def solve(problem: Problem, clock: Clock, tolerance_km: float) -> Outcome | None:
    """Phases A and B; None when no compliant set exists (proven). Raises SearchTimeout when the
    budget ends before any compliant set was found."""
    best, robust, proven = phase_a(problem, clock)
    if best is None:
        if proven:
            return None
        raise SearchTimeout
    members, finished = phase_b(problem, best, robust, proven, clock, tolerance_km)
    return Outcome(members, robust, proven and finished)
