"""Host checks: services running, only expected ports listening, own resolver, local egress, mTLS only."""

from __future__ import annotations

import re

PERSPECTIVE_PORT = 8443  # the perspectives' endpoint on every target (status: host address + this port)


def _listening(host) -> set[tuple[str, str, int]]:
    """The host's listening sockets. ``ss -l`` also lists every unconnected UDP socket, which
    includes a resolver's or checker's outgoing query in flight (a wildcard address on an ephemeral
    port): those are not listeners and are left out."""
    low, high = map(int, host.check_output("cat /proc/sys/net/ipv4/ip_local_port_range").split())
    out = host.check_output("ss -Hltnu")
    found = set()
    for line in out.splitlines():
        parts = line.split()
        proto, local = parts[0], parts[4]
        addr, _, port = local.rpartition(":")
        addr = addr.strip("[]")
        if proto == "udp" and addr in ("0.0.0.0", "*", "::") and low <= int(port) <= high:
            continue  # an outgoing query's socket, not a service
        found.add((proto, addr, int(port)))
    return found


def _perspective_hosts(target):
    return target.hosts("perspective")


def test_status_shape(target):
    st = target.status
    assert set(st) >= {"stack", "coordinator_url", "api_key", "ca_cert", "test_domain", "perspectives", "hosts"}
    assert st["coordinator_url"].startswith("https://")
    assert len(st["perspectives"]) >= 5, "the local stack emulates >= 5 regions"
    assert len({p["rir"] for p in st["perspectives"]}) >= 2
    names = {h["name"] for h in st.get("hosts", [])}
    for p in st["perspectives"]:
        assert p["code"] and p["rir"]
        if names:  # serverless stacks have no hosts
            assert p["hosts"] and set(p["hosts"]) <= names
    if target.is_local:
        assert {"internet", "coordinator", "perspective", "lb"} <= {h["role"] for h in st["hosts"]}
        assert all(h["netns"].startswith("mpic-") for h in st["hosts"])


def test_internet_host_services(local_target):
    (inet,) = local_target.hosts("internet")
    host = local_target.host(inet)
    socks = _listening(host)
    addr = inet["address"]
    assert {("tcp", addr, 53), ("udp", addr, 53), ("tcp", addr, 80), ("tcp", addr, 443)} <= socks
    assert {p for _, _, p in socks} == {53, 80, 443}, f"unexpected listeners: {socks}"
    comms = [c for _, c in local_target.processes(inet)]
    assert "knotd" in comms and "nginx" in comms


def test_perspective_hosts_and_load_balancers(local_target):
    """Each perspective host runs one perspective (on its LAN address) and its own resolver (on
    loopback), nothing else; each region's load balancer host runs the WAN relay (backbone) and
    HAProxy (loopback) only; every region has >= 2 perspective hosts."""
    for entry in _perspective_hosts(local_target):
        host = local_target.host(entry)
        socks = _listening(host)
        assert socks == {("tcp", entry["address"], PERSPECTIVE_PORT), ("udp", "127.0.0.1", 53),
                         ("tcp", "127.0.0.1", 53)}, f"{entry['name']}: unexpected listeners {socks}"
        comms = sorted(c for _, c in local_target.processes(entry))
        assert comms.count("unbound") == 1 and len(comms) == 2, f"{entry['name']}: {comms}"
    for p in local_target.status["perspectives"]:
        assert len(p["hosts"]) >= 2, f"{p['code']}: a region runs >= 2 perspective hosts"
    for entry in local_target.hosts("lb"):
        socks = _listening(local_target.host(entry))
        assert socks == {("tcp", entry["address"], PERSPECTIVE_PORT), ("tcp", "127.0.0.1", 8444)}, socks
        assert "haproxy" in [c for _, c in local_target.processes(entry)]


