"""``mpic up`` / ``mpic down`` / ``mpic status`` of the local fleet: carries out a FleetPlan.

Every namespace, link and file is recorded in the state file before it is created, every
process right after it starts (PID + kernel start time), so ``down`` can undo a crashed ``up``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from scripts.fleet import dns, lb, netns
from scripts.fleet.plan import FleetPlan, RegionPlan, plan_from_config
from scripts.fleet.proc import KIT_ROOT, CommandError, alive, kill_pid, run, spawn, stop
from scripts.fleet.state import State, list_stacks, locked, run_root, stack_dir

Progress = Callable[[str], None]


class FleetError(RuntimeError):
    """The fleet could not be brought up / changed; the message says what and how to fix it."""


class NonCompliantError(FleetError):
    """The stack fails the BR 3.2.2.9 compliance check: nothing was started (exit 1)."""


def _quiet(_: str) -> None:
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise FleetError("the local fleet needs root (network namespaces, ports 53/80/443 inside them): "
                         "run `sudo ./scripts/mpic ...`")


# ------------------------------------------------------------------------------------ plan I/O
def plan_to_json(plan: FleetPlan) -> dict[str, Any]:
    import dataclasses
    return dataclasses.asdict(plan)


def plan_from_json(data: dict[str, Any]) -> FleetPlan:
    from scripts.fleet.plan import HostPlan, LinkPlan
    d = dict(data)
    d["regions"] = tuple(RegionPlan(**{**r, "replica_ports": tuple(r["replica_ports"])}) for r in d["regions"])
    d["links"] = tuple(LinkPlan(**x) for x in d["links"])
    d["hosts"] = tuple(HostPlan(**x) for x in d["hosts"])
    d["coordinator_replica_ports"] = tuple(d["coordinator_replica_ports"])
    return FleetPlan(**d)


def load_plan(state: State) -> FleetPlan:
    return plan_from_json(state.data["plan"])


# ------------------------------------------------------------------------------------ helpers
def python() -> str:
    venv = KIT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _record(state: State, name: str, rec: dict[str, Any], role: str, region: str | None = None) -> None:
    rec = {**rec, "role": role, "region": region}
    state.data["processes"][name] = rec
    state.save()


def start_process(state: State, name: str, argv: list[str], netns_name: str, role: str,
                  region: str | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    log = state.workdir / "logs" / f"{name.replace('@', '_').replace('#', '_')}.log"
    rec = spawn(argv, netns=netns_name, log=log, env=env)
    _record(state, name, rec, role, region)
    return rec


def respawn(state: State, name: str) -> dict[str, Any]:
    old = state.data["processes"][name]
    rec = spawn(old["argv"], netns=old["netns"], log=Path(old["log"]), env=old.get("env") or None)
    _record(state, name, rec, old["role"], old.get("region"))
    return rec


def _wait(pred: Callable[[], bool], timeout: float, what: str, rec: dict[str, Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if rec is not None and not alive(rec):
            tail = _tail(rec.get("log"))
            raise FleetError(f"{what}: the process exited (log {rec.get('log')}):\n{tail}")
        time.sleep(0.1)
    tail = _tail(rec.get("log")) if rec else ""
    raise FleetError(f"{what}: not ready after {timeout:.0f}s" + (f" (log {rec.get('log')}):\n{tail}" if rec else ""))


def _tail(path: str | None, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) if path else ""
    except OSError:
        return ""


def tcp_listening(netns_name: str, ip: str, port: int) -> bool:
    res = run(["nc", "-z", "-w", "1", ip, str(port)], netns=netns_name, check=False, timeout=5)
    return res.returncode == 0


def curl(netns_name: str, url: str, *, ca: Path | None = None, cert: tuple[Path, Path] | None = None,
         timeout: float = 5, data: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", str(timeout), "--noproxy", "*"]
    if ca:
        argv += ["--cacert", str(ca)]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if data is not None:
        argv += ["-H", "content-type: application/json", "--data-binary", data]
    argv.append(url)
    res = run(argv, netns=netns_name, check=False, timeout=timeout + 5)
    body, _, code = res.stdout.rpartition("\n")
    try:
        return int(code), body
    except ValueError:
        return 0, res.stderr.strip()


# ------------------------------------------------------------------------------------ PKI
def _pki(state: State, plan: FleetPlan) -> dict[str, Any]:
    from scripts.kit.pki import KitCA

    ca = KitCA.load_or_create(state.workdir / "pki")
    out: dict[str, Any] = {"ca": str(ca.cert_path), "regions": {}}
    ccert, ckey = ca.issue_client("coordinator")
    out["client"] = [str(ccert), str(ckey)]
    for r in plan.regions:
        cert, key = ca.issue_server(f"perspective-{r.code}", dns_names=["localhost", r.host],
                                    ips=[r.backbone_ip, "127.0.0.1"])
        hcert, hkey = ca.issue_client(f"lb-check-{r.code}")
        pem = state.workdir / "pki" / f"lb-check-{r.code}.pem"
        pem.write_text(Path(hcert).read_text() + Path(hkey).read_text())
        os.chmod(pem, 0o600)
        out["regions"][r.code] = {"cert": str(cert), "key": str(key), "check_pem": str(pem)}
    lcert, lkey = ca.issue_server("coordinator-lb", dns_names=["localhost", "coordinator"], ips=[plan.coordinator_ip])
    lb_pem = state.workdir / "pki" / "coordinator-lb.pem"
    lb_pem.write_text(Path(lcert).read_text() + Path(lkey).read_text())
    os.chmod(lb_pem, 0o600)
    out["coordinator_lb_pem"] = str(lb_pem)
    return out


def issue_web_cert(state: State, plan: FleetPlan, hosts: list[str]) -> tuple[Path, Path]:
    """The internet host's HTTPS certificate, for the test domain and every challenge host."""
    from scripts.kit.pki import KitCA

    ca = KitCA.load_or_create(state.workdir / "pki")
    names = sorted({plan.test_domain, f"*.{plan.test_domain}", *hosts})
    return ca.issue_server("internet-web", dns_names=names, ips=[plan.internet_ip])


