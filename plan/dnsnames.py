"""Names and zones of the local fleet's mini-internet: which served zone holds a name, which
zone is a zone's parent, its TLD. Pure; names absolute (trailing dot), lower case."""

from __future__ import annotations

from typing import Iterable


def zone_parents(origin: str, served: Iterable[str]) -> str:
    """The closest zone in ``served`` that encloses ``origin`` (``"."`` at worst).

    Names are absolute (trailing dot), lower case.
    """
    origin = origin.lower()
    best = "."
    for z in served:
        z = z.lower()
        if z == origin or z == ".":
            continue
        if origin.endswith("." + z) and len(z) > len(best):
            best = z
    return best


def tld_of(origin: str) -> str:
    """``a.b.example.`` -> ``example.``; ``.`` -> ``.``."""
    labels = [x for x in origin.lower().split(".") if x]
    return f"{labels[-1]}." if labels else "."


def zone_for_name(name: str, served: Iterable[str]) -> str | None:
    """The longest served zone that contains ``name`` (absolute), or None (root excluded)."""
    name = name.lower().rstrip(".") + "."
    best: str | None = None
    for z in served:
        z = z.lower()
        if z == ".":
            continue
        if (name == z or name.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    return best
