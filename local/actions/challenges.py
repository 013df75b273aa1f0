"""``mpic challenge``: what every validation method looks for, live on the mini-internet.

DNS records go through Knot transactions (re-signed at once, TTL 1); HTTP files to the internet
host's nginx; TLS-ALPN-01 challenge certificates to the responder on the internet host's second
address (:mod:`local.daemons.alpn`); zone files, reverse zones and zones with a broken chain of trust
through :mod:`local.internet.zones`. Record names and values come from :mod:`plan.challenges`, which the
Route53 writer for deployed stacks uses too. Every change is recorded in the state file, so
``mpic challenge clear [NAME]`` (and ``down``) undo it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import signal
from pathlib import Path
from typing import Any, Callable, TypeVar

from local.internet import dns, zones
from local.daemons.alpn import challenge_cert, sni_of
from local.pki import web_certificate
from local.errors import ChallengeError
from local.engine.proc import signal_proc
from local.engine.state import State, load_plan, load_state, locked
from plan import challenges as method
from plan.dnsnames import zone_for_name
from local.engine.users import own
from plan.local import FleetPlan
from plan.privileges import KEY_OWNERS

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
T = TypeVar("T")

__all__ = ["ChallengeError", "set_record", "set_txt", "set_cname", "set_caa", "set_persistent", "set_contact",
           "set_address", "set_reverse", "set_http", "set_tls_alpn", "load_zone", "unset", "clear"]


def _value(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except method.ChallengeValueError as exc:
        raise ChallengeError(str(exc)) from None


def _fresh(stack: str | None) -> State:
    """The state as it is now (call inside :func:`locked`)."""
    state = load_state(stack)
    state.data["challenges"].setdefault("alpn", [])
    return state


def _zone_of(state: State, name: str) -> str:
    zone = zone_for_name(name, zones.served(state))
    if zone is None:
        raise ChallengeError(
            f"{name}: in no zone the fleet serves "
            f"({', '.join(z for z in zones.served(state) if z != '.')}); use a name under "
            f"{state.data.get('test_domain')} or load a zone with `mpic challenge zone FILE`")
    return zone


def _check_name(name: str) -> str:
    fqdn = dns.abs_name(name)
    if not _HOST.match(fqdn.rstrip(".")):
        raise ChallengeError(f"{name}: not a valid DNS name")
    return fqdn


def _write(state: State, rec: method.Record, *, replace: bool = False, record: bool = True) -> str:
    """Put ``rec`` in the zone that holds its name (one Knot transaction); return the zone."""
    zone = _zone_of(state, rec.name)
    unsets = [(rec.name, rec.type, None)] if replace else []
    try:
        dns.Knot(state.workdir).transaction(zone, [(rec.name, dns.CHALLENGE_TTL, rec.type, rec.data)], unsets)
    except Exception as exc:  # knotc explains (e.g. CNAME next to other data)
        raise ChallengeError(f"{rec.name} {rec.type} {rec.data}: Knot refused it: {exc}") from None
    if record:
        recs = state.data["challenges"]["records"]
        if replace:
            recs[:] = [r for r in recs if not (r["name"] == rec.name and r["type"] == rec.type)]
        entry = {"zone": zone, "name": rec.name, "type": rec.type, "data": rec.data}
        if entry not in recs:
            recs.append(entry)
        state.save()
    return zone


def set_record(stack: str | None, name: str, rtype: str, data: str, *, record: bool = True,
               replace: bool = False) -> str:
    """Add ``name rtype data`` (TTL 1) in the zone that holds ``name``; return the zone."""
    fqdn = _check_name(name)
    with locked(load_state(stack).stack):
        return _write(_fresh(stack), method.Record(fqdn, rtype, data), replace=replace, record=record)


def set_txt(stack: str | None, name: str, value: str, *, record: bool = True) -> str:
    """TXT for dns-change and acme-dns-01 (any name)."""
    return set_record(stack, name, "TXT", method.txt_rdata(value), record=record)


def set_cname(stack: str | None, name: str, target: str) -> str:
    return set_record(stack, name, "CNAME", dns.abs_name(target), replace=True)


def set_caa(stack: str | None, name: str, value: str) -> str:
    """A CAA record: ``issue``/``issuewild`` (TLS server), ``issuemail`` (S/MIME), any other tag."""
    return set_record(stack, name, "CAA", _value(method.caa_rdata, value))


def set_persistent(stack: str | None, domain: str, issuer: str, account_uri: str,
                   persist_until: int | None = None) -> method.Record:
    """The dns-persistent TXT record at ``_validation-persist.DOMAIN``."""
    rec = _value(method.persistent, _check_name(domain), issuer, account_uri, persist_until)
    set_record(stack, rec.name, rec.type, rec.data)
    return rec


def set_contact(stack: str | None, domain: str, kind: str, value: str, via: str) -> method.Record:
    """contact-{email,phone}-{txt,caa}: TXT at the method's prefix or a CAA contact tag at DOMAIN."""
    rec = _value(method.contact, _check_name(domain), kind, value, via)
    set_record(stack, rec.name, rec.type, rec.data)
    return rec


