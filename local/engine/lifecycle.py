"""``mpic up`` / ``mpic down`` / ``mpic status`` of the local fleet: carry out a plan of :mod:`plan.local`.

Every namespace, link and file is recorded in the state file before it is created, every
process right after it starts (PID + kernel start time), so ``down`` can undo a crashed ``up``.
``up`` passes the one compliance gate (:func:`config.gate.compliance_gate`) before anything starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from config.gate import compliance_gate
from config.model import StackConfig
from config.stackfile import load_stack
from plan.suggest.advice import advised
from local.roles import audit, canary, failover
from local.actions import challenges
from local.engine import netns
from local.pki import fleet_certificates
from local.actions.client import mpic
from local.roles.coordinator import start_coordinator, wait_coordinator
from local.internet.dns import kit_zones, start_dns, wait_validated
from local.errors import FleetError, require_root
from local.engine.proc import CommandError, alive, kill_pid, run, stop_all
from local.roles.region import start_region, start_resolvers, wait_region, wait_resolvers
from local.engine.state import State, list_stacks, load_plan, load_state, locked, plan_to_json, run_root, stack_dir
from local.engine.supervisor import Progress, ensure_running, quiet
from local.engine.runtime import runtime_python
from local.engine.users import ensure_users, user_of
from local.internet.web import start_alpn, start_web, wait_alpn, wait_web
from plan import outputs
from artifacts.dist import require_artifacts
from plan.local import FleetPlan, plan_from_config
from plan.privileges import LAB_USER, PROCESS_USERS, RUNTIME_USER

DEFAULT_CIDR = "10.213.0.0/16"


def check_addresses_free(plan: FleetPlan) -> None:
    """FleetError when the fleet's address range is already used on this machine."""
    net = ipaddress.ip_network(plan.base)
    for line in run(["ip", "-o", "-4", "addr", "show"], check=False).stdout.splitlines():
        parts = line.split()
        ifname, addr = parts[1], parts[3]
        if ipaddress.ip_interface(addr).network.overlaps(net):
            raise FleetError(f"address range {plan.base} is already used on this machine ({ifname} {addr}); "
                             "set MPIC_FLEET_CIDR to a free /16 (e.g. 10.214.0.0/16) and try again")


def wait_all(state: State, plan: FleetPlan) -> None:
    """Everything serves: the mini-internet's web server, DNSSEC-validated answers in every region,
    every region and the coordinator through their load balancers (FleetError naming what does not)."""
    pki = state.data["pki"]
    wait_web(state, plan)
    wait_alpn(state, plan)
    wait_validated(state, plan)
    for r in plan.regions:
        wait_region(state, plan, r, pki)
    for site in plan.sites:
        wait_coordinator(state, site)


def _resume(state: State, plan: FleetPlan, say: Progress, verify: bool) -> dict[str, Any]:
    say("fleet already up: checking every process")
    restarted = ensure_running(state)
    if restarted:
        say(f"restarted {', '.join(restarted)}")
    wait_all(state, plan)
    if verify:
        verify_fleet(state, say)
    return status(state.stack)


