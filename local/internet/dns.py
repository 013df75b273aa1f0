"""The mini-internet's DNS: Knot (fake root, TLDs, test zones, DNSSEC) and per-region Unbound.

Knot serves every zone from the "internet" namespace, signs all of them automatically
(``dnssec-signing: on``) and each zone is delegated from its closest served parent with NS, glue
and DS records, so a validating resolver that trusts only the fake root's KSK gets the AD flag
on every answer. Live changes go through Knot transactions (``knotc zone-begin/-set/-commit``),
which Knot re-signs at once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from local.engine.proc import CommandError, run
from local.engine.state import State
from local.engine.supervisor import Progress, start_process, wait_for
from plan.dnsnames import tld_of, zone_parents
from local.engine.users import own
from plan.local import FleetPlan, ReplicaPlan
from plan.privileges import PROCESS_USERS
from plan.resolver import UnboundPlacement, unbound_conf

ROOT_NS = "a.root-servers.mpic."
KNOT_USER = PROCESS_USERS["dns"]
"""knotd binds port 53 as root, then runs as this user (``server: user``, as the packaged service)."""
CHALLENGE_TTL = 1
"""TTL of records set with ``mpic challenge``: changes are visible within a second."""


def knot_dir(workdir: Path) -> Path:
    return workdir / "knot"


def knot_conf(workdir: Path) -> Path:
    return knot_dir(workdir) / "knot.conf"


def zone_file(workdir: Path, origin: str) -> Path:
    name = "root" if origin == "." else origin.rstrip(".")
    return knot_dir(workdir) / "zones" / f"{name}.zone"


def write_zone(workdir: Path, origin: str, text: str) -> Path:
    """Write the zone file of ``origin``, owned by Knot's user (knotd writes its changes back)."""
    path = zone_file(workdir, origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    own(path, KNOT_USER, 0o640)
    return path


def abs_name(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def write_knot_conf(state: State, plan: FleetPlan, zones: list[str]) -> Path:
    """knotd's configuration: every served zone signed; queries on the internet host's address and
    the DNS admin link; with the canary on, RFC 2136 updates signed with its TSIG key, for its one
    TXT record only (``state.data["canary"]``, written by :mod:`local.roles.canary`)."""
    workdir = state.workdir
    d = knot_dir(workdir)
    (d / "zones").mkdir(parents=True, exist_ok=True)
    (d / "db").mkdir(parents=True, exist_ok=True)
    canary = state.data.get("canary")
    lines = [
        "server:",
        f"    user: {KNOT_USER}:{KNOT_USER}",
        f"    listen: [{plan.internet_ip}@53, {plan.dns_admin_ip}@53]",
        f"    rundir: {d}",
        f"    pidfile: {d / 'knot.pid'}",
        "    identity: mpic-fleet-internet",
        "log:",
        "  - target: stderr",
        "    any: info",
        "database:",
        f"    storage: {d / 'db'}",
    ]
    if canary:
        lines += [
            "key:",
            f"  - id: {canary['key_name']}",
            "    algorithm: hmac-sha256",
            f"    secret: {canary['secret']}",
            "acl:",
            "  - id: canary-update",
            f"    key: {canary['key_name']}",
            "    action: update",
            "    update-type: [TXT]",
            "    update-owner: name",
            "    update-owner-match: equal",
            f"    update-owner-name: [{canary['record']}]",
        ]
    lines += [
        "policy:",
        "  - id: fleet",
        "    algorithm: ecdsap256sha256",
        "    nsec3: off",
        "    rrsig-lifetime: 14d",
        "    rrsig-refresh: 7d",
        "template:",
        "  - id: default",
        f"    storage: {d / 'zones'}",
        "    dnssec-signing: on",
        "    dnssec-policy: fleet",
        "    zonefile-sync: 0",  # every change is in the zone file at once: a restarted knotd serves it all
        "    zonefile-load: difference-no-serial",
        "    journal-content: all",
        "    semantic-checks: off",
        "zone:",
    ]
    for z in sorted(set(zones), key=lambda z: (z.count("."), z)):
        lines += [f"  - domain: \"{z}\"", f"    file: \"{zone_file(workdir, z)}\""]
        if canary and z == canary["zone"]:
            lines.append("    acl: [canary-update]")
    path = knot_conf(workdir)
    path.write_text("\n".join(lines) + "\n")
    own(path, KNOT_USER, 0o600)  # holds the canary's TSIG secret
    for folder in (d, d / "zones", d / "db"):
        own(folder, KNOT_USER, 0o750)
    return path


def soa(origin: str, minimum: int = CHALLENGE_TTL) -> str:
    host = ROOT_NS if origin == "." else f"ns.{origin}"
    mail = "hostmaster.mpic." if origin == "." else f"hostmaster.{origin}"
    return f"{origin} 60 IN SOA {host} {mail} 1 3600 600 86400 {minimum}"


def kit_zone_text(origin: str, internet_ip: str, *, apex_records: bool = False,
                  records: tuple[tuple[str, int, str, str], ...] = ()) -> str:
    """A zone the kit generates (root, a TLD, the test domain), with ``records`` (name, TTL, type,
    data) added."""
    lines = [f"$ORIGIN {origin}", soa(origin)]
    if origin == ".":
        lines += [f". 60 IN NS {ROOT_NS}", f"{ROOT_NS} 60 IN A {internet_ip}"]
    else:
        lines += [f"{origin} 60 IN NS ns.{origin}", f"ns.{origin} 60 IN A {internet_ip}"]
    if apex_records:
        lines += [f"{origin} 60 IN A {internet_ip}", f"*.{origin} 60 IN A {internet_ip}"]
    lines += [f"{abs_name(name)} {ttl} IN {rtype} {data}" for name, ttl, rtype, data in records]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ zone files
_DIRECTIVE = re.compile(r"^\$(ORIGIN|TTL)\s+(\S+)", re.I)


@dataclass(frozen=True)
class ZoneInfo:
    origin: str
    ns: tuple[str, ...]
    glue: tuple[tuple[str, str, str], ...]
    """(name, type, address) for in-bailiwick name servers."""


def parse_zone(text: str, origin_hint: str | None = None) -> ZoneInfo:
    """Origin, apex NS and in-bailiwick glue of a zone file (via dnspython)."""
    import dns.name
    import dns.rdatatype
    import dns.zone

    origin = origin_hint
    if origin is None:
        for line in text.splitlines():
            m = _DIRECTIVE.match(line.strip())
            if m and m.group(1).upper() == "ORIGIN":
                origin = m.group(2)
                break
    if origin is None:
        raise ValueError("the zone file has no $ORIGIN; add one (e.g. `$ORIGIN example.org.`) or pass --origin")
    try:
        z = dns.zone.from_text(text, origin=abs_name(origin), relativize=False, check_origin=True)
    except dns.zone.NoSOA:
        raise ValueError(f"zone {abs_name(origin)}: no SOA record at the apex; add one") from None
    except dns.zone.NoNS:
        raise ValueError(f"zone {abs_name(origin)}: no NS record at the apex; add `{abs_name(origin)} NS "
                         f"ns.{abs_name(origin)}` and its A record") from None
    apex = z.origin
    ns_rrset = z.get_rrset(apex, dns.rdatatype.NS)
    ns = tuple(sorted(str(r.target).lower() for r in ns_rrset)) if ns_rrset else ()
    glue = []
    for target in ns:
        tname = dns.name.from_text(target)
        if tname.is_subdomain(apex):
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                rr = z.get_rrset(tname, rdtype)
                for r in rr or ():
                    glue.append((target, dns.rdatatype.to_text(rdtype), r.address))
    if not ns:
        raise ValueError(f"zone {apex}: no NS record at the apex; add `{apex} NS ns.{apex}` and its A record")
    return ZoneInfo(str(apex).lower(), ns, tuple(glue))


# --------------------------------------------------------------------------------- knotc
class Knot:
    """Control of the running knotd (its control socket is a file: works from any namespace)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.conf = knot_conf(workdir)

    def c(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        res = run(["knotc", "-c", str(self.conf), *args], check=check, timeout=timeout)
        return res.stdout

    def wait_loaded(self, zones: list[str], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        missing = list(zones)
        while time.monotonic() < deadline:
            out = self.c("zone-status", check=False)
            missing = [z for z in zones if not re.search(rf"^\[{re.escape(z)}\].*serial: \d+", out, re.M | re.I)
                       or re.search(rf"^\[{re.escape(z)}\].*serial: none", out, re.M | re.I)]
            if not missing:
                # signed: DNSKEY present
                if all(self.dnskeys(z) for z in zones):
                    return
            time.sleep(0.1)
        raise CommandError(f"knot: zones not loaded and signed after {timeout}s: {', '.join(missing) or zones}")

    def dnskeys(self, zone: str) -> list[str]:
        out = self.c("zone-read", zone, zone, "DNSKEY", check=False)
        return [ln.split("] ", 1)[1] for ln in out.splitlines() if " DNSKEY " in ln and "] " in ln]

    def ds(self, zone: str) -> list[str]:
        """DS rdata (SHA-256) for the zone's KSK(s), e.g. ``60245 13 2 BE63...``."""
        res = run(["keymgr", "-c", str(self.conf), zone, "ds"], check=False)
        out = []
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "DS" and parts[4] == "2":
                out.append(" ".join(parts[2:]))
        if not out:
            raise CommandError(f"keymgr {zone} ds: no DS ({res.stderr.strip()})")
        return out

    def ksk_dnskeys(self, zone: str) -> list[str]:
        return [k for k in self.dnskeys(zone) if " DNSKEY 257 " in k]

    def transaction(self, zone: str, sets: list[tuple[str, int, str, str]] = (),
                    unsets: list[tuple[str, str | None, str | None]] = ()) -> None:
        """One Knot transaction: unset (name, type?, data?) then set (name, ttl, type, data)."""
        self.c("zone-begin", zone)
        try:
            for name, rtype, data in unsets:
                args = [name] + ([rtype] if rtype else []) + ([data] if data else [])
                self.c("zone-unset", zone, *args, check=False)
            for name, ttl, rtype, data in sets:
                self.c("zone-set", zone, name, str(ttl), rtype, data)
            self.c("zone-commit", zone)
        except CommandError:
            self.c("zone-abort", zone, check=False)
            raise

    def get(self, zone: str, name: str, rtype: str | None = None) -> list[str]:
        """The records ``name [rtype]`` of ``zone`` as served now (empty when there are none).

        ``zone-read`` (not ``zone-get``, which needs an open transaction and otherwise prints an
        error line that would read as a record)."""
        args = [name] + ([rtype] if rtype else [])
        res = run(["knotc", "-c", str(self.conf), "zone-read", zone, *args], check=False)
        if res.returncode != 0:
            return []
        return [ln.split("] ", 1)[1] for ln in res.stdout.splitlines() if ln.startswith("[") and "] " in ln]

    def reload(self) -> None:
        self.c("reload")


def delegation_records(child: ZoneInfo, ds: list[str]) -> list[tuple[str, int, str, str]]:
    recs = [(child.origin, 60, "NS", ns) for ns in child.ns]
    recs += [(name, 60, rtype, addr) for name, rtype, addr in child.glue]
    recs += [(child.origin, 60, "DS", d) for d in ds]
    return recs


def delegate(knot: Knot, child: ZoneInfo, served: list[str]) -> str:
    """Put NS + glue + DS of ``child`` into its closest served parent; return the parent."""
    parent = zone_parents(child.origin, served)
    ds = knot.ds(child.origin)
    unsets = [(child.origin, "NS", None), (child.origin, "DS", None)]
    unsets += [(name, rtype, None) for name, rtype, _ in child.glue]
    knot.transaction(parent, delegation_records(child, ds), unsets)
    return parent


def needed_tld(origin: str, served: list[str]) -> str | None:
    """The TLD the kit must create so ``origin`` has a parent below the root, or None."""
    tld = tld_of(origin)
    if tld == origin or tld == "." or tld in served:
        return None
    return tld


# -------------------------------------------------------------------------------- Unbound
def unbound_dir(workdir: Path, host: ReplicaPlan) -> Path:
    return workdir / "hosts" / host.name / "unbound"


def write_unbound(workdir: Path, plan: FleetPlan, host: ReplicaPlan, root_ksk: list[str]) -> Path:
    """A perspective host's Unbound config (the one resolver renderer, :mod:`plan.resolver`):
    recursion from the host's uplink to the fake root, whose KSK is the trust anchor; no cache (see there)."""
    d = unbound_dir(workdir, host)
    d.mkdir(parents=True, exist_ok=True)
    (d / "root.hints").write_text(f". 3600000 NS {ROOT_NS}\n{ROOT_NS} 3600000 A {plan.internet_ip}\n")
    (d / "root.key").write_text("".join(f"{k}\n" for k in root_ksk))
    conf = unbound_conf(UnboundPlacement(
        interfaces=("127.0.0.1@53",), foreground_dir=str(d), root_hints=str(d / "root.hints"),
        trust_anchor_file=str(d / "root.key"), outgoing_interface=host.uplink_ip, cache=False,
        username=PROCESS_USERS["resolver"],
        extra=(
            "do-not-query-localhost: no",
            "val-log-level: 2",
            'module-config: "validator iterator"',
            # special-use names (RFC 6761/7686) Unbound answers locally by default: the mini-internet serves them
            'local-zone: "test." nodefault', 'local-zone: "invalid." nodefault',
            'local-zone: "onion." nodefault', 'local-zone: "home.arpa." nodefault',
        )))
    path = d / "unbound.conf"
    path.write_text(conf)
    return path


# ------------------------------------------------------------------------------ the authority
def kit_zones(plan: FleetPlan) -> list[str]:
    """The zones the kit itself serves: the root, the test domain's TLD and the test domain."""
    test = abs_name(plan.test_domain)
    return [".", tld_of(test), test] if tld_of(test) != test else [".", test]


def start_dns(state: State, plan: FleetPlan, say: Progress,
              records: tuple[tuple[str, int, str, str], ...] = ()) -> list[str]:
    """Start knotd with the kit's zones, signed and delegated (``records``: more records of the test
    domain's zone); return the root KSK (DNSKEY rdata)."""
    wd = state.workdir
    zones = kit_zones(plan)
    test = abs_name(plan.test_domain)
    for z in zones:
        write_zone(wd, z, kit_zone_text(z, plan.internet_ip, apex_records=(z == test),
                                        records=records if z == test else ()))
    conf = write_knot_conf(state, plan, zones)
    rec = start_process(state, "knotd", ["knotd", "-c", str(conf)], plan.internet_ns, "dns",
                        pidfile=knot_dir(wd) / "knot.pid")
    knot = Knot(wd)
    wait_for(lambda: run(["knotc", "-c", str(conf), "status"], check=False).returncode == 0, 15, "knotd", rec)
    knot.wait_loaded(zones)
    served = list(zones)
    for z in zones[1:]:
        delegate(knot, ZoneInfo(z, (f"ns.{z}",), ((f"ns.{z}", "A", plan.internet_ip),)), served)
    state.data["zones"] = served
    state.save()
    say(f"dns: knotd serves {', '.join(served)} (DNSSEC-signed, root KSK tag "
        f"{knot.ds('.')[0].split()[0]}) on {plan.internet_ip}:53")
    return knot.ksk_dnskeys(".")


def resolver_answers(netns_name: str) -> bool:
    """The resolver on 127.0.0.1 in ``netns_name`` answers the root SOA (NOERROR)."""
    res = run(["kdig", "@127.0.0.1", "+time=1", "+retry=0", ".", "SOA"], netns=netns_name, check=False)
    return res.returncode == 0 and "NOERROR" in res.stdout


def validated_answer(netns_name: str, name: str) -> bool:
    """The resolver in ``netns_name`` answers ``name`` SOA with NOERROR and the AD flag (DNSSEC-validated)."""
    out = run(["kdig", "@127.0.0.1", "+dnssec", "+time=2", "+retry=0", name, "SOA"], netns=netns_name, check=False).stdout
    flags = out.split("Flags:")[1].split(";")[0] if "Flags:" in out else ""
    return "status: NOERROR" in out and " ad" in f" {flags}"


def wait_validated(state: State, plan: FleetPlan, timeout: float = 20) -> None:
    """Every perspective host's resolver validates the test domain from the fake root (a knotd that
    lost its keys or delegations, or a broken chain, fails here instead of at the first check)."""
    for host in (h for r in plan.regions for h in r.replicas):
        wait_for(lambda h=host: validated_answer(h.netns, plan.test_domain), timeout,
                 f"DNSSEC-validated answer for {plan.test_domain} from {host.name}'s resolver",
                 state.data["processes"].get("knotd"))