def set_address(stack: str | None, domain: str, ip: str) -> method.Record:
    """The ip-address method's A or AAAA record (replaces that name's records of the type)."""
    rec = _value(method.address, _check_name(domain), ip)
    set_record(stack, rec.name, rec.type, rec.data, replace=True)
    return rec


def set_reverse(stack: str | None, ip: str, host: str) -> method.Record:
    """PTR for reverse-address-lookup; the reverse zone is served (signed, delegated) on first use."""
    zone, rec = _value(method.reverse, ip, host)
    _check_name(host)
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        zones.ensure_reverse(state, load_plan(state), zone)
        _write(state, rec, replace=True)
    return rec


# ------------------------------------------------------------------------------------ HTTP
def _safe_path(path: str) -> str:
    path = path.lstrip("/")
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts) or "\x00" in path:
        raise ChallengeError(f"path {path!r}: give a relative path like .well-known/acme-challenge/TOKEN")
    return path


def _point_at(state: State, host: str, ip: str) -> None:
    """An A record HOST -> ip unless HOST already has an address or alias (then it is the user's)."""
    zone = zone_for_name(host, zones.served(state))
    knot = dns.Knot(state.workdir)
    if zone is not None and not knot.get(zone, host + ".", "A") and not knot.get(zone, host + ".", "CNAME"):
        _write(state, method.Record(host + ".", "A", ip))


def set_http(stack: str | None, host: str, path: str, content: str) -> Path:
    """Serve ``content`` at http://HOST/PATH and https://HOST/PATH (the internet host's nginx)."""
    host = host.strip().lower().rstrip(".")
    if not _HOST.match(host):
        raise ChallengeError(f"{host}: not a valid host name")
    rel = _safe_path(path)
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        plan = load_plan(state)
        target = state.workdir / "www" / host / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        http = state.data["challenges"]["http"]
        new_host = host not in {h["host"] for h in http}
        if {"host": host, "path": rel} not in http:
            http.append({"host": host, "path": rel})
        state.save()
        _point_at(state, host, plan.internet_ip)
        if new_host:
            _reload_web(state, plan)
    return target


def _reload_web(state: State, plan: FleetPlan) -> None:
    hosts = sorted({h["host"] for h in state.data["challenges"]["http"]})
    if hosts:
        web_certificate(state, plan, hosts)
    rec = state.data["processes"].get("nginx")
    if rec:
        signal_proc(rec, signal.SIGHUP)


# ------------------------------------------------------------------------------- TLS-ALPN
def set_tls_alpn(stack: str | None, identifier: str, key_authorization_hash: str) -> str:
    """Answer TLS-ALPN-01 for ``identifier`` (a name, or the responder's own IP address) with an
    RFC 8737 certificate carrying ``key_authorization_hash``; a name gets an A record pointing at
    the responder. Returns the responder's address."""
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        plan = load_plan(state)
        try:
            ip = ipaddress.ip_address(identifier.strip())
        except ValueError:
            ip = None
        if ip is not None and str(ip) != plan.alpn_ip:
            raise ChallengeError(f"{identifier}: the mini-internet answers TLS-ALPN-01 for IP identifiers on "
                                 f"{plan.alpn_ip} only (the responder's address); use that address")
        name = str(ip) if ip is not None else _check_name(identifier).rstrip(".")
        if ip is None:
            _zone_of(state, name + ".")
        try:
            cert, key = challenge_cert(state.workdir / "alpn" / "certs", name, key_authorization_hash)
        except ValueError as exc:
            raise ChallengeError(str(exc)) from None
        own(key, KEY_OWNERS["alpn"], 0o600)
        alpn = state.data["challenges"]["alpn"]
        alpn[:] = [a for a in alpn if a["identifier"] != name]
        alpn.append({"identifier": name, "sni": sni_of(name), "cert": str(cert), "key": str(key)})
        state.save()
        if ip is None:
            _write(state, method.Record(name + ".", "A", plan.alpn_ip), replace=True)
        _reload_alpn(state)
        return plan.alpn_ip