# ------------------------------------------------------------------------------------ DNS
def _kit_zones(plan: FleetPlan) -> list[str]:
    test = dns.abs_name(plan.test_domain)
    return [".", dns.tld_of(test), test] if dns.tld_of(test) != test else [".", test]


def start_dns(state: State, plan: FleetPlan, say: Progress) -> list[str]:
    wd = state.workdir
    zones = _kit_zones(plan)
    test = dns.abs_name(plan.test_domain)
    for z in zones:
        f = dns.zone_file(wd, z)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(dns.kit_zone_text(z, plan.internet_ip, apex_records=(z == test)))
    conf = dns.write_knot_conf(wd, plan.internet_ip, zones)
    rec = start_process(state, "knotd", ["knotd", "-c", str(conf)], plan.internet_ns, "dns")
    knot = dns.Knot(wd)
    _wait(lambda: knot.c("status", check=False).strip() != "" and
          run(["knotc", "-c", str(conf), "status"], check=False).returncode == 0, 15, "knotd", rec)
    knot.wait_loaded(zones)
    served = list(zones)
    for z in zones[1:]:
        info = dns.ZoneInfo(z, (f"ns.{z}",), ((f"ns.{z}", "A", plan.internet_ip),))
        dns.delegate(knot, info, served)
    state.data["zones"] = served
    state.save()
    ksk = knot.ksk_dnskeys(".")
    say(f"dns: knotd serves {', '.join(served)} (DNSSEC-signed, root KSK tag "
        f"{knot.ds('.')[0].split()[0]}) on {plan.internet_ip}:53")
    return ksk


