"""The R2 advisory's suggestion: which catalog regions could take a borderline region's place.

Pure functions over the validated config and the catalog. (Violations that a different region set
fixes are repaired once for the whole report by :mod:`plan.suggest.advice`, not here.) Suggestions avoid opt-in regions (an AWS account must enable those first)
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
