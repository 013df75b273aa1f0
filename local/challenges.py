"""``mpic challenge``: DNS records (Knot transactions, re-signed at once), HTTP files, zones.

Every change is recorded in the state file so ``mpic challenge clear`` (and ``down``) undo it.
"""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

from config.errors import ConfigError
from local import dns
from local.certs import web_certificate
from local.proc import signal_proc
from local.state import State, load_plan, load_state, locked
from plan.local import zone_for_name, zone_parents

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ChallengeError(ConfigError):
    """Bad challenge input (exit 2); the message says what and how to fix it."""


def _state(stack: str | None) -> State:
    return load_state(stack)


def _served(state: State) -> list[str]:
    return list(state.data.get("zones", []))


def _zone_of(state: State, name: str) -> str:
    zone = zone_for_name(name, _served(state))
    if zone is None:
        raise ChallengeError(
            f"{name}: in no zone the fleet serves ({', '.join(z for z in _served(state) if z != '.')}); use a name "
            f"under {state.data.get('test_domain')} or load a zone with `mpic challenge zone FILE`")
    return zone


def txt_rdata(value: str) -> str:
    if len(value.encode()) > 255:
        chunks = [value[i:i + 255] for i in range(0, len(value), 255)]
        return " ".join(_quote(c) for c in chunks)
    return _quote(value)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def set_record(stack: str | None, name: str, rtype: str, data: str, *, record: bool = True,
               replace: bool = False) -> str:
    """Add ``name rtype data`` (TTL 1) in the zone that holds ``name``; return the zone."""
    state = _state(stack)
    fqdn = dns.abs_name(name)
    if not _HOST.match(fqdn.rstrip(".")):
        raise ChallengeError(f"{name}: not a valid DNS name")
    with locked(state.stack):
        state = State.load(state.stack) or state
        zone = _zone_of(state, fqdn)
        knot = dns.Knot(state.workdir)
        unsets = [(fqdn, rtype, None)] if replace else []
        try:
            knot.transaction(zone, [(fqdn, dns.CHALLENGE_TTL, rtype, data)], unsets)
        except Exception as exc:  # knotc explains (e.g. CNAME next to other data)
            raise ChallengeError(f"{name} {rtype} {data}: Knot refused it: {exc}") from None
        if record:
            recs = state.data["challenges"]["records"]
            entry = {"zone": zone, "name": fqdn, "type": rtype, "data": data}
            if entry not in recs:
                recs.append(entry)
            state.save()
    return zone


def set_txt(stack: str | None, name: str, value: str, *, record: bool = True) -> str:
    return set_record(stack, name, "TXT", txt_rdata(value), record=record)


def set_cname(stack: str | None, name: str, target: str) -> str:
    return set_record(stack, name, "CNAME", dns.abs_name(target), replace=True)


def set_caa(stack: str | None, name: str, value: str) -> str:
    m = re.match(r'^\s*(\d{1,3})\s+([A-Za-z0-9]+)\s+(".*")\s*$', value)
    if not m or int(m.group(1)) > 255:
        raise ChallengeError(f"CAA value {value!r}: expected 'FLAGS TAG \"VALUE\"', e.g. '0 issue \"ca.example\"'")
    return set_record(stack, name, "CAA", f"{m.group(1)} {m.group(2)} {m.group(3)}")


def unset(stack: str | None, name: str, rtype: str | None = None, data: str | None = None,
          *, record: bool = True) -> None:
    state = _state(stack)
    fqdn = dns.abs_name(name)
    with locked(state.stack):
        state = State.load(state.stack) or state
        zone = _zone_of(state, fqdn)
        dns.Knot(state.workdir).transaction(zone, [], [(fqdn, rtype, data)])
        if record:
            state.data["challenges"]["records"] = [
                r for r in state.data["challenges"]["records"]
                if not (r["name"] == fqdn and (rtype is None or r["type"] == rtype)
                        and (data is None or r["data"] == data))]
            state.save()


# ------------------------------------------------------------------------------------ HTTP
def _safe_path(path: str) -> str:
    path = path.lstrip("/")
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts) or "\x00" in path:
        raise ChallengeError(f"path {path!r}: give a relative path like .well-known/acme-challenge/TOKEN")
    return path


def set_http(stack: str | None, host: str, path: str, content: str) -> Path:
    """Serve ``content`` at http://HOST/PATH and https://HOST/PATH (the internet host's nginx)."""
    state = _state(stack)
    host = host.strip().lower().rstrip(".")
    if not _HOST.match(host):
        raise ChallengeError(f"{host}: not a valid host name")
    rel = _safe_path(path)
    with locked(state.stack):
        state = State.load(state.stack) or state
        plan = load_plan(state)
        target = state.workdir / "www" / host / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        entry = {"host": host, "path": rel}
        http = state.data["challenges"]["http"]
        new_host = host not in {h["host"] for h in http}
        if entry not in http:
            http.append(entry)
        state.save()
        zone = zone_for_name(host, _served(state))
        knot = dns.Knot(state.workdir)
        if zone is not None and not knot.get(zone, host + ".", "A") and not knot.get(zone, host + ".", "CNAME"):
            knot.transaction(zone, [(host + ".", 60, "A", plan.internet_ip)])
            state.data["challenges"]["records"].append(
                {"zone": zone, "name": host + ".", "type": "A", "data": plan.internet_ip})
            state.save()
        if new_host:
            web_certificate(state, plan, sorted({h["host"] for h in http}))
            rec = state.data["processes"].get("nginx")
            if rec:
                signal_proc(rec, signal.SIGHUP)
    return target