def start_web(state: State, plan: FleetPlan, say: Progress) -> None:
    wd = state.workdir
    (wd / "www").mkdir(parents=True, exist_ok=True)
    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (wd / "nginx" / "tmp" / k).mkdir(parents=True, exist_ok=True)
    hosts = sorted({h["host"] for h in state.data["challenges"]["http"]})
    cert, key = issue_web_cert(state, plan, hosts)
    conf = wd / "nginx" / "nginx.conf"
    conf.write_text(lb.nginx_conf(wd, plan.internet_ip, cert, key))
    rec = start_process(state, "nginx", ["nginx", "-c", str(conf), "-p", str(wd / "nginx"), "-e",
                                         str(wd / "nginx" / "error.log")], plan.internet_ns, "web")
    _wait(lambda: tcp_listening(plan.internet_ns, plan.internet_ip, 80)
          and tcp_listening(plan.internet_ns, plan.internet_ip, 443), 10, "nginx", rec)
    say(f"web: nginx serves challenge files on http(s)://<host> -> {plan.internet_ip}:80/443")


# ------------------------------------------------------------------------------------ regions
def perspective_settings(state: State, plan: FleetPlan, region: RegionPlan, port: int, pki: dict) -> dict:
    rp = pki["regions"][region.code]
    return {
        "code": region.code,
        "rir": region.rir,
        "listen_host": "127.0.0.1",
        "listen_port": port,
        "tls": {"cert": rp["cert"], "key": rp["key"], "client_ca": pki["ca"]},
        "resolver": {"nameservers": ["127.0.0.1"], "port": 53, "timeout": 2.0, "lifetime": 4.0},
        "verify_ssl": True,
        "http_ca_file": pki["ca"],
        "http_timeout": 5.0,
        "log_level": "INFO",
        "audit_log": str(state.workdir / "logs" / f"audit-{region.code}-{port}.jsonl"),
    }


def start_region(state: State, plan: FleetPlan, region: RegionPlan, pki: dict, root_ksk: list[str]) -> None:
    wd = state.workdir
    rdir = wd / "regions" / region.code
    rdir.mkdir(parents=True, exist_ok=True)
    netns.write_resolv_conf(state, region.netns, "127.0.0.1")
    uconf = dns.write_unbound(wd, plan, region, root_ksk)
    urec = start_process(state, f"unbound@{region.code}", ["unbound", "-d", "-c", str(uconf)], region.netns,
                         "resolver", region.code)
    _wait(lambda: run(["kdig", "@127.0.0.1", "+time=1", "+retry=0", ".", "SOA"], netns=region.netns,
                      check=False).returncode == 0 and "NOERROR" in run(
        ["kdig", "@127.0.0.1", "+time=1", "+retry=0", ".", "SOA"], netns=region.netns, check=False).stdout,
          15, f"unbound in {region.code}", urec)
    for j, port in enumerate(region.replica_ports):
        sfile = rdir / f"perspective-{j + 1}.yaml"
        sfile.write_text(yaml.safe_dump(perspective_settings(state, plan, region, port, pki)))
        start_process(state, f"perspective@{region.code}#{j + 1}",
                      [python(), "-m", "service", "perspective", "--settings", str(sfile)],
                      region.netns, "perspective", region.code)
    hconf = rdir / "haproxy.cfg"
    hconf.write_text(lb.region_haproxy(region, ca=Path(pki["ca"]), check_pem=Path(pki["regions"][region.code]["check_pem"]),
                                       sock=rdir / "haproxy.sock"))
    start_process(state, f"haproxy@{region.code}", ["haproxy", "-db", "-f", str(hconf)], region.netns,
                  "lb", region.code)
    delay_file = rdir / "delay_ms"
    if not delay_file.exists():
        delay_file.write_text(f"{region.delay_ms}\n")
    start_process(state, f"relay@{region.code}",
                  [python(), "-m", "scripts.fleet.relay", "--listen", f"{region.backbone_ip}:{region.front_port}",
                   "--upstream", f"127.0.0.1:{region.lb_port}", "--delay-file", str(delay_file)],
                  region.netns, "wan", region.code)


