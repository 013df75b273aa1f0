"""Network namespaces and veth links (``ip``), recorded in the state file before creation."""

from __future__ import annotations

import shutil
from pathlib import Path

from plan.local import FleetPlan, LinkPlan
from local.engine.proc import run
from local.engine.state import State

ETC_NETNS = Path("/etc/netns")


def existing_namespaces() -> set[str]:
    res = run(["ip", "netns", "list"], check=False)
    return {line.split()[0] for line in res.stdout.splitlines() if line.strip()}


def create_namespace(state: State, ns: str) -> None:
    state.add_unique("namespaces", ns)  # recorded first: a crash right after still gets cleaned
    if ns not in existing_namespaces():
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def write_resolv_conf(state: State, ns: str, nameserver: str) -> None:
    """/etc/netns/<ns>/resolv.conf: ``ip netns exec`` bind-mounts it over /etc/resolv.conf."""
    d = ETC_NETNS / ns
    if not ETC_NETNS.exists():
        state.set("etc_netns_created", True)  # down removes /etc/netns too when left empty
    state.add_unique("etc_netns", str(d))
    d.mkdir(parents=True, exist_ok=True)
    (d / "resolv.conf").write_text(f"# written by mpic up ({state.stack})\nnameserver {nameserver}\n"
                                   "options timeout:2 attempts:1\n")


def _links(ns: str | None) -> set[str]:
    argv = ["ip"] + (["-n", ns] if ns else []) + ["-o", "link", "show"]
    res = run(argv, check=False)
    return {line.split(":")[1].strip().split("@")[0] for line in res.stdout.splitlines() if ":" in line}


def ensure_bridge(ns: str, name: str) -> None:
    if name not in _links(ns):
        run(["ip", "-n", ns, "link", "add", name, "type", "bridge"])
    run(["ip", "-n", ns, "link", "set", name, "up"])


def create_link(state: State, link: LinkPlan) -> None:
    if link.a_ns is None:
        state.add_unique("root_links", link.a_if)
    if link.a_if in _links(link.a_ns):
        return  # idempotent: the pair exists (deleting one end deletes both)
    argv = ["ip", "link", "add", link.a_if]
    if link.a_ns:
        argv += ["netns", link.a_ns]
    argv += ["type", "veth", "peer", "name", link.b_if, "netns", link.b_ns]
    run(argv)
    for ns, ifname, addr in ((link.a_ns, link.a_if, link.a_addr), (link.b_ns, link.b_if, link.b_addr)):
        pre = ["ip"] + (["-n", ns] if ns else [])
        if addr:
            run(pre + ["addr", "add", addr, "dev", ifname])
        if ns == link.b_ns and link.bridge:
            run(pre + ["link", "set", ifname, "master", link.bridge])
        run(pre + ["link", "set", ifname, "up"])


def build_network(state: State, plan: FleetPlan) -> None:
    for ns in plan.namespaces:
        create_namespace(state, ns)
    ensure_bridge(plan.switch_ns, "br-bb")
    ensure_bridge(plan.switch_ns, "br-up")
    for link in plan.links:
        create_link(state, link)


def namespace_pids(ns: str) -> list[int]:
    res = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in res.stdout.split() if x.strip().isdigit()]


def delete_namespace(ns: str) -> None:
    if ns in existing_namespaces():
        run(["ip", "netns", "del", ns], check=False)


def delete_root_link(ifname: str) -> None:
    if ifname in _links(None):
        run(["ip", "link", "del", ifname], check=False)


def remove_etc_netns(path: str) -> None:
    p = Path(path)
    if p.parent == ETC_NETNS and p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


def add_address(ns: str, ifname: str, cidr: str) -> None:
    """A further address on ``ifname`` in ``ns`` (idempotent)."""
    have = run(["ip", "-n", ns, "-o", "addr", "show", "dev", ifname], check=False).stdout
    if f" {cidr} " not in have:
        run(["ip", "-n", ns, "addr", "add", cidr, "dev", ifname])
