"""Pure topology planner of the local fleet: names, addresses, ports and WAN delays.

No I/O here: :func:`plan_fleet` turns a validated stack config (or plain region specs) into a
:class:`FleetPlan`, which the local fleet engine (:mod:`local`) only carries out.

Topology (one network namespace per host; the backbone and uplink are two bridges that live in a
"switch" namespace, so the machine's own network is never touched except for one link)::

    root ns --host link-- coordinator ns --backbone bridge-- region load balancer ns (x N)
    region load balancer ns --LAN link-- perspective host ns (x replicas per region)
    perspective host ns --uplink bridge-- internet ns

- the *backbone* carries only coordinator <-> perspective traffic (mTLS), to each region's load
  balancer host (the WAN relay and HAProxy), which reaches its perspective hosts over one point-
  to-point LAN link each, like a cloud region's load balancer and its instances;
- every perspective host runs one perspective and its own Unbound, and its validation traffic
  (DNS and HTTP) leaves through its own *uplink*: the coordinator and the load balancers have no
  route to the internet segment (BR 3.2.2.9: a perspective's traffic leaves from the
  perspective's own location).

Addresses in the base /16: ``.0.x`` host links (``.0.0/30`` to the coordinator, ``.0.4/30`` the DNS
admin link to the internet host, ``.0.8/30`` to the standby coordinator site), ``.1.10``/``.1.11``
the coordinator sites on the backbone, ``.1.x`` backbone, ``.63.254`` unreachable (no segment,
no route), ``.64.0/18`` uplink segment (the internet host is ``.64.2``, its TLS-ALPN responder
``.64.3``), ``.128.0/17`` the LAN links (a /30 each).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
from collections.abc import Sequence

from config.errors import PlanError
from config.geo import geodesic_km
from config.model import require_replicas

KIT_PREFIX = "mpic-"
DEFAULT_BASE = "10.213.0.0/16"
FIBER_KM_PER_MS = 204.0
"""Light in fiber covers ~204 km per millisecond (c / 1.47)."""
PATH_FACTOR = 1.5
"""Real paths are longer than the great circle: observed RTTs run 1.2-1.9x the fiber floor."""
IFNAMSIZ = 15

# Ports (inside each namespace; namespaces isolate them from the machine's own).
COORD_FRONT_PORT = 443  # HAProxy (TLS) on the host link: the coordinator URL
COORD_REPLICA_BASE = 8001  # coordinator replicas, plain HTTP on 127.0.0.1
PERSP_FRONT_PORT = 8443  # WAN relay on the region's backbone address (what the coordinator calls)
PERSP_LB_PORT = 8444  # HAProxy (TCP, TLS passthrough) on the load balancer host's 127.0.0.1
PERSP_PORT = 8443  # a perspective host's mTLS listener, on its LAN address
DNS_PORT = 53
MAX_REGIONS = 100

UPLINK_PREFIX = 18
LAN_PREFIX = 30
LAN_PREFIX_SIZE = 4


@dataclasses.dataclass(frozen=True)
class RegionSpec:
    """What the planner needs to know about one perspective region."""

    code: str
    rir: str
    lat: float
    lon: float


@dataclasses.dataclass(frozen=True)
class HostPlan:
    name: str
    """Host name shown by ``mpic status`` (e.g. ``perspective-eu-west-1``)."""
    netns: str
    role: str
    """internet | coordinator | perspective | switch"""
    address: str
    """The host's main address (backbone for regions, the URL address for the coordinator)."""


@dataclasses.dataclass(frozen=True)
class LinkPlan:
    """One veth pair: ``a_ns``/``a_if`` <-> ``b_ns``/``b_if`` (``None`` ns = the root namespace)."""

    a_ns: str | None
    a_if: str
    a_addr: str | None
    """CIDR, e.g. 10.213.1.20/24, or None (bridge port)."""
    b_ns: str
    b_if: str
    b_addr: str | None
    bridge: str | None = None
    """Bridge in the switch namespace the b side is enslaved to."""