def wait_region(state: State, plan: FleetPlan, region: RegionPlan, pki: dict, timeout: float = 60) -> None:
    procs = state.data["processes"]
    cert = (Path(pki["client"][0]), Path(pki["client"][1]))
    for j, port in enumerate(region.replica_ports):
        rec = procs[f"perspective@{region.code}#{j + 1}"]
        _wait(lambda: curl(region.netns, f"https://127.0.0.1:{port}/readyz", ca=Path(pki["ca"]), cert=cert,
                           timeout=2)[0] == 200, timeout, f"perspective {region.code} replica {j + 1}", rec)
    rec = procs[f"relay@{region.code}"]
    # the coordinator's own path: backbone -> WAN relay -> HAProxy (replicas marked up) -> replica
    _wait(lambda: curl(plan.coordinator_ns, f"{region.url}/readyz", ca=Path(pki["ca"]), cert=cert,
                       timeout=3)[0] == 200, 20, f"perspective {region.code} through its load balancer", rec)


# ------------------------------------------------------------------------------------ coordinator
def coordinator_settings(state: State, plan: FleetPlan, port: int, pki: dict, cfg) -> dict:
    settings = {
        "listen_host": "127.0.0.1",
        "listen_port": port,
        "api_keys": [state.data["api_key"]],
        "hash_secret": state.data["hash_secret"],
        "default_perspective_count": cfg.cohort_size,
        "max_attempts": cfg.max_attempts,
        "perspective_timeout": 5.0,
        # wait for every perspective: users (and `mpic smoke`) see each perspective's verdict
        "early_quorum": False,
        "client_tls": {"cert": pki["client"][0], "key": pki["client"][1], "ca": pki["ca"]},
        "perspectives": [{"code": r.code, "rir": r.rir, "url": r.url} for r in plan.regions],
        "audit_log": str(state.workdir / "logs" / f"audit-coordinator-{port}.jsonl"),
        "log_level": "INFO",
    }
    if cfg.quorum is not None:  # mpic:quorum; unset = the core's BR 3.2.2.9 default
        settings["default_quorum_count"] = cfg.quorum
    return settings


def start_coordinator(state: State, plan: FleetPlan, pki: dict, cfg) -> None:
    cdir = state.workdir / "coordinator"
    cdir.mkdir(parents=True, exist_ok=True)
    netns.write_resolv_conf(state, plan.coordinator_ns, "127.0.0.1")
    for j, port in enumerate(plan.coordinator_replica_ports):
        sfile = cdir / f"coordinator-{j + 1}.yaml"
        sfile.write_text(yaml.safe_dump(coordinator_settings(state, plan, port, pki, cfg)))
        os.chmod(sfile, 0o600)
        start_process(state, f"coordinator#{j + 1}", [python(), "-m", "service", "coordinator", "--settings", str(sfile)],
                      plan.coordinator_ns, "coordinator")
    hconf = cdir / "haproxy.cfg"
    hconf.write_text(lb.coordinator_haproxy(plan, tls_pem=Path(pki["coordinator_lb_pem"]), sock=cdir / "haproxy.sock"))
    start_process(state, "haproxy@coordinator", ["haproxy", "-db", "-f", str(hconf)], plan.coordinator_ns, "lb")


