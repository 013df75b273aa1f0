"""Fix suggestions for the compliance findings: which catalog regions could take a region's place.

Pure functions over the validated config and the catalog; :mod:`config.compliance` words its
findings with them. Suggestions avoid opt-in regions (an AWS account must enable those first)
and stay with the provider of the region they replace.
"""

from __future__ import annotations

from config.br import MIN_DISTANCE_KM
from config.catalog import Location, load_catalog
from config.geo import distance_km, format_km
from config.model import StackConfig


def suggest_replacements(cfg: StackConfig, remove: Location, limit: int = 3) -> list[tuple[Location, float]]:
    """Catalog regions that could replace ``remove`` and satisfy every config rule.

    Each candidate is >= 500 km + the borderline margin from every remaining location (primary
    included), keeps the pool at >= 2 RIRs and is not an opt-in region. Nearest to ``remove``
    first, so the fleet's geography changes as little as possible. Returned with the candidate's
    distance to its nearest remaining location.
    """
    keep = [p for p in cfg.locations if p.code != remove.code]
    in_use = {p.code for p in cfg.locations}
    remote_rirs = {p.rir for p in cfg.perspectives if p.code != remove.code}
    needed = MIN_DISTANCE_KM + cfg.borderline_margin_km
    out: list[tuple[float, Location, float]] = []
    for cand in load_catalog().values():
        if cand.code in in_use or cand.opt_in or (remove.provider != "site" and cand.provider != remove.provider):
            continue
        nearest = min((distance_km(cand, k) for k in keep), default=float("inf"))
        if nearest < needed or len(remote_rirs | {cand.rir}) < 2:
            continue
        out.append((distance_km(cand, remove), cand, nearest))
    out.sort(key=lambda t: (t[0], t[1].code))
    return [(cand, nearest) for _, cand, nearest in out[:limit]]


def fix_text(cfg: StackConfig, remove: Location) -> str:
    options = suggest_replacements(cfg, remove)
    if not options:
        return f"Remove {remove.code}: no catalog region satisfies every rule in its place."
    first, nearest = options[0]
    text = f"Replace {remove.code} with {first.code} ({first.city}, {format_km(nearest)} from every other perspective)"
    if len(options) > 1:
        text += " or " + ", ".join(f"{c.code} ({c.city})" for c, _ in options[1:])
    return text + "."



def suggest_additions(cfg: StackConfig, count: int) -> str:
    """Greedy: the non-opt-in catalog regions farthest from every current location."""
    chosen: list[Location] = []
    points = cfg.locations
    in_use = {p.code for p in points}
    candidates = [c for c in load_catalog().values() if c.provider == "aws" and not c.opt_in and c.code not in in_use]
    for _ in range(count):
        best = max(candidates, key=lambda c: min((distance_km(c, p) for p in points + chosen), default=0.0),
                   default=None)
        if best is None:  # pragma: no cover - the catalog holds far more regions than any phase needs
            break
        chosen.append(best)
        candidates.remove(best)
    return ", ".join(c.code for c in chosen)

def other_rir_example(cfg: StackConfig, rir: str) -> str:
    points = cfg.locations
    cands = [c for c in load_catalog().values()
             if c.rir.value != rir and not c.opt_in and c.provider == "aws"
             and all(distance_km(c, p) >= MIN_DISTANCE_KM + cfg.borderline_margin_km for p in points)]
    return ", ".join(c.code for c in cands[:3]) or "a region of another RIR"