def _reload_alpn(state: State) -> None:
    config = state.workdir / "alpn" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    mapping = {a["sni"]: [a["cert"], a["key"]] for a in state.data["challenges"].get("alpn", [])}
    tmp = config.with_suffix(".tmp")
    tmp.write_text(json.dumps(mapping, indent=1, sort_keys=True))
    tmp.replace(config)
    rec = state.data["processes"].get("alpn")
    if rec:
        signal_proc(rec, signal.SIGHUP)


# ------------------------------------------------------------------------------------ zones
def load_zone(stack: str | None, file: str | Path, origin: str | None = None, *, break_dnssec: bool = False,
              insecure: bool = False, unreachable: bool = False) -> str:
    """Serve a zone file (any origin), signed and delegated from the fake root; return its origin.

    ``@INTERNET_IP@`` in the file stands for the internet host's address; ``break_dnssec`` makes
    the delegation's DS match no key, so validating resolvers refuse every answer from the zone;
    ``insecure`` delegates it without DS (no chain of trust); ``unreachable`` points its name
    servers at an address no query reaches (a lookup failure outside the CA's infrastructure).
    """
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        return zones.load_file(state, load_plan(state), file, origin, break_dnssec, insecure, unreachable)


# ------------------------------------------------------------------------------------ undo
def unset(stack: str | None, name: str, rtype: str | None = None, data: str | None = None,
          *, record: bool = True) -> None:
    fqdn = dns.abs_name(name)
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        zone = _zone_of(state, fqdn)
        dns.Knot(state.workdir).transaction(zone, [], [(fqdn, rtype, data)])
        if record:
            state.data["challenges"]["records"] = [
                r for r in state.data["challenges"]["records"]
                if not (r["name"] == fqdn and (rtype is None or r["type"] == rtype)
                        and (data is None or r["data"] == data))]
            state.save()


def _under(name: str, scope: str | None) -> bool:
    name = name.lower().rstrip(".")
    return scope is None or name == scope or name.endswith("." + scope)


def clear(stack: str | None, name: str | None = None) -> dict[str, int]:
    """Undo every challenge, or only those for NAME (a DNS name: records at and below it, its HTTP
    files, its TLS-ALPN certificate, the zone NAME; an IP address: its PTR and TLS-ALPN certificate)."""
    scope = None
    if name is not None:
        try:
            scope = ipaddress.ip_address(name.strip()).reverse_pointer
            ip_name = str(ipaddress.ip_address(name.strip()))
        except ValueError:
            scope = _check_name(name).rstrip(".")
            ip_name = None
    with locked(load_state(stack).stack):
        state = _fresh(stack)
        plan = load_plan(state)
        knot = dns.Knot(state.workdir)
        ch = state.data["challenges"]
        dropped = zones.remove_zones(state, plan, knot, {z["origin"] for z in ch["zones"]
                                                         if _under(z["origin"], scope)})
        by_zone: dict[str, list] = {}
        records = [r for r in ch["records"] if _under(r["name"], scope)]
        for r in records:
            by_zone.setdefault(r["zone"], []).append((r["name"], r["type"], r["data"]))
        for zone, unsets in by_zone.items():
            knot.transaction(zone, [], unsets)
        ch["records"] = [r for r in ch["records"] if r not in records]
        files = [h for h in ch["http"] if _under(h["host"], scope)]
        for h in files:
            (state.workdir / "www" / h["host"] / h["path"]).unlink(missing_ok=True)
            if not any(o["host"] == h["host"] for o in ch["http"] if o not in files):
                shutil.rmtree(state.workdir / "www" / h["host"], ignore_errors=True)
        ch["http"] = [h for h in ch["http"] if h not in files]
        alpn = [a for a in ch["alpn"] if _under(a["identifier"], scope) or a["identifier"] == ip_name
                or _under(a["sni"], scope)] if scope else list(ch["alpn"])
        for a in alpn:
            Path(a["cert"]).unlink(missing_ok=True)
            Path(a["key"]).unlink(missing_ok=True)
        ch["alpn"] = [a for a in ch["alpn"] if a not in alpn]
        state.save()
        if alpn:
            _reload_alpn(state)
        if files:
            _reload_web(state, plan)
        return {"records": len(records), "http": len(files), "zones": len(dropped), "tls_alpn": len(alpn)}