def _build(state: State, plan: FleetPlan, cfg: StackConfig, say: Progress) -> None:
    say(f"network: {len(plan.namespaces)} namespaces ({plan.prefix}-*), backbone and uplink bridges, "
        f"host link {plan.host_if} {plan.host_ip} <-> {plan.coordinator_ip}")
    netns.build_network(state, plan)
    netns.write_resolv_conf(state, plan.internet_ns, "127.0.0.1")
    netns.write_resolv_conf(state, plan.switch_ns, "127.0.0.1")
    pki = fleet_certificates(state, plan)
    state.data["ca_cert"] = pki["ca"]
    state.data["pki"] = pki
    state.save()
    say(f"pki: kit CA {pki['ca']}; mTLS certificates for {len(plan.regions)} regions and the coordinator")
    canary.prepare(state, plan, cfg, kit_zones(plan))
    root_ksk = start_dns(state, plan, say, failover.initial_records(plan, cfg))
    # the web server, the ALPN responder and every resolver, perspective and coordinator start at
    # once (their start is CPU-bound: the Python imports), then each is waited for: not one after another
    start_web(state, plan)
    start_alpn(state, plan)
    for r in plan.regions:
        start_resolvers(state, plan, r, root_ksk)
    failover.start_resolver(state, plan, root_ksk)
    for r in plan.regions:
        start_region(state, plan, cfg, r, pki)
    for site in plan.sites:
        start_coordinator(state, plan, pki, cfg, site)
    for r in plan.regions:
        wait_resolvers(state, r)
    say(f"resolvers: {sum(len(r.replicas) for r in plan.regions)} Unbound (one per perspective host) answer, "
        f"validating from the mini-internet's root")
    for r in plan.regions:
        wait_region(state, plan, r, pki)
        say(f"region {r.code} ({r.rir}): {len(r.replicas)} perspective hosts (each with its own Unbound and "
            f"uplink) behind HAProxy, backbone {r.url}"
            + (f", WAN delay {r.delay_ms:.0f} ms one way ({r.distance_km:.0f} km)" if plan.wan_delay else ""))
    for site in plan.sites:
        wait_coordinator(state, site)
        say(f"coordinator ({site.role}): {len(site.replica_ports)} replicas behind HAProxy at {site.url}")
    wait_web(state, plan)
    say(f"web: nginx serves challenge files on http(s)://<host> -> {plan.internet_ip}:80/443")
    wait_alpn(state, plan)
    say(f"web: TLS-ALPN-01 responder on {plan.alpn_ip}:443 (acme-tls/1 challenge certificates by SNI)")
    failover.start(state, plan, cfg, say)
    if canary.start(state, plan, cfg):
        say(f"canary: every {cfg.canary.interval} min on {cfg.canary_domain} (TXT by RFC 2136 over "
            f"{plan.dns_admin_ip}); `mpic canary --once` runs it now")


def up(stack: str = "local", say: Progress = quiet, *, cfg: StackConfig | None = None,
       verify: bool = True) -> dict[str, Any]:
    """Bring the fleet of ``stack`` up (idempotent); return its status dict."""
    require_root()
    cfg = cfg or load_stack(stack)
    decision = compliance_gate(cfg, advise=advised)  # before anything starts, as for a cloud deployment
    say(f"compliance: {decision.text.splitlines()[-1]}" if not decision.lab else
        f"{decision.text}\ncompliance: NOT compliant, starting anyway (mpic:complianceMode: testing)")
    if cfg.target != "local":
        raise FleetError(f"stack '{cfg.name}' has mpic:target {cfg.target}; `mpic up` runs local stacks only "
                         f"(deploy this one with `pulumi up -s {cfg.name}`)")
    built = require_artifacts(cfg)  # the wheelhouse a host installs (`mpic up` builds it when missing)
    ensure_users((RUNTIME_USER, LAB_USER), tuple(sorted(set(PROCESS_USERS.values()) - {RUNTIME_USER, LAB_USER, "root"})))
    runtime = built.artifacts[0].sha256
    name = cfg.name
    others = [s for s in list_stacks() if s != name]
    if others:
        raise FleetError(f"the local fleet of stack '{others[0]}' is up; run `./scripts/mpic down {others[0]}` first")
    plan = plan_from_config(cfg, base=os.environ.get("MPIC_FLEET_CIDR", DEFAULT_CIDR))
    with locked(name):
        existing = State.load(name)
    if existing is not None:
        intact = set(plan.namespaces) <= netns.existing_namespaces()  # e.g. not after a reboot
        if intact and existing.data.get("status") == "up" and existing.data.get("runtime") == runtime and \
                existing.data.get("plan") == json.loads(json.dumps(plan_to_json(plan))):
            return _resume(existing, plan, say, verify)
        say(f"a previous fleet of '{name}' is recorded ({existing.data.get('status')}): removing it first")
        down(name, say)
    check_addresses_free(plan)
    t0 = time.monotonic()
    with locked(name):
        state = State.new(name)
        state.data.update(plan=plan_to_json(plan), api_key=secrets.token_hex(24), hash_secret=secrets.token_hex(32),
                          coordinator_url=plan.coordinator_url, test_domain=plan.test_domain, runtime=runtime)
        if plan.standby:
            state.data["client_resolver"] = plan.dns_admin_host_ip
        state.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(state.workdir, 0o711)  # nginx workers (www-data) read www/; keys stay 0600
        state.save()
    try:
        with locked(name):
            state.data["runtime_python"] = str(runtime_python(built, say))
            state.save()
            _build(state, plan, cfg, say)
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
    plan = load_plan(state)
    value = secrets.token_hex(16)
    domain = f"up-check-{secrets.token_hex(3)}.{plan.test_domain}"  # fresh name: no resolver has it cached
    name = f"_mpic-up-check.{domain}"
    challenges.set_txt(state.stack, name, value, record=False)
    body = {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "dns-change", "dns_name_prefix": "_mpic-up-check",
                                     "dns_record_type": "TXT", "challenge_value": value}}
    t = time.monotonic()
    code, resp = mpic(state.data, body)
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


