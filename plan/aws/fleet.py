"""Pure planners of the AWS targets: validated config -> plans (CIDRs, names, per-region settings).

No Pulumi, no cloud SDK, no I/O. The components only create resources from these plans, so
everything that decides *what* gets deployed is here and property-tested.

CIDRs: every VPC of the fleet gets a fixed /20 *slot* of ``mpic:aws.cidrPool``: slot =
2 x (the region's position in config/regions.yaml) + (0 for a perspective VPC, 1 for a
coordinator VPC). Slots never overlap, do not move when perspectives are added or removed,
and a coordinator may share a region with a perspective (different slots).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import Any, Sequence

from config.catalog import Location, load_catalog
from config.errors import PlanError
from config.model import StackConfig
from plan import runtime
from plan.audit import HOST_AUDIT_FILE

SLOT_PREFIX = 20
SUBNET_PREFIX = 24
AZ_COUNT = 2
TAG_ROLE = "mpic:role"
TAG_REGION = "mpic:region"
COORDINATOR_INTERNAL_PORT = 9090
"""The coordinator's internal listener (``/healthz``, ``/metrics``): reachable from its ALB's
security group only, for the target group's health checks; never a listener of the ALB."""
PUBLIC_API: tuple[tuple[str, str], ...] = (("POST", "/mpic"), ("POST", "/v1/mpic"), ("GET", "/readyz"))
"""What the coordinator's ALB forwards; anything else gets a JSON 404 from the ALB itself."""
COORDINATOR_LISTENER_ROLE = "coordinator-public-listener"
"""``mpic:role`` tag of the one security group allowed to admit 0.0.0.0/0 (HTTPS 443)."""
LAMBDA_RESOLVER = "169.254.78.1"
"""The resolver AWS Lambda gives a function outside a VPC: regional, per-function-host."""
RUNTIME_DIR = "/opt/mpic"
"""The runtime's virtualenv on a host."""
WHEELHOUSE_DIR = "/opt/mpic-wheelhouse"
"""Where a host copies the built wheelhouse before installing from it."""
ETC = "/etc/mpic"
SSH_USER = "ec2-user"
"""Amazon Linux 2023's login user (smoke tests reach hosts over SSH through SSM Session Manager)."""

AMAZON_ROOT_CA_1 = """-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
"""
"""Amazon Root CA 1 (valid until 2038-01-17; SHA-256 8E:CD:E6:88:...:19:6E): the trust anchor of
ACM and API Gateway certificates, i.e. of the coordinator's public URL (the smoke suite's ``ca_cert``)."""


# ------------------------------------------------------------------------------------ CIDRs
def region_slot(code: str, role: str) -> int:
    """The fixed slot of ``code``'s VPC of ``role`` ("perspective" | "coordinator")."""
    codes = list(load_catalog())
    if code not in codes:
        raise PlanError(f"region '{code}': not in config/regions.yaml")
    return 2 * codes.index(code) + (1 if role == "coordinator" else 0)


def vpc_cidr(pool: str, code: str, role: str) -> str:
    """The /20 of the slot of (code, role) inside ``pool``."""
    net = ipaddress.ip_network(pool)
    slots = list(net.subnets(new_prefix=SLOT_PREFIX))
    slot = region_slot(code, role)
    if slot >= len(slots):
        raise PlanError(f"mpic:aws.cidrPool: '{pool}' has {len(slots)} /20 slots; region {code} needs slot {slot}. "
                        "Use a /12 or larger pool (e.g. 10.128.0.0/12).")
    return str(slots[slot])


def subnet_cidrs(vpc: str, count: int = AZ_COUNT, offset: int = 0) -> tuple[str, ...]:
    """``count`` /24 subnets of ``vpc``, starting at the ``offset``-th /24."""
    subs = list(ipaddress.ip_network(vpc).subnets(new_prefix=SUBNET_PREFIX))
    return tuple(str(s) for s in subs[offset:offset + count])


def vpc_resolver(vpc: str) -> str:
    """The Route53 Resolver address of a VPC: its base address + 2."""
    return str(ipaddress.ip_network(vpc).network_address + 2)


# ------------------------------------------------------------------------------------ plans
@dataclasses.dataclass(frozen=True)
class WheelhouseSource:
    """Where the hosts fetch the built wheelhouse: ``s3://bucket/prefix/<file>`` in ``region``."""

    bucket: str
    region: str
    prefix: str
    files: tuple[str, ...]


def runtime_prefix(wheelhouse_sha256: str) -> str:
    """The content-addressed key prefix of a wheelhouse in the runtime bucket."""
    return f"runtime/{wheelhouse_sha256[:16]}"


@dataclasses.dataclass(frozen=True)
class PerspectivePlan:
    code: str
    rir: str
    city: str
    name: str
    """Logical name of the component, e.g. ``persp-eu-west-1``."""
    vpc_cidr: str
    public_subnets: tuple[str, ...]
    private_subnets: tuple[str, ...]
    replicas: int
    ssm_prefix: str
    """SSM Parameter Store path of this perspective's TLS material: ``/mpic/<stack>/<code>``."""