@dataclasses.dataclass(frozen=True)
class ReplicaPlan:
    """One perspective host of a region: a perspective and its own resolver."""

    name: str
    """Host name, e.g. ``perspective-eu-west-1-1``."""
    netns: str
    lan_ip: str
    """Its end of the LAN link to the region's load balancer (where the perspective listens)."""
    lb_ip: str
    """The load balancer's end of that link."""
    lb_if: str
    """The link's interface in the load balancer's namespace."""
    uplink_ip: str
    port: int


@dataclasses.dataclass(frozen=True)
class RegionPlan:
    code: str
    rir: str
    netns: str
    """The region's load balancer host (the WAN relay and HAProxy)."""
    host: str
    backbone_ip: str
    front_port: int
    lb_port: int
    replicas: tuple[ReplicaPlan, ...]
    distance_km: float
    delay_ms: float
    """One-way delay the relay adds on the backbone (0 without ``mpic:wanDelay``)."""

    @property
    def url(self) -> str:
        return f"https://{self.backbone_ip}:{self.front_port}"


@dataclasses.dataclass(frozen=True)
class SitePlan:
    """A coordinator site: its replicas behind HAProxy, on a host link of its own."""

    role: str
    """``primary`` or ``standby``."""
    netns: str
    ip: str
    """HAProxy's address on the host link (the site's URL)."""
    host_ip: str
    host_if: str
    backbone_ip: str
    port: int
    replica_ports: tuple[int, ...]

    @property
    def url(self) -> str:
        return f"https://{self.ip}:{self.port}"

    @property
    def suffix(self) -> str:
        """Process names: ``coordinator#1`` (primary), ``coordinator-standby#1``."""
        return "" if self.role == "primary" else f"-{self.role}"


