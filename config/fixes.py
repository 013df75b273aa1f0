"""Fix suggestions for the compliance findings: which catalog regions could take a region's place.

Pure functions over the validated config and the catalog; :mod:`config.compliance` words its
findings with them. Suggestions avoid opt-in regions (an AWS account must enable those first)
and stay with the provider of the region they replace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from config.br import MIN_DISTANCE_KM
from config.catalog import Location, load_catalog
from config.geo import distance_km, format_km
from config.model import StackConfig


def suggest_replacements(cfg: StackConfig, remove: Location, limit: int = 3, *, gone: Iterable[str] = (),
                         added: Sequence[Location] = ()) -> list[tuple[Location, float]]:
    """Catalog regions that could replace ``remove`` and satisfy every config rule.

    Each candidate is >= 500 km + the borderline margin from every remaining location (primary
    included; ``gone``: other regions being replaced too; ``added``: replacements already chosen
    for them), keeps the pool at >= 2 RIRs and is not an opt-in region. Nearest to ``remove``
    first, so the fleet's geography changes as little as possible. Returned with the candidate's
    distance to its nearest remaining location.
    """
    gone_codes = {remove.code, *gone}
    keep = [p for p in cfg.locations if p.code not in gone_codes] + list(added)
    in_use = {p.code for p in cfg.locations} | {a.code for a in added}
    remote_rirs = {p.rir for p in cfg.perspectives if p.code not in gone_codes} | {a.rir for a in added}
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


def replacement_texts(cfg: StackConfig, removals: Sequence[Location]) -> dict[str, str]:
    """The fix sentence for each region to replace, chosen in turn so that they never collide:
    each replacement is >= 500 km + margin from every region kept and from every replacement
    chosen before it, and no region replaces two."""
    gone = [r.code for r in removals]
    chosen: list[Location] = []
    out: dict[str, str] = {}
    for remove in removals:
        if remove.code in out:
            continue
        out[remove.code] = fix_text(cfg, remove, gone=gone, added=chosen)
        options = suggest_replacements(cfg, remove, 1, gone=gone, added=chosen)
        chosen += [options[0][0]] if options else []
    return out


def fix_text(cfg: StackConfig, remove: Location, *, gone: Iterable[str] = (), added: Sequence[Location] = ()) -> str:
    """``Replace X with Y (city, N km from every other perspective) or ...``, or ``Remove X``."""
    options = suggest_replacements(cfg, remove, gone=gone, added=added)
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
