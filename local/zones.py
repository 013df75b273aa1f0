"""Zones the challenges add to the mini-internet: zone files (any origin), the reverse zones
(``in-addr.arpa.``, ``ip6.arpa.``) and zones with a deliberately broken chain of trust.

Every zone is served by Knot, signed, and delegated from its closest served parent with NS, glue
and DS; the kit creates a missing TLD (``arpa.``, ``org.``, ...). Callers hold the stack's lock
(:func:`local.state.locked`) and pass the freshly loaded state.
"""

from __future__ import annotations

from pathlib import Path

from local import dns
from local.errors import ChallengeError
from local.state import State
from plan.dnsnames import tld_of, zone_parents
from plan.local import FleetPlan


def served(state: State) -> list[str]:
    return list(state.data.get("zones", []))


def serve_zone(state: State, plan: FleetPlan, text: str, origin: str | None, *, source: str, kind: str = "file",
               break_dnssec: bool = False) -> str:
    """Serve zone ``text``; return its origin. ``break_dnssec`` publishes a DS that matches none of
    the zone's keys: validating resolvers then hold every answer from it bogus (SERVFAIL)."""
    text = text.replace("@INTERNET_IP@", plan.internet_ip)
    try:
        info = dns.parse_zone(text, origin)
    except Exception as exc:  # dnspython's syntax errors name the line
        raise ChallengeError(f"zone file {source}: {exc}") from None
    if info.origin == ".":
        raise ChallengeError("the root zone is the fleet's own; load zones below it")
    wd = state.workdir
    zones = served(state)
    new_zones = []
    tld = dns.needed_tld(info.origin, zones)
    if tld:
        dns.zone_file(wd, tld).write_text(dns.kit_zone_text(tld, plan.internet_ip))
        new_zones.append(tld)
    dns.zone_file(wd, info.origin).write_text(text)
    if info.origin not in zones:
        new_zones.append(info.origin)
    zones_after = zones + new_zones
    dns.write_knot_conf(state, plan, zones_after)
    knot = dns.Knot(wd)
    knot.reload()
    if info.origin in zones:
        knot.c("zone-reload", info.origin, check=False)
    knot.wait_loaded([*new_zones, info.origin])
    if tld:
        dns.delegate(knot, dns.ZoneInfo(tld, (f"ns.{tld}",), ((f"ns.{tld}", "A", plan.internet_ip),)), zones_after)
    parent = dns.delegate(knot, info, zones_after)
    if break_dnssec:
        bogus = [_corrupt(ds) for ds in knot.ds(info.origin)]
        knot.transaction(parent, [(info.origin, 60, "DS", d) for d in bogus], [(info.origin, "DS", None)])
    # zones already served below the new one now hang from it
    loaded = state.data["challenges"]["zones"]
    for z in loaded:
        if z["origin"] != info.origin and zone_parents(z["origin"], zones_after) == info.origin:
            child = dns.ZoneInfo(z["origin"], tuple(z["ns"]), tuple(tuple(g) for g in z["glue"]))
            dns.delegate(knot, child, zones_after)
    state.data["zones"] = zones_after
    loaded[:] = [z for z in loaded if z["origin"] != info.origin]
    loaded.append({"origin": info.origin, "ns": list(info.ns), "glue": [list(g) for g in info.glue],
                   "file": source, "tld": tld, "kind": kind, "broken_dnssec": break_dnssec})
    state.save()
    return info.origin


def _corrupt(ds: str) -> str:
    """The same DS with its digest's last hex digit changed: it matches no key of the zone."""
    head, digest = ds.rsplit(" ", 1)
    last = "0" if digest[-1].upper() != "0" else "1"
    return f"{head} {digest[:-1]}{last}"


def load_file(state: State, plan: FleetPlan, file: str | Path, origin: str | None, break_dnssec: bool) -> str:
    try:
        text = Path(file).read_text()
    except OSError as exc:
        raise ChallengeError(f"zone file {file}: {exc.strerror or exc}") from None
    return serve_zone(state, plan, text, origin, source=str(file), break_dnssec=break_dnssec)


def ensure_reverse(state: State, plan: FleetPlan, origin: str) -> None:
    """Serve the reverse zone ``origin`` (``in-addr.arpa.`` or ``ip6.arpa.``) unless it is served."""
    if origin not in served(state):
        serve_zone(state, plan, dns.kit_zone_text(origin, plan.internet_ip), origin, source="(kit)", kind="reverse")


def remove_zones(state: State, plan: FleetPlan, knot: dns.Knot, origins: set[str]) -> list[str]:
    """Stop serving the loaded zones ``origins`` (and TLDs the kit added only for them)."""
    if not origins:
        return []
    ch = state.data["challenges"]
    going = [z for z in ch["zones"] if z["origin"] in origins]
    staying = [z for z in ch["zones"] if z["origin"] not in origins]
    needed = {tld_of(z["origin"]) for z in staying}
    tlds = {z["tld"] for z in going if z.get("tld")} - needed
    for z in going:  # a TLD the kit added that a staying zone still needs passes to that zone
        heir = next((s for s in staying if z.get("tld") and tld_of(s["origin"]) == z["tld"] and not s.get("tld")), None)
        if heir is not None:
            heir["tld"] = z["tld"]
    remove = {z["origin"] for z in going} | tlds
    kept = [z for z in served(state) if z not in remove]
    for origin in sorted(remove, key=lambda z: -z.count(".")):
        parent = zone_parents(origin, kept)
        if parent in kept:
            glue = [(g[0], None, None) for z in going if z["origin"] == origin for g in z["glue"]]
            if origin in tlds:
                glue.append((f"ns.{origin}", None, None))
            knot.transaction(parent, [], [(origin, None, None)] + glue)
    dns.write_knot_conf(state, plan, kept)
    knot.reload()
    state.data["zones"] = kept
    ch["zones"] = staying
    ch["records"] = [r for r in ch["records"] if r["zone"] not in remove]
    return sorted(remove)