@dataclasses.dataclass(frozen=True)
class FleetPlan:
    stack: str
    prefix: str
    base: str
    switch_ns: str
    internet_ns: str
    internet_ip: str
    alpn_ip: str
    """The internet host's second address: the TLS-ALPN-01 responder's port 443 (nginx has the first)."""
    coordinator_ns: str
    coordinator_ip: str
    """Address of the coordinator's load balancer on the host link (reachable from the root ns)."""
    coordinator_backbone_ip: str
    host_ip: str
    """The root namespace's end of the host link."""
    host_if: str
    dns_admin_ip: str
    """The internet host's end of the DNS admin link: where Knot takes RFC 2136 updates from the
    host (the canary), as Route53's API is reachable from a cloud canary."""
    dns_admin_host_ip: str
    dns_admin_if: str
    coordinator_port: int
    coordinator_replica_ports: tuple[int, ...]
    regions: tuple[RegionPlan, ...]
    links: tuple[LinkPlan, ...]
    hosts: tuple[HostPlan, ...]
    test_domain: str
    wan_delay: bool
    standby: SitePlan | None = None
    """The standby coordinator site (``mpic:failover.standby``): clients then use :attr:`coordinator_name`."""
    unreachable_ip: str = ""
    """An address on no segment and behind no route (``.63.254``): the authoritative server of a
    zone loaded with ``mpic challenge zone --unreachable``; a query to it fails at once."""

    @property
    def coordinator_name(self) -> str | None:
        """The coordinator's public name, failed over between the sites (None: one site, by address)."""
        return f"mpic.{self.test_domain}" if self.standby else None

    @property
    def coordinator_url(self) -> str:
        host = self.coordinator_name or self.coordinator_ip
        return f"https://{host}:{self.coordinator_port}"

    @property
    def sites(self) -> tuple[SitePlan, ...]:
        primary = SitePlan("primary", self.coordinator_ns, self.coordinator_ip, self.host_ip, self.host_if,
                           self.coordinator_backbone_ip, self.coordinator_port, self.coordinator_replica_ports)
        return (primary,) + ((self.standby,) if self.standby else ())

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace, switch first (it holds the bridges the others plug into)."""
        return (self.switch_ns, self.internet_ns, *(site.netns for site in self.sites),
                *(ns for r in self.regions for ns in (r.netns, *(h.netns for h in r.replicas))))

    def replica(self, host: str) -> tuple[RegionPlan, ReplicaPlan]:
        """The region and perspective host named ``host`` (KeyError when there is none)."""
        for r in self.regions:
            for h in r.replicas:
                if h.name == host:
                    return r, h
        raise KeyError(host)

    def region(self, code: str) -> RegionPlan:
        for r in self.regions:
            if r.code == code:
                return r
        raise KeyError(code)


def stack_slug(stack: str) -> str:
    """Short name for kit resources: the stack name if short and simple, else a hash."""
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,9}", stack):
        return stack
    return "s" + hashlib.sha256(stack.encode()).hexdigest()[:9]


def one_way_delay_ms(distance_km: float, path_factor: float = PATH_FACTOR) -> float:
    """One-way backbone delay for ``distance_km`` of great circle: fiber floor x path factor."""
    if distance_km < 0:
        raise ValueError("distance must be >= 0")
    return round(distance_km / FIBER_KM_PER_MS * path_factor, 2)


def plan_fleet(
    stack: str,
    regions: Sequence[RegionSpec],
    *,
    primary: RegionSpec | None = None,
    perspective_replicas: int = 2,
    coordinator_replicas: int = 2,
    wan_delay: bool = False,
    test_domain: str = "fleet-test.example",
    standby: bool = False,
    base: str = DEFAULT_BASE,
) -> FleetPlan:
    """The whole local topology of one stack. Pure and deterministic."""
    if not regions:
        raise PlanError("no perspective regions to plan")
    if len(regions) > MAX_REGIONS:
        raise PlanError(f"{len(regions)} regions: the local fleet plans at most {MAX_REGIONS}")
    codes = [r.code for r in regions]
    if len(set(codes)) != len(codes):
        raise PlanError(f"duplicate region codes in {codes}")
    require_replicas("mpic:perspectiveReplicas", perspective_replicas)
    require_replicas("mpic:coordinatorReplicas", coordinator_replicas)
    if perspective_replicas > 50 or coordinator_replicas > 50:
        raise PlanError("replica counts must be <= 50")
    net = ipaddress.ip_network(base)
    if net.version != 4 or net.prefixlen > 16:
        raise PlanError(f"base network {base}: need an IPv4 /16 or larger")
    b = net.network_address

    def ip(third: int, fourth: int) -> str:
        return str(b + third * 256 + fourth)

    slug = stack_slug(stack)
    prefix = f"{KIT_PREFIX}{slug}"
    switch_ns, inet_ns, coord_ns = f"{prefix}-sw", f"{prefix}-inet", f"{prefix}-coord"
    host_if = prefix[:IFNAMSIZ]
    dns_if = f"{prefix[:IFNAMSIZ - 4]}-dns"
    host_ip, coord_ip = ip(0, 1), ip(0, 2)
    coord_bb, inet_ip = ip(1, 10), ip(64, 2)
    links: list[LinkPlan] = [
        LinkPlan(None, host_if, f"{host_ip}/30", coord_ns, "host0", f"{coord_ip}/30"),
        LinkPlan(coord_ns, "bb0", f"{coord_bb}/24", switch_ns, "c-bb", None, "br-bb"),
        LinkPlan(inet_ns, "up0", f"{inet_ip}/{UPLINK_PREFIX}", switch_ns, "i-up", None, "br-up"),
        LinkPlan(None, dns_if, f"{ip(0, 5)}/30", inet_ns, "admin0", f"{ip(0, 6)}/30"),
    ]
    hosts: list[HostPlan] = [
        HostPlan("switch", switch_ns, "switch", ""),
        HostPlan("internet", inet_ns, "internet", inet_ip),
        HostPlan("coordinator", coord_ns, "coordinator", coord_ip),
    ]
    standby_site = None
    if standby:
        sb_if = f"{prefix[:IFNAMSIZ - 3]}-sb"
        standby_site = SitePlan("standby", f"{prefix}-coord-sb", ip(0, 10), ip(0, 9), sb_if, ip(1, 11),
                                COORD_FRONT_PORT, tuple(COORD_REPLICA_BASE + j for j in range(coordinator_replicas)))
        links += [LinkPlan(None, sb_if, f"{ip(0, 9)}/30", standby_site.netns, "host0", f"{ip(0, 10)}/30"),
                  LinkPlan(standby_site.netns, "bb0", f"{ip(1, 11)}/24", switch_ns, "s-bb", None, "br-bb")]
        hosts.append(HostPlan("coordinator-standby", standby_site.netns, "coordinator", standby_site.ip))
    planned: list[RegionPlan] = []
    k = 0  # replica index across the fleet: its LAN /30 and its uplink address
    uplink = ipaddress.ip_network(f"{ip(64, 0)}/{UPLINK_PREFIX}")
    lans = ipaddress.ip_network(f"{ip(128, 0)}/17")
    for i, spec in enumerate(regions):
        safe = _ns_safe(spec.code)
        ns = f"{prefix}-{safe}"
        bb = ip(1, 20 + i)
        replicas = []
        for j in range(perspective_replicas):
            lan = lans.network_address + LAN_PREFIX_SIZE * k
            up = str(uplink.network_address + 20 + k)
            rns = f"{ns}-{j + 1}"
            replicas.append(ReplicaPlan(name=f"perspective-{spec.code}-{j + 1}", netns=rns, lan_ip=str(lan + 2),
                                        lb_ip=str(lan + 1), lb_if=f"r{j + 1}", uplink_ip=up, port=PERSP_PORT))
            links.append(LinkPlan(ns, f"r{j + 1}", f"{lan + 1}/{LAN_PREFIX}", rns, "lan0", f"{lan + 2}/{LAN_PREFIX}"))
            links.append(LinkPlan(rns, "up0", f"{up}/{UPLINK_PREFIX}", switch_ns, f"u{k}", None, "br-up"))
            hosts.append(HostPlan(f"perspective-{spec.code}-{j + 1}", rns, "perspective", str(lan + 2)))
            k += 1
        dist = geodesic_km(primary.lat, primary.lon, spec.lat, spec.lon) if primary else 0.0
        planned.append(RegionPlan(
            code=spec.code, rir=spec.rir, netns=ns, host=f"lb-{spec.code}", backbone_ip=bb,
            front_port=PERSP_FRONT_PORT, lb_port=PERSP_LB_PORT, replicas=tuple(replicas),
            distance_km=round(dist, 1), delay_ms=one_way_delay_ms(dist) if wan_delay else 0.0))
        links.append(LinkPlan(ns, "bb0", f"{bb}/24", switch_ns, f"b{i}", None, "br-bb"))
        hosts.append(HostPlan(f"lb-{spec.code}", ns, "lb", bb))
    return FleetPlan(
        stack=stack,
        prefix=prefix,
        base=str(net),
        switch_ns=switch_ns,
        internet_ns=inet_ns,
        internet_ip=inet_ip,
        alpn_ip=ip(64, 3),
        coordinator_ns=coord_ns,
        coordinator_ip=coord_ip,
        coordinator_backbone_ip=coord_bb,
        host_ip=host_ip,
        host_if=host_if,
        dns_admin_ip=ip(0, 6),
        dns_admin_host_ip=ip(0, 5),
        dns_admin_if=dns_if,
        coordinator_port=COORD_FRONT_PORT,
        coordinator_replica_ports=tuple(COORD_REPLICA_BASE + j for j in range(coordinator_replicas)),
        regions=tuple(planned),
        links=tuple(links),
        hosts=tuple(hosts),
        test_domain=test_domain.rstrip("."),
        wan_delay=wan_delay,
        standby=standby_site,
        unreachable_ip=ip(63, 254),
    )


def _ns_safe(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", code).lower()


def plan_from_config(cfg, *, base: str = DEFAULT_BASE) -> FleetPlan:  # cfg: config.model.StackConfig
    """Plan the fleet of a validated :class:`config.model.StackConfig`."""

    def spec(loc) -> RegionSpec:
        rir = loc.rir.value if hasattr(loc.rir, "value") else str(loc.rir)
        return RegionSpec(loc.code, rir, loc.lat, loc.lon)

    return plan_fleet(
        cfg.name,
        [spec(p) for p in cfg.perspectives],
        primary=spec(cfg.primary) if cfg.primary is not None else None,
        perspective_replicas=cfg.perspective_replicas,
        coordinator_replicas=cfg.coordinator_replicas,
        wan_delay=cfg.wan_delay,
        test_domain=cfg.test_domain,
        standby=cfg.failover.standby,
        base=base,
    )