def wait_coordinator(state: State, plan: FleetPlan, timeout: float = 60) -> None:
    procs = state.data["processes"]
    for j, port in enumerate(plan.coordinator_replica_ports):
        rec = procs[f"coordinator#{j + 1}"]
        _wait(lambda: curl(plan.coordinator_ns, f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200,
              timeout, f"coordinator replica {j + 1}", rec)
    _wait(lambda: api_get(state, "/healthz")[0] == 200, 15, "coordinator load balancer",
          procs["haproxy@coordinator"])


# ------------------------------------------------------------------------------------ API client
def ssl_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def api_request(url: str, ca: str, method: str = "GET", body: Any = None, api_key: str | None = None,
                timeout: float = 30, path: str = "") -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if api_key:
        req.add_header("x-api-key", api_key)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ssl_context(ca)))
    try:
        with opener.open(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return 0, {"error": str(exc)}
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def api_get(state: State, path: str) -> tuple[int, Any]:
    return api_request(state.data["coordinator_url"], state.data["ca_cert"], path=path, timeout=5)


def mpic(state_or_status: State | dict, body: dict, timeout: float = 30) -> tuple[int, Any]:
    s = state_or_status.data if isinstance(state_or_status, State) else state_or_status
    return api_request(s["coordinator_url"], s["ca_cert"], "POST", body, s["api_key"], timeout, "/mpic")


# ------------------------------------------------------------------------------------ up/down
def check_addresses_free(plan: FleetPlan, state: State | None) -> None:
    import ipaddress
    net = ipaddress.ip_network(plan.base)
    ours = set(state.data.get("root_links", [])) if state else set()
    res = run(["ip", "-o", "-4", "addr", "show"], check=False)
    for line in res.stdout.splitlines():
        parts = line.split()
        ifname, addr = parts[1], parts[3]
        if ifname in ours:
            continue
        if ipaddress.ip_interface(addr).network.overlaps(net):
            raise FleetError(f"address range {plan.base} is already used on this machine ({ifname} {addr}); "
                             "set MPIC_FLEET_CIDR to a free /16 (e.g. 10.214.0.0/16) and try again")


def load_config(stack: str):
    from config.stackfile import load_stack
    return load_stack(stack)


def compliance(cfg) -> tuple[bool, str]:
    from config.compliance import check_stack, format_report
    rep = check_stack(cfg)
    return rep.compliant, format_report(rep, cfg)


def up(stack: str = "local", say: Progress = _quiet, *, cfg=None, verify: bool = True) -> dict[str, Any]:
    """Bring the fleet of ``stack`` up (idempotent); return its status dict."""
    require_root()
    cfg = cfg or load_config(stack)
    ok, report = compliance(cfg)  # before anything starts, as for a cloud deployment
    if not ok and cfg.compliance_mode != "testing":
        raise NonCompliantError(f"{report}\nstack '{cfg.name}' is not compliant with BR 3.2.2.9: nothing started. "
                                "Fix the violations above (or set mpic:complianceMode: testing for a lab stack).")
    say(f"compliance: {report.splitlines()[-1]}" if ok else
        f"{report}\ncompliance: NOT compliant, starting anyway (mpic:complianceMode: testing)")
    if cfg.target != "local":
        raise FleetError(f"stack '{cfg.name}' has mpic:target {cfg.target}; `mpic up` runs local stacks only "
                         f"(deploy this one with `pulumi up -s {cfg.name}`)")
    name = cfg.name
    others = [s for s in list_stacks() if s != name]
    if others:
        raise FleetError(f"the local fleet of stack '{others[0]}' is up; run `./scripts/mpic down {others[0]}` first")
    plan = plan_from_config(cfg, base=os.environ.get("MPIC_FLEET_CIDR", "10.213.0.0/16"))
    with locked(name):
        existing = State.load(name)
    if existing is not None:
        intact = set(plan.namespaces) <= netns.existing_namespaces()  # e.g. not after a reboot
        if intact and existing.data.get("status") == "up" and \
                existing.data.get("plan") == json.loads(json.dumps(plan_to_json(plan))):
            say("fleet already up: checking every process")
            restarted = ensure_running(existing, say)
            if restarted:
                say(f"restarted {', '.join(restarted)}")
            wait_all(existing, plan)
            if verify:
                verify_fleet(existing, say)
            return status(name)
        say(f"a previous fleet of '{name}' is recorded ({existing.data.get('status')}): removing it first")
        down(name, say)
    check_addresses_free(plan, None)
    t0 = time.monotonic()
    with locked(name):
        state = State.new(name)
        state.data["plan"] = plan_to_json(plan)
        state.data["api_key"] = secrets.token_hex(24)
        state.data["hash_secret"] = secrets.token_hex(32)
        state.data["coordinator_url"] = plan.coordinator_url
        state.data["test_domain"] = plan.test_domain
        state.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(state.workdir, 0o711)  # nginx workers (www-data) read www/; keys stay 0600
        state.save()
    try:
        with locked(name):
            say(f"network: {len(plan.namespaces)} namespaces ({plan.prefix}-*), backbone and uplink bridges, "
                f"host link {plan.host_if} {plan.host_ip} <-> {plan.coordinator_ip}")
            netns.build_network(state, plan)
            netns.write_resolv_conf(state, plan.internet_ns, "127.0.0.1")
            netns.write_resolv_conf(state, plan.switch_ns, "127.0.0.1")
            pki = _pki(state, plan)
            state.data["ca_cert"] = pki["ca"]
            state.data["pki"] = pki
            state.save()
            say(f"pki: kit CA {pki['ca']}; mTLS certificates for {len(plan.regions)} regions and the coordinator")
            root_ksk = start_dns(state, plan, say)
            start_web(state, plan, say)
            for r in plan.regions:
                start_region(state, plan, r, pki, root_ksk)
            start_coordinator(state, plan, pki, cfg)
            for r in plan.regions:
                wait_region(state, plan, r, pki)
                say(f"region {r.code} ({r.rir}): {len(r.replica_ports)} perspectives behind HAProxy, own Unbound, "
                    f"uplink {r.uplink_ip}, backbone {r.url}"
                    + (f", WAN delay {r.delay_ms:.0f} ms one way ({r.distance_km:.0f} km)" if plan.wan_delay else ""))
            wait_coordinator(state, plan)
            say(f"coordinator: {len(plan.coordinator_replica_ports)} replicas behind HAProxy at {plan.coordinator_url}")
            state.data["status"] = "up"
            state.data["up_seconds"] = round(time.monotonic() - t0, 2)
            state.save()
    except BaseException as exc:
        with locked(name):
            state.data["status"] = "failed"
            state.save()
        if isinstance(exc, (FleetError, CommandError)):
            raise FleetError(f"{exc}\nThe partial fleet is left for inspection (logs in {state.workdir}/logs); "
                             f"`./scripts/mpic down {name}` removes it, `./scripts/mpic up {name}` starts over.") from None
        raise
    if verify:
        verify_fleet(state, say)
    say(f"fleet '{name}' up in {state.data['up_seconds']:.1f}s")
    return status(name)


def verify_fleet(state: State, say: Progress) -> dict:
    """One real MPIC request (dns-change on a fresh TXT record) through the coordinator URL."""
    from scripts.fleet import challenges

    plan = load_plan(state)
    value = secrets.token_hex(8)
    domain = f"up-check-{secrets.token_hex(3)}.{plan.test_domain}"  # fresh name: no resolver has it cached
    name = f"_mpic-up-check.{domain}"
    challenges.set_txt(state.stack, name, value, record=False)
    body = {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "dns-change", "dns_name_prefix": "_mpic-up-check",
                                     "dns_record_type": "TXT", "challenge_value": value}}
    t = time.monotonic()
    code, resp = mpic(state, body)
    ms = (time.monotonic() - t) * 1000
    challenges.unset(state.stack, name, "TXT", record=False)
    if code != 200 or not isinstance(resp, dict):
        raise FleetError(f"verification request failed: HTTP {code}: {resp}")
    passed = [p["perspective_code"] for p in resp.get("perspectives", []) if p["check_response"]["check_passed"]]
    say(f"verify: dns-change for {name} -> is_valid={resp.get('is_valid')} "
        f"({len(passed)}/{len(resp.get('perspectives', []))} perspectives passed, {ms:.0f} ms)")
    if not resp.get("is_valid"):
        raise FleetError(f"verification request: is_valid=false: {json.dumps(resp)[:2000]}")
    return resp


