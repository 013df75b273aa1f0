"""The monthly cost estimate of ``mpic plan``: every planned resource priced from the table of
:mod:`plan.price_table` (AWS list prices per service and region, each with the month of its list).

Estimates for comparing fleet shapes, not a quote: taxes, free tiers, savings plans and support are
ignored. The traffic assumptions (:data:`plan.usage.ASSUMPTIONS`) are stated so the operator can
scale them (``mpic plan --usage FILE.yaml``, :func:`plan.usage.usage_from`).

Every line is a quantity of a unit at the region's unit price: ``monthly = quantity x unit price``;
the line carries the price's ``as_of`` month and says when the region is not in the table.

Every resource type is one of three kinds, so "not priced" means something:

- priced: a pricer of :data:`PRICERS` (which may find nothing to price, e.g. a ClusterIP Service);
- free: :data:`plan.price_table.FREE` (or ``FREE_PREFIXES``): AWS charges nothing for the resource itself
  (IAM, security groups, VPCs, routes, Kubernetes objects...);
- anything else costs money in a way the table does not price (a Firehose stream, an S3 bucket, a
  type the table does not know yet): a :class:`NotPriced` entry, listed with the estimate. A
  Kubernetes cluster the stack does not create is one too ("the cluster is yours").
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from plan.price_table import FALLBACK_REGION, FREE, FREE_PREFIXES, SOURCES, USAGE_PRICED, unit_price
from plan.usage import ASSUMPTIONS, Usage

PRICE_TABLE_DATE = min(s.as_of for s in SOURCES.values())
"""The oldest ``as_of`` month of the table: no price is older."""
DAYS_PER_MONTH = 365 / 12
NEVER_EXPIRES_MONTHS = 12.0
"""Months of lines a log group without a retention is priced with (it grows without end)."""
EKS_NODE_DISK_GB = 20
"""An EKS managed node group's root volume when it names none."""
GLOBAL = "global"
"""Cost bucket of resources without a region (components spanning regions)."""
CLUSTER_TYPE = "kubernetes cluster"
"""The :class:`NotPriced` type of a cluster the stack uses but does not create."""


@dataclasses.dataclass(frozen=True)
class CostLine:
    """One priced quantity: ``usd`` = ``quantity`` x ``unit_usd`` (the region's unit price, from
    AWS's list of ``as_of``)."""

    region: str
    type: str
    name: str
    usd: float
    note: str
    quantity: float = 0.0
    unit: str = ""
    unit_usd: float = 0.0
    as_of: str = ""

    def to_json(self) -> dict:
        return {"region": self.region, "resource": self.name, "type": self.type, "quantity": round(self.quantity, 4),
                "unit": self.unit, "unit_usd": self.unit_usd, "as_of": self.as_of, "monthly_usd": round(self.usd, 4),
                "note": self.note}


@dataclasses.dataclass(frozen=True)
class NotPriced:
    """A planned resource that costs money the estimate leaves out, and why."""

    type: str
    name: str
    region: str
    reason: str

    def to_json(self) -> dict:
        return {"type": self.type, "name": self.name, "region": self.region, "reason": self.reason}


