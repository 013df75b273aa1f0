"""Zones the challenges add to the mini-internet: zone files (any origin), the reverse zones
(``in-addr.arpa.``, ``ip6.arpa.``) and zones with a deliberately broken chain of trust or reach.

Every zone is served by Knot, signed, and delegated from its closest served parent with NS, glue
and DS; the kit creates a missing TLD (``arpa.``, ``org.``, ...). A zone may instead be delegated
with a DS matching no key (``break_dnssec``: DNSSEC-bogus), without DS (``insecure``: no chain of
trust, as an unsigned zone) or with its name servers' glue on the plan's unreachable address
(``unreachable``: its authority cannot be reached). Callers hold the stack's lock
(:func:`local.engine.state.locked`) and pass the freshly loaded state.
"""

from __future__ import annotations

from pathlib import Path

from local.internet import dns
from local.errors import ChallengeError
from local.engine.state import State
from plan.dnsnames import tld_of, zone_parents
from plan.local import FleetPlan


def served(state: State) -> list[str]:
    return list(state.data.get("zones", []))


def delegate(knot: dns.Knot, plan: FleetPlan, child: dns.ZoneInfo, served: list[str], *, break_dnssec: bool = False,
             insecure: bool = False, unreachable: bool = False) -> str:
    """Delegate ``child`` from its closest served parent (NS, glue, DS), then make the delegation
    what was asked: a DS matching no key, no DS, or glue on the unreachable address; return the parent."""
    parent = dns.delegate(knot, child, served)
    sets: list[tuple[str, int, str, str]] = []
    unsets: list[tuple[str, str | None, str | None]] = []
    if break_dnssec:
        sets += [(child.origin, 60, "DS", _corrupt(ds)) for ds in knot.ds(child.origin)]
    if break_dnssec or insecure:
        unsets.append((child.origin, "DS", None))
    if unreachable:
        names = sorted({name for name, _, _ in child.glue})
        if not names:
            raise ChallengeError(f"zone {child.origin}: --unreachable needs in-zone name servers (glue) to point "
                                 f"at {plan.unreachable_ip}; add `ns.{child.origin} A @INTERNET_IP@` and its NS record")
        unsets += [(name, None, None) for name in names]
        sets += [(name, 60, "A", plan.unreachable_ip) for name in names]
    if sets or unsets:
        knot.transaction(parent, sets, unsets)
    return parent


def serve_zone(state: State, plan: FleetPlan, text: str, origin: str | None, *, source: str, kind: str = "file",
               break_dnssec: bool = False, insecure: bool = False, unreachable: bool = False) -> str:
    """Serve zone ``text``; return its origin. ``break_dnssec`` publishes a DS that matches none of
    the zone's keys: validating resolvers then hold every answer from it bogus (SERVFAIL).
    ``insecure`` publishes no DS: the zone has no chain of trust. ``unreachable`` points its name
    servers' glue at an address no query reaches (see :func:`delegate`)."""
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
        dns.write_zone(wd, tld, dns.kit_zone_text(tld, plan.internet_ip))
        new_zones.append(tld)
    dns.write_zone(wd, info.origin, text)
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
    delegate(knot, plan, info, zones_after, break_dnssec=break_dnssec, insecure=insecure, unreachable=unreachable)
    # zones already served below the new one now hang from it (as they were delegated before)
    loaded = state.data["challenges"]["zones"]
    for z in loaded:
        if z["origin"] != info.origin and zone_parents(z["origin"], zones_after) == info.origin:
            child = dns.ZoneInfo(z["origin"], tuple(z["ns"]), tuple(tuple(g) for g in z["glue"]))
            delegate(knot, plan, child, zones_after, break_dnssec=z.get("broken_dnssec", False),
                     insecure=z.get("insecure", False), unreachable=z.get("unreachable", False))
    if unreachable:  # nothing answers for it: Knot, which serves its parent too, stops serving it
        zones_after = [z for z in zones_after if z != info.origin]
        dns.write_knot_conf(state, plan, zones_after)
        knot.reload()
    state.data["zones"] = zones_after
    before = next((z for z in loaded if z["origin"] == info.origin), None)
    tld = tld or (before or {}).get("tld")  # loaded again: it still owns the TLD the kit added for it
    loaded[:] = [z for z in loaded if z["origin"] != info.origin]
    loaded.append({"origin": info.origin, "ns": list(info.ns), "glue": [list(g) for g in info.glue],
                   "file": source, "tld": tld, "kind": kind, "broken_dnssec": break_dnssec, "insecure": insecure,
                   "unreachable": unreachable})
    state.save()
    return info.origin


def _corrupt(ds: str) -> str:
    """The same DS with its digest's last hex digit changed: it matches no key of the zone."""
    head, digest = ds.rsplit(" ", 1)
    last = "0" if digest[-1].upper() != "0" else "1"
    return f"{head} {digest[:-1]}{last}"


def load_file(state: State, plan: FleetPlan, file: str | Path, origin: str | None, break_dnssec: bool = False,
              insecure: bool = False, unreachable: bool = False) -> str:
    if break_dnssec and insecure:
        raise ChallengeError("--break-dnssec publishes a wrong DS, --insecure none: choose one")
    try:
        text = Path(file).read_text()
    except OSError as exc:
        raise ChallengeError(f"zone file {file}: {exc.strerror or exc}") from None
    return serve_zone(state, plan, text, origin, source=str(file), break_dnssec=break_dnssec, insecure=insecure,
                      unreachable=unreachable)


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