def ensure_running(state: State, say: Progress = _quiet) -> list[str]:
    restarted = []
    with locked(state.stack):
        fresh = State.load(state.stack)
        state.data = fresh.data if fresh else state.data
        for name, rec in list(state.data["processes"].items()):
            if not alive(rec):
                respawn(state, name)
                restarted.append(name)
    return restarted


def wait_all(state: State, plan: FleetPlan) -> None:
    pki = state.data["pki"]
    for r in plan.regions:
        wait_region(state, plan, r, pki)
    wait_coordinator(state, plan)


def down(stack: str | None = None, say: Progress = _quiet) -> list[str]:
    """Remove everything the state file of ``stack`` recorded (all stacks when None)."""
    require_root()
    stacks = [stack] if stack else list_stacks()
    removed: list[str] = []
    for name in stacks:
        with locked(name):
            state = State.load(name)
            if state is None:
                continue
            procs = state.data.get("processes", {})
            stop_all(list(procs.values()))
            for ns in state.data.get("namespaces", []):
                if ns in netns.existing_namespaces():
                    for pid in netns.namespace_pids(ns):
                        kill_pid(pid)
            for ns in reversed(state.data.get("namespaces", [])):
                netns.delete_namespace(ns)
            for ifname in state.data.get("root_links", []):
                netns.delete_root_link(ifname)
            for path in state.data.get("etc_netns", []):
                netns.remove_etc_netns(path)
            if state.data.get("etc_netns_created"):
                try:
                    netns.ETC_NETNS.rmdir()
                except OSError:
                    pass
            wd = Path(state.data.get("workdir", stack_dir(name)))
        if wd.resolve().parent == run_root().resolve():
            shutil.rmtree(wd, ignore_errors=True)
        shutil.rmtree(stack_dir(name), ignore_errors=True)
        removed.append(name)
        say(f"down: stack '{name}': {len(procs)} processes stopped, "
            f"{len(state.data.get('namespaces', []))} namespaces and "
            f"{len(state.data.get('root_links', []))} host link removed, {wd} deleted")
    try:
        run_root().rmdir()
    except OSError:
        pass
    return removed