def _remove(name: str, say: Progress, purge: bool = False) -> bool:
    if not stack_dir(name).is_dir():
        return False  # never up here: taking the lock would leave a folder behind
    with locked(name):
        state = State.load(name)
        if state is None:
            return False
        procs = state.data.get("processes", {})
        stop_all(list(procs.values()))
        namespaces = state.data.get("namespaces", [])
        for ns in namespaces:
            if ns in netns.existing_namespaces():
                for pid in netns.namespace_pids(ns):
                    kill_pid(pid)
        for ns in reversed(namespaces):
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
    kept = [] if purge else audit.files(name)
    say(f"down: stack '{name}': {len(procs)} processes stopped, {len(namespaces)} namespaces and "
        f"{len(state.data.get('root_links', []))} host link removed, {wd} deleted"
        + (f"; the audit records stay ({len(kept)} files in {kept[0].parent}; `down --purge` removes them)"
           if kept else ""))
    return True


def down(stack: str | None = None, say: Progress = quiet, *, purge: bool = False) -> list[str]:
    """Remove everything the state file of ``stack`` recorded (all stacks when None). The audit
    records stay (BR 5.4.3: two years) unless ``purge``; with ``purge`` and no fleet up, the
    records of ``stack`` (without a stack: of every stack) go all the same."""
    require_root()
    removed = [name for name in ([stack] if stack else list_stacks()) if _remove(name, say, purge)]
    if purge:
        for name in set(removed) | ({stack} if stack else set(audit.stacks())):
            gone = audit.purge(name)
            say(f"down --purge: stack '{name}': {gone} audit files removed")
            if gone and name not in removed:
                removed.append(name)
    try:
        run_root().rmdir()
    except OSError:
        pass
    return removed


def status(stack: str | None = None) -> dict[str, Any]:
    """The ``mpic status --json`` keys: what the smoke suite needs to reach the fleet."""
    state = load_state(stack)
    plan = load_plan(state)
    out = outputs.status(
        stack=state.stack, coordinator_url=state.data.get("coordinator_url", plan.coordinator_url),
        ca_cert=state.data.get("ca_cert", ""), test_domain=plan.test_domain,
        perspectives=[{"code": r.code, "rir": r.rir, "hosts": [h.name for h in r.replicas]} for r in plan.regions],
        hosts=[_host(plan, h) for h in plan.hosts], auth_failure_status=401, api_paths=outputs.KIT_API_PATHS)
    return {**out, "api_key": state.data.get("api_key", ""),
            "challenge_hosts": {"http": plan.internet_ip, "tls_alpn": plan.alpn_ip},
            "canary": canary.report(state), "audit_dir": str(audit.folder(state.stack)),
            **({"client_resolver": plan.dns_admin_host_ip, "coordinator_sites": failover.report(state)}
               if plan.standby else {})}


def _host(plan: FleetPlan, h: Any) -> dict[str, Any]:
    out = {"name": h.name, "netns": h.netns, "role": h.role, "address": h.address}
    for r in plan.regions:
        if h.name == r.host or h.name in {x.name for x in r.replicas}:
            out["region"] = r.code
    return out


def process_table(stack: str | None = None) -> list[dict[str, Any]]:
    """Every recorded process: name, PID, namespace, role, whether it runs, the user it runs as
    and the user it should run as (:data:`plan.local.PROCESS_USERS`)."""
    state = load_state(stack)
    rows = []
    for name, rec in state.data["processes"].items():
        running = alive(rec)
        rows.append({"name": name, "pid": rec["pid"], "netns": rec["netns"], "role": rec["role"], "alive": running,
                     "user": user_of(rec["pid"]) if running else None,
                     "planned_user": rec.get("user") or PROCESS_USERS.get(rec["role"])})
    return rows
