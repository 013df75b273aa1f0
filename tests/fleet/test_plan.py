"""The pure topology planner: tables of real cases + hypothesis properties (no root needed)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import load_catalog
from config.errors import ConfigError, PlanError
from plan.local import (
    FIBER_KM_PER_MS,
    IFNAMSIZ,
    KIT_PREFIX,
    RegionSpec,
    one_way_delay_ms,
    plan_fleet,
    stack_slug,
)
from plan.dnsnames import tld_of, zone_for_name, zone_parents


def spec(code: str) -> RegionSpec:
    loc = load_catalog()[code]
    return RegionSpec(loc.code, loc.rir.value, loc.lat, loc.lon)


LOCAL = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]


def test_local_stack_plan():
    plan = plan_fleet("local", [spec(c) for c in LOCAL], primary=spec("us-east-1"), wan_delay=True)
    assert plan.coordinator_url == "https://10.213.0.2:443"
    assert plan.internet_ip == "10.213.64.2"
    assert [r.url for r in plan.regions][:2] == ["https://10.213.1.20:8443", "https://10.213.1.21:8443"]
    assert plan.namespaces[0] == "mpic-local-sw"
    assert plan.host_if == "mpic-local"
    by = {r.code: r for r in plan.regions}
    # us-east-1 -> eu-west-1 is ~5,460 km: fiber floor ~26.8 ms, x1.5 path factor ~40 ms one way
    assert 38 < by["eu-west-1"].delay_ms < 42
    assert by["ap-northeast-1"].delay_ms > by["eu-west-1"].delay_ms > by["us-west-2"].delay_ms
    assert {r.rir for r in plan.regions} == {"ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC"}


def test_no_wan_delay_means_zero():
    plan = plan_fleet("local", [spec(c) for c in LOCAL], primary=spec("us-east-1"))
    assert all(r.delay_ms == 0 for r in plan.regions)
    assert all(r.distance_km > 500 for r in plan.regions)


@pytest.mark.parametrize("km, ms", [(0, 0.0), (204, 1.5), (2040, 15.0), (10200, 75.0)])
def test_one_way_delay(km, ms):
    assert one_way_delay_ms(km) == ms


def test_bad_inputs():
    with pytest.raises(PlanError):
        plan_fleet("x", [])
    with pytest.raises(PlanError):
        plan_fleet("x", [spec("eu-west-1"), spec("eu-west-1")])
    with pytest.raises(PlanError):
        plan_fleet("x", [spec("eu-west-1")], base="10.0.0.0/24")
    with pytest.raises(ConfigError, match="runs >= 2 per workload"):
        plan_fleet("x", [spec("eu-west-1")], perspective_replicas=1)
    with pytest.raises(ValueError):
        one_way_delay_ms(-1)


@pytest.mark.parametrize("stack, slug", [("local", "local"), ("lab-2", "lab-2"),
                                         ("Pulumi.very-long-stack-name", None)])
def test_stack_slug(stack, slug):
    got = stack_slug(stack)
    assert len(got) <= 10
    if slug:
        assert got == slug


@pytest.mark.parametrize("origin, served, parent", [
    ("caatestsuite.com.", [".", "com."], "com."),
    ("a.b.example.", [".", "example.", "b.example."], "b.example."),
    ("example.", [".", "example."], "."),
    ("org.", ["."], "."),
])
def test_zone_parents(origin, served, parent):
    assert zone_parents(origin, served) == parent


def test_zone_helpers():
    assert tld_of("a.b.example.") == "example."
    assert tld_of(".") == "."
    served = [".", "example.", "fleet-test.example."]
    assert zone_for_name("_acme-challenge.x.fleet-test.example", served) == "fleet-test.example."
    assert zone_for_name("other.example.", served) == "example."
    assert zone_for_name("nowhere.org", served) is None


# ------------------------------------------------------------------------------ properties
codes = sorted(load_catalog())
regions_st = st.lists(st.sampled_from(codes), min_size=1, max_size=25, unique=True)


@settings(max_examples=150, deadline=None)
@given(regions=regions_st, primary=st.sampled_from(codes), stack=st.from_regex(r"[a-zA-Z0-9._-]{1,30}", fullmatch=True),
       preps=st.integers(2, 6), creps=st.integers(2, 6), wan=st.booleans())
def test_plan_properties(regions, primary, stack, preps, creps, wan):
    plan = plan_fleet(stack, [spec(c) for c in regions], primary=spec(primary), perspective_replicas=preps,
                      coordinator_replicas=creps, wan_delay=wan)
    base = ipaddress.ip_network(plan.base)
    # every namespace carries the kit prefix and is unique
    assert all(ns.startswith(KIT_PREFIX) for ns in plan.namespaces)
    assert len(set(plan.namespaces)) == len(plan.namespaces)
    # interface names fit IFNAMSIZ and are unique per namespace
    per_ns: dict[str | None, list[str]] = {}
    for link in plan.links:
        per_ns.setdefault(link.a_ns, []).append(link.a_if)
        per_ns.setdefault(link.b_ns, []).append(link.b_if)
    for ns, names in per_ns.items():
        assert len(names) == len(set(names)), ns
        assert all(0 < len(n) <= IFNAMSIZ for n in names)
    assert plan.host_if.startswith(KIT_PREFIX) and len(plan.host_if) <= IFNAMSIZ
    # addresses: unique, inside the base, backbone and uplink segments disjoint
    addrs = [a for link in plan.links for a in (link.a_addr, link.b_addr) if a]
    ips = [ipaddress.ip_interface(a).ip for a in addrs]
    assert len(ips) == len(set(ips))
    assert all(ip in base for ip in ips)
    bb = {ipaddress.ip_interface(l.a_addr).network for l in plan.links if l.a_if == "bb0"}
    up = {ipaddress.ip_interface(l.a_addr).network for l in plan.links if l.a_if == "up0"}
    assert len(bb) == 1 and len(up) == 1 and bb.isdisjoint(up)
    # the coordinator and the load balancers have no leg on the internet segment; every perspective
    # host has its own uplink and one LAN link to its region's load balancer, nothing else
    assert not any(l.a_ns == plan.coordinator_ns and l.a_if == "up0" for l in plan.links)
    for r in plan.regions:
        legs = {l.a_if for l in plan.links if l.a_ns == r.netns}
        assert legs == {"bb0", *(h.lb_if for h in r.replicas)}
        assert len(r.replicas) == preps and len({h.netns for h in r.replicas}) == preps
        for h in r.replicas:
            assert {l.a_if for l in plan.links if l.a_ns == h.netns} == {"up0"}
            (lan,) = [l for l in plan.links if l.b_ns == h.netns]
            assert (lan.a_ns, lan.a_if, lan.b_if) == (r.netns, h.lb_if, "lan0")
            assert ipaddress.ip_interface(lan.b_addr).ip == ipaddress.ip_address(h.lan_ip)
            assert ipaddress.ip_interface(lan.a_addr).network == ipaddress.ip_interface(lan.b_addr).network
        assert {h.name for h in r.replicas} <= {x.name for x in plan.hosts if x.role == "perspective"}
        # delay: zero without WAN emulation, else never below the fiber floor and monotonic in distance
        if wan:
            assert r.delay_ms >= round(r.distance_km / FIBER_KM_PER_MS, 2) - 0.01
        else:
            assert r.delay_ms == 0
    if wan:
        ordered = sorted(plan.regions, key=lambda r: r.distance_km)
        assert [r.delay_ms for r in ordered] == sorted(r.delay_ms for r in ordered)
    assert len(plan.coordinator_replica_ports) == creps
    # deterministic
    assert plan == plan_fleet(stack, [spec(c) for c in regions], primary=spec(primary), perspective_replicas=preps,
                              coordinator_replicas=creps, wan_delay=wan)


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), min_size=1, max_size=5))
def test_zone_parent_encloses(labels):
    origin = ".".join(labels) + "."
    served = ["."] + [".".join(labels[i:]) + "." for i in range(1, len(labels))]
    parent = zone_parents(origin, served)
    assert parent == "." or origin.endswith("." + parent)
    assert parent != origin
    if len(labels) > 1:
        assert parent == ".".join(labels[1:]) + "."