# ------------------------------------------------------------------------------------ status
def stop_all(recs: list[dict[str, Any]], timeout: float = 5.0) -> None:
    """SIGTERM every recorded process at once, SIGKILL what is left after ``timeout``."""
    from scripts.fleet.proc import signal_proc
    for rec in recs:
        signal_proc(rec, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(r) for r in recs):
        time.sleep(0.05)
    for rec in recs:
        stop(rec, sig=signal.SIGKILL, timeout=2)


def current_stack(stack: str | None) -> str:
    if stack:
        return stack
    up_ = list_stacks()
    if not up_:
        raise FleetError("no local fleet is up; start one with `./scripts/mpic up`")
    return up_[0]


def load_state(stack: str | None) -> State:
    name = current_stack(stack)
    state = State.load(name)
    if state is None:
        raise FleetError(f"no local fleet of stack '{name}' is up; start it with `./scripts/mpic up {name}`")
    return state


def status(stack: str | None = None) -> dict[str, Any]:
    state = load_state(stack)
    plan = load_plan(state)
    return {
        "stack": state.stack,
        "coordinator_url": state.data.get("coordinator_url", plan.coordinator_url),
        "api_key": state.data.get("api_key", ""),
        "ca_cert": state.data.get("ca_cert", ""),
        "test_domain": plan.test_domain,
        "perspectives": [{"code": r.code, "rir": r.rir, "hosts": [r.host]} for r in plan.regions],
        "hosts": [{"name": h.name, "netns": h.netns, "role": h.role, "address": h.address} for h in plan.hosts],
    }


def process_table(stack: str | None = None) -> list[dict[str, Any]]:
    state = load_state(stack)
    rows = []
    for name, rec in state.data["processes"].items():
        rows.append({"name": name, "pid": rec["pid"], "netns": rec["netns"], "role": rec["role"],
                     "alive": alive(rec)})
    return rows


def signal_name(sig: int) -> str:
    return signal.Signals(sig).name