@dataclasses.dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    usage: Usage = dataclasses.field(default_factory=lambda: dict(ASSUMPTIONS))
    """The usage assumptions the lines were priced with."""
    not_priced: tuple[NotPriced, ...] = ()

    @property
    def total(self) -> float:
        return round(float(sum(line.usd for line in self.lines)), 2)

    @property
    def by_region(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for line in self.lines:
            out[line.region] += line.usd
        return {k: round(v, 2) for k, v in sorted(out.items())}

    def to_json(self) -> dict:
        return {"total": self.total, "by_region": self.by_region, "price_table_date": PRICE_TABLE_DATE,
                "assumptions": dict(self.usage), "lines": [line.to_json() for line in self.lines],
                "not_priced": [n.to_json() for n in self.not_priced]}


@dataclasses.dataclass(frozen=True)
class Priced:
    """What a pricer sees of a resource: type, name, region, properties (camelCase)."""

    type: str
    name: str
    region: str | None
    props: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Charge:
    """What a pricer returns: a quantity of a unit at the region's unit price."""

    quantity: float
    unit: str
    unit_usd: float
    note: str
    as_of: str = ""

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_usd


def charge(quantity: float, unit: str, key: str, region: str | None, note: str, times: float = 1.0) -> Charge:
    """``quantity`` ``unit`` at ``times`` x the list price ``key`` in ``region`` (the note says when
    the region is not in the table)."""
    price = unit_price(key, region)
    if not price.listed:
        note += f" ({region or 'no region'} not in the price table: {FALLBACK_REGION}'s price)"
    return Charge(quantity, unit, price.usd * times, note, price.as_of)


Pricer = Callable[[Priced, dict[str, Priced], Usage], list[Charge]]


def _instances(count: int, itype: str, region: str | None, hours: float, what: str) -> Charge:
    key = f"ec2.{itype}"
    try:
        return charge(count * hours, "instance-hour", key, region, f"{count} x {itype} {what}")
    except KeyError:
        return charge(count * hours, "instance-hour", "ec2.t3.medium", region,
                      f"{count} x {itype} {what} (not in the price table: priced as t3.medium)")


def _asg(r: Priced, by_id: dict[str, Priced], u: Usage) -> list[Charge]:
    count = int(r.props.get("desiredCapacity") or r.props.get("minSize") or 0)
    lt_ref = r.props.get("launchTemplate") or {}
    lt = by_id.get(str(lt_ref.get("id"))) if isinstance(lt_ref, dict) else None
    itype = str((lt.props.get("instanceType") if lt else None) or "t3.small")
    gb = 8
    if lt:
        for m in lt.props.get("blockDeviceMappings") or []:
            gb = int(((m or {}).get("ebs") or {}).get("volumeSize") or gb)
    hours = u["hours_per_month"]
    return [_instances(count, itype, r.region, hours, "on-demand"),
            charge(count * hours, "IPv4-hour", "vpc.public_ipv4_hour", r.region, f"{count} public IPv4 addresses"),
            charge(count * gb, "GB-month", "ebs.gp3_gb_month", r.region, f"{count} x {gb} GB gp3 (encrypted)")]


def _balancer(kind: str, region: str | None, u: Usage, what: str) -> list[Charge]:
    hours, units = u["hours_per_month"], u["lb_capacity_units"]
    capacity = "LCU-hour" if kind == "alb" else "NLCU-hour"
    return [charge(hours, "LB-hour", f"elb.{kind}_hour", region, what),
            charge(units * hours, capacity, f"elb.{kind}_lcu_hour", region, f"{units:g} capacity unit(s), averaged")]


def _lb(r: Priced, _: dict, u: Usage) -> list[Charge]:
    kind = "nlb" if r.props.get("loadBalancerType") == "network" else "alb"
    lines = _balancer(kind, r.region, u, kind.upper() + (" (internal)" if r.props.get("internal") else ""))
    if not r.props.get("internal"):  # an Internet-facing balancer holds a public IPv4 address per zone
        zones = len(r.props.get("subnets") or r.props.get("subnetMappings") or ()) or 2
        lines.append(charge(zones * u["hours_per_month"], "IPv4-hour", "vpc.public_ipv4_hour", r.region,
                            f"{zones} public IPv4 addresses (one per zone)"))
    return lines


def _nat(r: Priced, _: dict, u: Usage) -> list[Charge]:
    gb = u["nat_processed_gb"]
    return [charge(u["hours_per_month"], "NAT-hour", "vpc.nat_hour", r.region, "NAT gateway"),
            charge(gb, "GB processed", "vpc.nat_gb", r.region, f"{gb:g} GB through the NAT gateway")]


def _eip(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [charge(u["hours_per_month"], "IPv4-hour", "vpc.public_ipv4_hour", r.region,
                   "Elastic IP (public IPv4 address)")]


def _arch(props: dict[str, Any]) -> str:
    arch = (props.get("architectures") or ["x86_64"])[0]
    return "arm64" if arch == "arm64" else "x86_64"


def _lambda(r: Priced, _: dict, u: Usage) -> list[Charge]:
    """Requests and GB-seconds of every validation (the canary's runs: :func:`_canary_runs`); its
    log lines are priced on the log group they go to."""
    tags = r.props.get("tags") or {}
    if tags.get("mpic:role") == "canary":  # its runs are priced on its schedule
        return []
    coordinator = tags.get("mpic:role") == "coordinator"
    ms = u["coordinator_lambda_ms" if coordinator else "perspective_lambda_ms"]
    n = u["validations_per_month"]
    gb = float(r.props.get("memorySize") or 128) / 1024
    arch = _arch(r.props)
    lines = [charge(n, "request", "lambda.request", r.region, f"{n:,.0f} invocations"),
             charge(n * ms / 1000 * gb, "GB-second", f"lambda.gb_second_{arch}", r.region,
                    f"{ms:g} ms at {gb:g} GB each ({arch})")]
    if not coordinator and not r.props.get("vpcConfig"):  # in a VPC the internet gateway line counts it
        gb_out = u["perspective_egress_gb"]
        lines.append(charge(gb_out, "GB out", "transfer.internet_gb", r.region,
                            f"{gb_out:g} GB validation traffic out"))
    return lines


def _provisioned(r: Priced, by_name: dict, u: Usage) -> list[Charge]:
    n = int(r.props.get("provisionedConcurrentExecutions") or 1)
    gb, arch = 1.0, "x86_64"
    fn_name = r.props.get("functionName")
    for p in by_name.values():
        if p.type == "aws:lambda/function:Function" and p.props.get("name") == fn_name:
            gb, arch = float(p.props.get("memorySize") or 1024) / 1024, _arch(p.props)
    seconds = u["hours_per_month"] * 3600
    return [charge(n * gb * seconds, "GB-second provisioned", f"lambda.provisioned_gb_second_{arch}", r.region,
                   f"{n} provisioned environment(s) x {gb:g} GB")]


def _minutes(expr: Any) -> int:
    """``rate(N minutes)`` -> N (5 when the expression says otherwise)."""
    try:
        return int(str(expr).split("(")[1].split()[0])
    except (IndexError, ValueError):
        return 5


def _canary_runs(r: Priced, by_name: dict, u: Usage) -> list[Charge]:
    """The canary's runs, at the memory and architecture of the canary function in the schedule's
    region (128 MB and x86_64, Lambda's defaults, if the plan has none)."""
    minutes, ms = _minutes(r.props.get("scheduleExpression")), u["canary_lambda_ms"]
    fn = next((p.props for p in by_name.values() if p.type == "aws:lambda/function:Function"
               and p.region == r.region and (p.props.get("tags") or {}).get("mpic:role") == "canary"), {})
    gb, arch = float(fn.get("memorySize") or 128) / 1024, _arch(fn)
    runs = u["hours_per_month"] * 60 / minutes
    return [charge(runs, "run", "lambda.request", r.region, f"a canary run every {minutes} min"),
            charge(runs * ms / 1000 * gb, "GB-second", f"lambda.gb_second_{arch}", r.region,
                   f"{ms:g} ms at {gb:g} GB each ({arch})")]


def _alarm(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [charge(1, "alarm-month", "cloudwatch.alarm_month", r.region, "CloudWatch alarm")]


def _kms_key(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [charge(1, "key-month", "kms.key_month", r.region, "KMS customer managed key")]


def _log_group(r: Priced, _: dict, u: Usage) -> list[Charge]:
    """The lines written to the group a month, and what it keeps once full: ``retentionInDays``
    (``mpic:audit.retentionDays`` for the audit groups) of them, uncompressed (an upper bound:
    CloudWatch bills the compressed size)."""
    gb, days = u["log_gb_per_group"], int(r.props.get("retentionInDays") or 0)
    months = days / DAYS_PER_MONTH if days > 0 else NEVER_EXPIRES_MONTHS
    kept = f"kept {days} days" if days > 0 else f"never expires: {NEVER_EXPIRES_MONTHS:g} months priced"
    return [charge(gb, "GB ingested", "cloudwatch.logs_ingest_gb", r.region, f"{gb:g} GB of log lines a month"),
            charge(gb * months, "GB-month", "cloudwatch.logs_storage_gb_month", r.region,
                   f"{kept}: {gb * months:,.1f} GB stored once full")]


def _warmup(r: Priced, _: dict, u: Usage) -> list[Charge]:
    minutes = _minutes(r.props.get("scheduleExpression"))
    calls = u["hours_per_month"] * 60 / minutes
    request, gb_second = unit_price("lambda.request", r.region), unit_price("lambda.gb_second_x86_64", r.region)
    note = f"warm-up every {minutes} min (a request + 0.1 GB-second)"
    return [charge(calls, "invocation", "lambda.request", r.region, note, times=1 + 0.1 * gb_second.usd / request.usd)]


def _apigw(r: Priced, _: dict, u: Usage) -> list[Charge]:
    n = u["validations_per_month"]
    return [charge(n, "request", "apigateway.rest_request", r.region, "REST API requests")]


def _health_check(r: Priced, _: dict, u: Usage) -> list[Charge]:
    https = str(r.props.get("type", "")).upper().startswith("HTTPS")
    lines = [charge(1, "health check-month", "route53.health_check_month", None, "Route53 health check (AWS endpoint)")]
    if https:
        lines.append(charge(1, "feature-month", "route53.health_check_feature_month", None, "its HTTPS option"))
    return lines


def _secret(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [charge(1, "secret-month", "secretsmanager.secret_month", r.region, "Secrets Manager secret")]


def _peering(r: Priced, _: dict, u: Usage) -> list[Charge]:
    gb = u["inter_region_gb_per_link"]
    return [charge(gb, "GB transferred", "transfer.inter_region_gb", r.region, f"{gb:g} GB inter-region transfer")]


def _perspective_egress(r: Priced, _: dict, u: Usage) -> list[Charge]:
    tags = r.props.get("tags") or {}
    if tags.get("mpic:role") != "perspective":
        return []
    gb = u["perspective_egress_gb"]
    return [charge(gb, "GB out", "transfer.internet_gb", r.region, f"{gb:g} GB validation traffic out")]


def _eks_cluster(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [charge(u["hours_per_month"], "cluster-hour", "eks.cluster_hour", r.region, "EKS control plane")]


def _eks_nodes(r: Priced, _: dict, u: Usage) -> list[Charge]:
    scaling = r.props.get("scalingConfig") or {}
    count = int(scaling.get("desiredSize") or scaling.get("minSize") or 0)
    itype = str((r.props.get("instanceTypes") or ["t3.medium"])[0])
    gb = int(r.props.get("diskSize") or EKS_NODE_DISK_GB)
    hours = u["hours_per_month"]
    return [_instances(count, itype, r.region, hours, "EKS nodes, on-demand"),
            charge(count * gb, "GB-month", "ebs.gp3_gb_month", r.region, f"{count} x {gb} GB node volumes")]


def _k8s_load_balancer(r: Priced, _: dict, u: Usage) -> list[Charge]:
    """A ``type: LoadBalancer`` Service makes the cloud provision a load balancer (priced as an
    AWS NLB in the cluster's region; other clouds' list prices are close)."""
    spec = r.props.get("spec") or {}
    if not isinstance(spec, dict) or spec.get("type") != "LoadBalancer":
        return []
    return _balancer("nlb", r.region, u, "cloud load balancer of a LoadBalancer Service (NLB price)")


PRICERS: dict[str, Pricer] = {
    "kubernetes:core/v1:Service": _k8s_load_balancer,
    "aws:autoscaling/group:Group": _asg,
    "aws:lb/loadBalancer:LoadBalancer": _lb,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/eip:Eip": _eip,
    "aws:lambda/function:Function": _lambda,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
    "aws:cloudwatch/eventRule:EventRule": _warmup,
    "aws:scheduler/schedule:Schedule": _canary_runs,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:kms/key:Key": _kms_key,
    "aws:apigateway/restApi:RestApi": _apigw,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _peering,
    "aws:ec2/internetGateway:InternetGateway": _perspective_egress,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_nodes,
}
def is_free(type_: str) -> bool:
    return type_ in FREE or type_.startswith(tuple(FREE_PREFIXES))


def _unpriced(items: list[Priced]) -> list[NotPriced]:
    """Every resource neither priced nor free, and each cluster the stack uses without creating it."""
    out = [NotPriced(r.type, r.name, r.region or GLOBAL, USAGE_PRICED.get(r.type, "type not in the price table"))
           for r in items if r.type not in PRICERS and not is_free(r.type)]
    eks = {r.region for r in items if r.type == "aws:eks/cluster:Cluster"}
    for r in items:
        if r.type == "pulumi:providers:kubernetes" and r.region not in eks:
            out.append(NotPriced(CLUSTER_TYPE, r.name, r.region or GLOBAL,
                                 "the cluster is yours: its nodes and control plane are not priced"))
    return out


def estimate(resources: Iterable[Priced], usage: Usage | None = None) -> CostEstimate:
    """Monthly cost lines of ``resources`` (region None -> :data:`GLOBAL`) under ``usage``
    (:data:`plan.usage.ASSUMPTIONS` with the keys it gives replaced), and what is not priced."""
    u = {**ASSUMPTIONS, **(usage or {})}
    items = list(resources)
    by_id: dict[str, Priced] = {}
    for r in items:
        rid = r.props.get("id")
        if isinstance(rid, str):
            by_id[rid] = r
    by_name = {r.name: r for r in items}
    lines = []
    for r in items:
        pricer = PRICERS.get(r.type)
        if pricer is None:
            continue
        ctx = by_name if pricer in (_provisioned, _canary_runs) else by_id
        for c in pricer(r, ctx, u):
            lines.append(CostLine(region=r.region or GLOBAL, type=r.type, name=r.name, usd=round(c.usd, 4),
                                  note=c.note, quantity=c.quantity, unit=c.unit, unit_usd=round(c.unit_usd, 10),
                                  as_of=c.as_of))
    return CostEstimate(tuple(lines), u, tuple(_unpriced(items)))