# ------------------------------------------------------------------------------------ zones
def load_zone(stack: str | None, file: str | Path, origin: str | None = None) -> str:
    """Serve a zone file (any origin), signed, delegated from the fake root chain; return origin.

    ``@INTERNET_IP@`` in the file stands for the internet host's address.
    """
    state = _state(stack)
    try:
        text = Path(file).read_text()
    except OSError as exc:
        raise ChallengeError(f"zone file {file}: {exc.strerror or exc}") from None
    with locked(state.stack):
        state = State.load(state.stack) or state
        plan = load_plan(state)
        text = text.replace("@INTERNET_IP@", plan.internet_ip)
        try:
            info = dns.parse_zone(text, origin)
        except Exception as exc:  # dnspython's syntax errors name the line
            raise ChallengeError(f"zone file {file}: {exc}") from None
        if info.origin == ".":
            raise ChallengeError("the root zone is the fleet's own; load zones below it")
        wd = state.workdir
        served = _served(state)
        new_zones = []
        tld = dns.needed_tld(info.origin, served)
        if tld:
            dns.zone_file(wd, tld).write_text(dns.kit_zone_text(tld, plan.internet_ip))
            new_zones.append(tld)
        dns.zone_file(wd, info.origin).write_text(text)
        if info.origin not in served:
            new_zones.append(info.origin)
        served_after = served + new_zones
        dns.write_knot_conf(wd, plan.internet_ip, served_after)
        knot = dns.Knot(wd)
        knot.reload()
        if info.origin in served:
            knot.c("zone-reload", info.origin, check=False)
        knot.wait_loaded([*new_zones, info.origin])
        if tld:
            dns.delegate(knot, dns.ZoneInfo(tld, (f"ns.{tld}",), ((f"ns.{tld}", "A", plan.internet_ip),)), served_after)
        dns.delegate(knot, info, served_after)
        # zones already served below the new one now hang from it
        loaded = state.data["challenges"]["zones"]
        for z in loaded:
            if z["origin"] != info.origin and zone_parents(z["origin"], served_after) == info.origin:
                child = dns.ZoneInfo(z["origin"], tuple(z["ns"]), tuple(tuple(g) for g in z["glue"]))
                dns.delegate(knot, child, served_after)
        state.data["zones"] = served_after
        loaded[:] = [z for z in loaded if z["origin"] != info.origin]
        loaded.append({"origin": info.origin, "ns": list(info.ns), "glue": [list(g) for g in info.glue],
                       "file": str(file), "tld": tld})
        state.save()
    return info.origin


def clear(stack: str | None) -> dict[str, int]:
    """Undo every challenge: records, HTTP files and loaded zones."""
    state = _state(stack)
    with locked(state.stack):
        state = State.load(state.stack) or state
        plan = load_plan(state)
        knot = dns.Knot(state.workdir)
        ch = state.data["challenges"]
        by_zone: dict[str, list] = {}
        for r in ch["records"]:
            by_zone.setdefault(r["zone"], []).append((r["name"], r["type"], r["data"]))
        loaded_origins = {z["origin"] for z in ch["zones"]}
        for zone, unsets in by_zone.items():
            if zone in loaded_origins:
                continue
            knot.transaction(zone, [], unsets)
        for h in ch["http"]:
            p = state.workdir / "www" / h["host"] / h["path"]
            p.unlink(missing_ok=True)
        shutil.rmtree(state.workdir / "www", ignore_errors=True)
        (state.workdir / "www").mkdir()
        served = _served(state)
        tlds_added = {z["tld"] for z in ch["zones"] if z.get("tld")}
        remove = loaded_origins | tlds_added
        kept = [z for z in served if z not in remove]
        for origin in sorted(remove, key=lambda z: -z.count(".")):
            parent = zone_parents(origin, kept)
            if parent in kept:
                glue = [(g[0], None, None) for z in ch["zones"] if z["origin"] == origin for g in z["glue"]]
                if origin in tlds_added:
                    glue.append((f"ns.{origin}", None, None))
                knot.transaction(parent, [], [(origin, None, None)] + glue)
        dns.write_knot_conf(state.workdir, plan.internet_ip, kept)
        knot.reload()
        counts = {"records": len(ch["records"]), "http": len(ch["http"]), "zones": len(loaded_origins)}
        state.data["zones"] = kept
        state.data["challenges"] = {"records": [], "http": [], "zones": []}
        state.save()
    return counts