@dataclasses.dataclass(frozen=True)
class CoordinatorPlan:
    region: str
    role: str
    """"primary" | "standby"."""
    name: str
    vpc_cidr: str
    public_subnets: tuple[str, ...]
    replicas: int
    ssm_prefix: str
    secret_name: str


@dataclasses.dataclass(frozen=True)
class PeeringPlan:
    name: str
    coordinator_region: str
    coordinator_cidr: str
    perspective_region: str
    perspective_cidr: str


@dataclasses.dataclass(frozen=True)
class HostsPlan:
    stack: str
    perspectives: tuple[PerspectivePlan, ...]
    coordinators: tuple[CoordinatorPlan, ...]
    peerings: tuple[PeeringPlan, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for r in [c.region for c in self.coordinators] + [p.code for p in self.perspectives]:
            seen.setdefault(r, None)
        return tuple(seen)

    @property
    def coordinator_cidrs(self) -> tuple[str, ...]:
        return tuple(c.vpc_cidr for c in self.coordinators)


@dataclasses.dataclass(frozen=True)
class LambdaPlan:
    stack: str
    coordinator_region: str
    perspectives: tuple[PerspectivePlan, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {self.coordinator_region: None}
        for p in self.perspectives:
            seen.setdefault(p.code, None)
        return tuple(seen)


def validate_aws(fleet: StackConfig) -> None:
    """Refuse what AWS cannot deploy (before any resource): every perspective an AWS region."""
    for i, p in enumerate(fleet.perspectives):
        if p.provider != "aws":
            raise PlanError(f"mpic:perspectives[{i}]: '{p.code}' is a {p.provider} location; target {fleet.target} "
                            "deploys perspectives in AWS regions only. Use an AWS region code (e.g. us-west-2).")
    for code, spec in fleet.resolvers.items():
        if spec.location is not None or spec.address is not None:
            raise PlanError(f"mpic:resolvers.{code}: target {fleet.target} deploys each perspective's own resolver "
                            "in its region; remove the mpic:resolvers entry.")


def _perspective(fleet: StackConfig, loc: Location, private: bool) -> PerspectivePlan:
    aws = fleet.aws
    cidr = vpc_cidr(aws.cidr_pool, loc.code, "perspective")
    return PerspectivePlan(
        code=loc.code, rir=loc.rir.value, city=loc.city, name=f"persp-{loc.code}", vpc_cidr=cidr,
        public_subnets=subnet_cidrs(cidr),
        private_subnets=subnet_cidrs(cidr, offset=AZ_COUNT) if private else (),
        replicas=fleet.perspective_replicas, ssm_prefix=f"/mpic/{fleet.name}/{loc.code}")


def plan_hosts(fleet: StackConfig) -> HostsPlan:
    """Target ``aws-hosts``: perspective regions, coordinator regions and the peerings."""
    validate_aws(fleet)
    aws = fleet.aws
    perspectives = tuple(_perspective(fleet, p, private=False) for p in fleet.perspectives)
    coords = []
    for role, region in (("primary", aws.coordinator_region), ("standby", aws.standby_region)):
        if region is None:
            continue
        cidr = vpc_cidr(aws.cidr_pool, region, "coordinator")
        coords.append(CoordinatorPlan(
            region=region, role=role, name=f"coord-{region}", vpc_cidr=cidr, public_subnets=subnet_cidrs(cidr),
            replicas=fleet.coordinator_replicas, ssm_prefix=f"/mpic/{fleet.name}/coordinator-{region}",
            secret_name=f"mpic/{fleet.name}/coordinator-{region}"))
    peerings = tuple(
        PeeringPlan(name=f"peer-{c.region}-{p.code}", coordinator_region=c.region, coordinator_cidr=c.vpc_cidr,
                    perspective_region=p.code, perspective_cidr=p.vpc_cidr)
        for c in coords for p in perspectives)
    return HostsPlan(stack=fleet.name, perspectives=perspectives, coordinators=tuple(coords), peerings=peerings)


def plan_lambda(fleet: StackConfig) -> LambdaPlan:
    """Target ``aws-lambda``: one perspective function per region, the coordinator's region."""
    validate_aws(fleet)
    perspectives = tuple(_perspective(fleet, p, private=fleet.aws.dnssec_vpc) for p in fleet.perspectives)
    return LambdaPlan(stack=fleet.name, coordinator_region=fleet.aws.coordinator_region, perspectives=perspectives)


def assume_role_policy(service: str) -> str:
    """The trust policy letting ``service`` (e.g. ``lambda.amazonaws.com``) assume a role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def default_tags(fleet: StackConfig, region: str) -> dict[str, str]:
    """The provider's default tags in ``region`` (every resource of that provider carries them)."""
    return {"mpic:stack": fleet.name, TAG_REGION: region, "managed-by": "pulumi", **fleet.aws.tags}


def name_tags(name: str, role: str, region: str) -> dict[str, str]:
    """The display ``Name`` tag plus role/region, for one resource."""
    return {"Name": name, TAG_ROLE: role, TAG_REGION: region}


# ------------------------------------------------------------------------ runtime settings
def host_perspective_settings(fleet: StackConfig, p: PerspectivePlan) -> dict[str, Any]:
    """``/etc/mpic/perspective.yaml`` of a perspective host (the one renderer, host placement)."""
    aws = fleet.aws
    return runtime.perspective_settings(
        fleet, p.code, p.rir, listen_host="0.0.0.0", listen_port=aws.perspective_port,
        tls={"cert": f"{ETC}/tls/server.crt", "key": f"{ETC}/tls/server.key", "client_ca": f"{ETC}/tls/ca.crt"},
        resolver={"nameservers": ["127.0.0.1"], "port": 53}, caa_domains=aws.caa_domains,
        audit={"audit_log": HOST_AUDIT_FILE, "audit_site": p.code})


def host_coordinator_settings(fleet: StackConfig, perspectives: list[dict[str, str]],
                              site: str = "primary") -> dict[str, Any]:
    """``/etc/mpic/coordinator.yaml`` of the coordinator ``site`` (``primary``, ``standby``: plain HTTP
    behind the ALB; API keys from a file, the hash secret from the environment:
    :func:`plan.aws.cloud_init.coordinator_cloud_init` writes both from Secrets Manager)."""
    return runtime.coordinator_settings(
        fleet, listen_host="0.0.0.0", listen_port=fleet.aws.coordinator_port, perspectives=perspectives,
        client_tls={"cert": f"{ETC}/tls/client.crt", "key": f"{ETC}/tls/client.key", "ca": f"{ETC}/tls/ca.crt"},
        api_keys_file=f"{ETC}/api-keys", internal_listen=("0.0.0.0", COORDINATOR_INTERNAL_PORT),
        audit={"audit_log": HOST_AUDIT_FILE, "audit_site": site})


def perspective_url(dns_name: str, port: int) -> str:
    return f"https://{dns_name}:{port}"


def host_entries(instances: dict, role: str, region: str) -> list[dict[str, str]]:
    """Smoke-suite host entries from an ``ec2:getInstances`` result (ids, public/private IPs)."""
    ids = instances.get("ids") or []
    public = instances.get("publicIps") or instances.get("public_ips") or []
    private = instances.get("privateIps") or instances.get("private_ips") or []
    out = []
    for i, iid in enumerate(ids):
        address = (public[i] if i < len(public) else "") or (private[i] if i < len(private) else "")
        out.append({"name": f"{role}-{region}-{i}", "role": role, "region": region, "instance_id": iid,
                    "address": address, "connection": f"ssh://{SSH_USER}@{iid}"})
    return out


def lambda_perspective_env(fleet: StackConfig, p: PerspectivePlan) -> dict[str, str]:
    """Environment (``MPIC_*``) of a perspective function: the same renderer, no listener."""
    aws = fleet.aws
    resolver = vpc_resolver(p.vpc_cidr) if aws.dnssec_vpc else LAMBDA_RESOLVER
    return runtime.settings_env(runtime.perspective_settings(
        fleet, p.code, p.rir, resolver={"nameservers": [resolver], "port": 53}, caa_domains=aws.caa_domains,
        verify_ssl=None, audit={"audit_site": p.code}))


@dataclasses.dataclass(frozen=True)
class LambdaCoordinatorEnv:
    """The coordinator function's complete environment (every ``MPIC_*`` key, secrets included),
    from the one renderer, once its *slots* are filled: the values only the Pulumi engine knows,
    the perspective functions' invoke ARNs (in the order of :attr:`perspectives`), the API keys and
    the hash secret. :class:`components.aws.serverless.LambdaCoordinator` calls :meth:`fill` with
    their resolved values; nothing else of the environment is decided there."""

    fleet: StackConfig
    perspectives: tuple[PerspectivePlan, ...]
    """The perspective functions, in the order of the ARNs :meth:`fill` gets."""

    def fill(self, *, function_arns: Sequence[str], api_keys: Sequence[str], hash_secret: str) -> dict[str, str]:
        """The environment with the slots filled (plain values in, plain text out)."""
        targets = [{"code": p.code, "rir": p.rir, "url": f"lambda:{arn}"}
                   for p, arn in zip(self.perspectives, function_arns, strict=True)]
        return runtime.settings_env(runtime.coordinator_settings(
            self.fleet, perspectives=targets, client_tls=None, api_keys=list(api_keys), hash_secret=hash_secret,
            audit={"audit_site": "coordinator"}))