def test_each_perspective_has_its_own_resolver(local_target):
    seen_pids = set()
    for entry in _perspective_hosts(local_target):
        host = local_target.host(entry)
        resolv = host.file("/etc/resolv.conf").content_string
        assert re.search(r"^nameserver 127\.0\.0\.1$", resolv, re.M), resolv
        (pid,) = [p for p, c in local_target.processes(entry) if c == "unbound"]
        seen_pids.add(pid)
        # it validates: the fake root's trust anchor gives signed answers the AD flag
        out = host.check_output("kdig @127.0.0.1 +dnssec +time=2 %s SOA", local_target.test_domain)
        assert "NOERROR" in out and re.search(r"Flags:.*\bad\b", out), out
    assert len(seen_pids) == len(_perspective_hosts(local_target)), "resolvers must not be shared"


def test_egress_is_local(local_target):
    (inet,) = local_target.hosts("internet")
    for entry in _perspective_hosts(local_target):
        host = local_target.host(entry)
        route = host.check_output("ip -o route get %s", inet["address"])
        assert " dev up0 " in route, f"{entry['name']}: validation traffic must leave via its own uplink: {route}"
        assert "default" not in host.check_output("ip route"), "no default route through the backbone"
    for entry in [*local_target.hosts("coordinator"), *local_target.hosts("lb")]:
        res = local_target.host(entry).run("ip -o route get %s", inet["address"])
        assert res.rc != 0, f"{entry['name']} must have no path to the internet segment"


def test_perspectives_refuse_plain_http_and_certless_clients(local_target):
    """What the coordinator calls (each region's backbone address, TLS passed through to a
    perspective host) refuses plain HTTP and clients without the kit CA's certificate."""
    coord = local_target.hosts("coordinator")[0]
    ch = local_target.host(coord)
    for entry in local_target.hosts("lb"):
        url = f"{entry['address']}:{PERSPECTIVE_PORT}"
        plain = ch.run("curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%%{http_code}' http://%s/healthz", url)
        assert plain.rc != 0 and plain.stdout.strip() in ("", "000"), f"{url} answered plain HTTP: {plain.stdout}"
        certless = ch.run("curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%%{http_code}' --cacert %s "
                          "https://%s/healthz", local_target.ca, url)
        assert certless.rc != 0 and certless.stdout.strip() in ("", "000"), \
            f"{url} answered a client without a certificate: {certless.stdout}"


def test_coordinator_replicas_and_tls(local_target):
    """Every coordinator site (the standby too): only its load balancer's TLS port is public, >= 2 replicas."""
    sites = local_target.hosts("coordinator")
    assert len(sites) == (2 if local_target.status.get("client_resolver") else 1)
    for coord in sites:
        socks = _listening(local_target.host(coord))
        public = {s for s in socks if s[1] != "127.0.0.1"}
        assert public == {("tcp", coord["address"], 443)}, f"{coord['name']}: unexpected public listeners: {public}"
        assert len([s for s in socks if s[1] == "127.0.0.1"]) >= 2, f"{coord['name']} runs >= 2 replicas"
    status, body = local_target.request("/readyz", api_key=False)
    assert (status, body) == (200, {"status": "ready"})  # a quorum of perspectives in >= 2 RIRs answers
    for internal in ("/healthz", "/metrics"):  # on each replica's internal listener only
        assert local_target.request(internal, api_key=False)[0] == 404


def test_deployed_perspective_hosts(target):
    """Deployed stacks: each perspective host runs its service on 8443 and has a resolver of its own."""
    if target.is_local:
        return  # the namespace checks above cover the local fleet in more detail
    for entry in _perspective_hosts(target):
        host = target.host(entry)
        socks = _listening(host)
        assert any(p == PERSPECTIVE_PORT for proto, _, p in socks if proto == "tcp"), f"{entry['name']}: {socks}"
        resolv = host.file("/etc/resolv.conf").content_string
        assert re.search(r"^nameserver \S+", resolv, re.M), f"{entry['name']}: no resolver configured"
        assert host.run("getent hosts %s", target.test_domain).rc in (0, 2), "the resolver does not answer"
