"""The dated static price table of ``mpic plan`` and the monthly cost estimate.

Prices are AWS on-demand list prices (USD, Linux, us-east-1) as published on the AWS pricing
pages on :data:`PRICE_TABLE_DATE`, scaled per region by :data:`REGION_FACTOR` (an approximation of
each region's premium). They are estimates for comparing fleet shapes, not a quote: taxes,
free tiers, savings plans and support are ignored. The traffic :data:`ASSUMPTIONS` are stated
so the operator can scale them (``mpic plan --usage FILE.yaml``, :func:`usage_from`).

Every line is a quantity of a unit at the region's unit price (the list price times the
region's factor): ``monthly = quantity x unit price``.

Target-agnostic: costs are looked up by resource type token; a type with no entry costs 0
(e.g. Kubernetes objects, IAM roles, security groups, VPCs, VPC peering connections).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from config.errors import ConfigError
from config.key_errors import unknown_key_error

PRICE_TABLE_DATE = "2026-11-01"
HOURS_PER_MONTH = 730.0

EC2_HOURLY: dict[str, float] = {
    "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
    "t4g.micro": 0.0084, "t4g.small": 0.0168, "t4g.medium": 0.0336, "t4g.large": 0.0672,
    "m6i.large": 0.096, "m7i.large": 0.1008, "m7g.large": 0.0816, "c7i.large": 0.08925, "c7g.large": 0.0725,
}
PRICES: dict[str, float] = {
    "public_ipv4_hour": 0.005,          # every in-use public IPv4 address
    "ebs_gp3_gb_month": 0.08,
    "alb_hour": 0.0225, "alb_lcu_hour": 0.008,
    "nlb_hour": 0.0225, "nlb_lcu_hour": 0.006,
    "nat_hour": 0.045, "nat_gb": 0.045,
    "lambda_request": 0.20 / 1_000_000, "lambda_gb_second": 0.0000166667,
    "lambda_provisioned_gb_second": 0.0000041667,
    "apigw_rest_request": 3.50 / 1_000_000,
    "route53_health_check_aws": 0.50, "route53_health_check_https": 1.00,
    "secrets_manager_secret_month": 0.40,
    "cloudwatch_logs_gb": 0.50,
    "cloudwatch_alarm_month": 0.10,     # a standard-resolution metric alarm
    "kms_key_month": 1.00,              # a customer managed key (requests of the canary's alarms: free tier)
    "data_transfer_inter_region_gb": 0.02,
    "data_transfer_internet_gb": 0.09,
}
REGION_FACTOR: dict[str, float] = {
    "us-east-1": 1.0, "us-east-2": 1.0, "us-west-2": 1.0, "us-west-1": 1.17, "ca-central-1": 1.1,
    "ca-west-1": 1.1, "mx-central-1": 1.2, "sa-east-1": 1.6,
    "eu-west-1": 1.1, "eu-west-2": 1.15, "eu-west-3": 1.15, "eu-central-1": 1.15, "eu-central-2": 1.25,
    "eu-north-1": 1.05, "eu-south-1": 1.15, "eu-south-2": 1.1, "il-central-1": 1.2, "me-south-1": 1.2,
    "me-central-1": 1.2, "af-south-1": 1.3,
    "ap-northeast-1": 1.3, "ap-northeast-2": 1.22, "ap-northeast-3": 1.3, "ap-east-1": 1.35, "ap-east-2": 1.3,
    "ap-south-1": 1.1, "ap-south-2": 1.1, "ap-southeast-1": 1.25, "ap-southeast-2": 1.25,
    "ap-southeast-3": 1.25, "ap-southeast-4": 1.25, "ap-southeast-5": 1.2, "ap-southeast-6": 1.25,
    "ap-southeast-7": 1.2,
}
DEFAULT_REGION_FACTOR = 1.25
ASSUMPTIONS: dict[str, float] = {
    "validations_per_month": 1_000_000,     # MPIC requests (each reaches every perspective of a cohort)
    "perspective_egress_gb": 5.0,           # DNS/HTTP/TLS validation traffic per perspective region
    "inter_region_gb_per_link": 2.0,        # coordinator <-> perspective over a peering, per link
    "nat_processed_gb": 5.0,                # per NAT gateway (DNSSEC VPC mode)
    "lb_capacity_units": 1.0,               # LCU/NLCU per load balancer, averaged
    "perspective_lambda_ms": 300.0, "coordinator_lambda_ms": 800.0,
    "log_gb_per_function": 1.0,
    "canary_lambda_ms": 30000.0,            # a canary run (Route53's change propagation dominates)
    "hours_per_month": HOURS_PER_MONTH,     # hours every always-on resource runs (instances, LBs, IPs)
}
"""The usage the estimate assumes; ``mpic plan --usage FILE.yaml`` overrides any of them."""
MAX_HOURS_PER_MONTH = 744.0
"""31 days."""
GLOBAL = "global"
"""Cost bucket of resources without a region (components spanning regions)."""
Usage = Mapping[str, float]


@dataclasses.dataclass(frozen=True)
class CostLine:
    """One priced quantity: ``usd`` = ``quantity`` x ``unit_usd`` (the region's unit price)."""

    region: str
    type: str
    name: str
    usd: float
    note: str
    quantity: float = 0.0
    unit: str = ""
    unit_usd: float = 0.0

    def to_json(self) -> dict:
        return {"region": self.region, "resource": self.name, "type": self.type, "quantity": round(self.quantity, 4),
                "unit": self.unit, "unit_usd": self.unit_usd, "monthly_usd": round(self.usd, 4), "note": self.note}


@dataclasses.dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    usage: Usage = dataclasses.field(default_factory=lambda: dict(ASSUMPTIONS))
    """The usage assumptions the lines were priced with."""

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
                "assumptions": dict(self.usage), "lines": [line.to_json() for line in self.lines]}


def factor(region: str | None) -> float:
    return REGION_FACTOR.get(region or "", DEFAULT_REGION_FACTOR)


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

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_usd


Pricer = Callable[[Priced, dict[str, Priced], Usage], list[Charge]]


def _asg(r: Priced, by_id: dict[str, Priced], u: Usage) -> list[Charge]:
    count = int(r.props.get("desiredCapacity") or r.props.get("minSize") or 0)
    lt_ref = r.props.get("launchTemplate") or {}
    lt = by_id.get(str(lt_ref.get("id"))) if isinstance(lt_ref, dict) else None
    itype = str((lt.props.get("instanceType") if lt else None) or "t3.small")
    hourly = EC2_HOURLY.get(itype)
    note = f"{count} x {itype}"
    if hourly is None:
        hourly, note = EC2_HOURLY["t3.medium"], f"{count} x {itype} (not in the price table: priced as t3.medium)"
    gb = 8
    if lt:
        for m in lt.props.get("blockDeviceMappings") or []:
            gb = int(((m or {}).get("ebs") or {}).get("volumeSize") or gb)
    f, hours = factor(r.region), u["hours_per_month"]
    return [Charge(count * hours, "instance-hour", hourly * f, note + " on-demand"),
            Charge(count * hours, "IPv4-hour", PRICES["public_ipv4_hour"], f"{count} public IPv4 addresses"),
            Charge(count * gb, "GB-month", PRICES["ebs_gp3_gb_month"] * f, f"{count} x {gb} GB gp3 (encrypted)")]


def _balancer(kind: str, region: str | None, u: Usage, what: str) -> list[Charge]:
    f, hours, units = factor(region), u["hours_per_month"], u["lb_capacity_units"]
    capacity = "LCU-hour" if kind == "alb" else "NLCU-hour"
    return [Charge(hours, "LB-hour", PRICES[f"{kind}_hour"] * f, what),
            Charge(units * hours, capacity, PRICES[f"{kind}_lcu_hour"] * f, f"{units:g} capacity unit(s), averaged")]


def _lb(r: Priced, _: dict, u: Usage) -> list[Charge]:
    kind = "nlb" if r.props.get("loadBalancerType") == "network" else "alb"
    return _balancer(kind, r.region, u, kind.upper())


def _nat(r: Priced, _: dict, u: Usage) -> list[Charge]:
    f, gb = factor(r.region), u["nat_processed_gb"]
    return [Charge(u["hours_per_month"], "NAT-hour", PRICES["nat_hour"] * f, "NAT gateway"),
            Charge(gb, "GB processed", PRICES["nat_gb"] * f, f"{gb:g} GB through the NAT gateway")]


def _lambda(r: Priced, _: dict, u: Usage) -> list[Charge]:
    tags = r.props.get("tags") or {}
    f = factor(r.region)
    logs = Charge(u["log_gb_per_function"], "GB of logs", PRICES["cloudwatch_logs_gb"] * f, "CloudWatch Logs")
    if tags.get("mpic:role") == "canary":  # its runs are priced on its schedule
        return [logs]
    coordinator = tags.get("mpic:role") == "coordinator"
    ms = u["coordinator_lambda_ms" if coordinator else "perspective_lambda_ms"]
    n = u["validations_per_month"]
    gb = float(r.props.get("memorySize") or 128) / 1024
    lines = [Charge(n, "request", PRICES["lambda_request"] * f, f"{n:,.0f} invocations"),
             Charge(n * ms / 1000 * gb, "GB-second", PRICES["lambda_gb_second"] * f, f"{ms:g} ms at {gb:g} GB each"),
             logs]
    if not coordinator and not r.props.get("vpcConfig"):  # in a VPC the internet gateway line counts it
        gb_out = u["perspective_egress_gb"]
        lines.append(Charge(gb_out, "GB out", PRICES["data_transfer_internet_gb"] * f,
                            f"{gb_out:g} GB validation traffic out"))
    return lines


def _provisioned(r: Priced, by_name: dict, u: Usage) -> list[Charge]:
    n = int(r.props.get("provisionedConcurrentExecutions") or 1)
    gb = 1.0
    fn_name = r.props.get("functionName")
    for p in by_name.values():
        if p.type == "aws:lambda/function:Function" and p.props.get("name") == fn_name:
            gb = float(p.props.get("memorySize") or 1024) / 1024
    seconds = u["hours_per_month"] * 3600
    return [Charge(n * gb * seconds, "GB-second provisioned", PRICES["lambda_provisioned_gb_second"] * factor(r.region),
                   f"{n} provisioned environment(s) x {gb:g} GB")]


def _minutes(expr: Any) -> int:
    """``rate(N minutes)`` -> N (5 when the expression says otherwise)."""
    try:
        return int(str(expr).split("(")[1].split()[0])
    except (IndexError, ValueError):
        return 5


def _canary_runs(r: Priced, _: dict, u: Usage) -> list[Charge]:
    minutes, gb, ms = _minutes(r.props.get("scheduleExpression")), 0.25, u["canary_lambda_ms"]
    runs, f = u["hours_per_month"] * 60 / minutes, factor(r.region)
    return [Charge(runs, "run", PRICES["lambda_request"] * f, f"a canary run every {minutes} min"),
            Charge(runs * ms / 1000 * gb, "GB-second", PRICES["lambda_gb_second"] * f, f"{ms:g} ms at {gb:g} GB each")]


def _alarm(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [Charge(1, "alarm-month", PRICES["cloudwatch_alarm_month"] * factor(r.region), "CloudWatch alarm")]


def _kms_key(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [Charge(1, "key-month", PRICES["kms_key_month"], "KMS customer managed key")]


def _warmup(r: Priced, _: dict, u: Usage) -> list[Charge]:
    minutes = _minutes(r.props.get("scheduleExpression"))
    calls = u["hours_per_month"] * 60 / minutes
    return [Charge(calls, "invocation", (PRICES["lambda_request"] + 0.1 * PRICES["lambda_gb_second"]) * factor(r.region),
                   f"warm-up every {minutes} min (a request + 0.1 GB-second)")]


def _apigw(r: Priced, _: dict, u: Usage) -> list[Charge]:
    n = u["validations_per_month"]
    return [Charge(n, "request", PRICES["apigw_rest_request"] * factor(r.region), "REST API requests")]


def _health_check(r: Priced, _: dict, u: Usage) -> list[Charge]:
    https = str(r.props.get("type", "")).upper().startswith("HTTPS")
    usd = PRICES["route53_health_check_aws"] + (PRICES["route53_health_check_https"] if https else 0)
    return [Charge(1, "health check-month", usd, "Route53 health check (AWS endpoint" + (", HTTPS)" if https else ")"))]


def _secret(r: Priced, _: dict, u: Usage) -> list[Charge]:
    return [Charge(1, "secret-month", PRICES["secrets_manager_secret_month"], "Secrets Manager secret")]


def _peering(r: Priced, _: dict, u: Usage) -> list[Charge]:
    gb = u["inter_region_gb_per_link"]
    return [Charge(gb, "GB transferred", PRICES["data_transfer_inter_region_gb"] * factor(r.region),
                   f"{gb:g} GB inter-region transfer")]


def _perspective_egress(r: Priced, _: dict, u: Usage) -> list[Charge]:
    tags = r.props.get("tags") or {}
    if tags.get("mpic:role") != "perspective":
        return []
    gb = u["perspective_egress_gb"]
    return [Charge(gb, "GB out", PRICES["data_transfer_internet_gb"] * factor(r.region),
                   f"{gb:g} GB validation traffic out")]


def _k8s_load_balancer(r: Priced, _: dict, u: Usage) -> list[Charge]:
    """A ``type: LoadBalancer`` Service makes the cloud provision a load balancer (priced as an
    AWS NLB; other clouds' list prices are close). Cluster nodes are the operator's and not priced."""
    spec = r.props.get("spec") or {}
    if not isinstance(spec, dict) or spec.get("type") != "LoadBalancer":
        return []
    return _balancer("nlb", r.region, u, "cloud load balancer of a LoadBalancer Service (NLB price)")


PRICERS: dict[str, Pricer] = {
    "kubernetes:core/v1:Service": _k8s_load_balancer,
    "aws:autoscaling/group:Group": _asg,
    "aws:lb/loadBalancer:LoadBalancer": _lb,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:lambda/function:Function": _lambda,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": _provisioned,
    "aws:cloudwatch/eventRule:EventRule": _warmup,
    "aws:scheduler/schedule:Schedule": _canary_runs,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:kms/key:Key": _kms_key,
    "aws:apigateway/restApi:RestApi": _apigw,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": _peering,
    "aws:ec2/internetGateway:InternetGateway": _perspective_egress,
}


def estimate(resources: Iterable[Priced], usage: Usage | None = None) -> CostEstimate:
    """Monthly cost lines of ``resources`` (region None -> :data:`GLOBAL`) under ``usage``
    (:data:`ASSUMPTIONS` with the keys it gives replaced; see :func:`usage_from`)."""
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
        ctx = by_name if pricer is _provisioned else by_id
        for c in pricer(r, ctx, u):
            lines.append(CostLine(region=r.region or GLOBAL, type=r.type, name=r.name, usd=round(c.usd, 4),
                                  note=c.note, quantity=c.quantity, unit=c.unit, unit_usd=round(c.unit_usd, 10)))
    return CostEstimate(tuple(lines), u)


def usage_from(raw: Any, key: str = "--usage") -> dict[str, float]:
    """Validate an override of :data:`ASSUMPTIONS` (a map of some of its keys to numbers >= 0):
    ConfigError naming the key, the value and the fix (did you mean, for an unknown key)."""
    if not isinstance(raw, dict):
        fix = f"write a map of some of {', '.join(ASSUMPTIONS)} to numbers"
        raise ConfigError(f"{key}: expected a map of usage assumptions, got {raw!r}. Fix: {fix}.", key=key,
                          value=raw if isinstance(raw, (str, int, float, list)) else str(raw), fix=fix)
    out: dict[str, float] = {}
    for name, value in raw.items():
        where = f"{key}.{name}"
        if name not in ASSUMPTIONS:
            raise unknown_key_error(where, str(name), value, list(ASSUMPTIONS))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            fix = f"give {name} a number, e.g. {name}: {ASSUMPTIONS[name]:g}"
            raise ConfigError(f"{where}: {value!r} is not a number. Fix: {fix}.", key=where, value=value, fix=fix)
        limit = MAX_HOURS_PER_MONTH if name == "hours_per_month" else float("inf")
        if not 0 <= value <= limit:
            bound = f"between 0 and {limit:g}" if limit != float("inf") else ">= 0"
            fix = f"give {name} a number {bound}"
            raise ConfigError(f"{where}: {value!r} is out of range. Fix: {fix}.", key=where, value=value, fix=fix)
        out[str(name)] = float(value)
    return out


def cost_diff(base: CostEstimate, other: CostEstimate) -> dict:
    """The monthly difference ``other - base``, by region and in total (USD, rounded to cents)."""
    a, b = base.by_region, other.by_region
    regions = sorted(set(a) | set(b), key=lambda r: (r == GLOBAL, r))
    by_region = {r: {"base": a.get(r, 0.0), "stack": b.get(r, 0.0), "delta": round(b.get(r, 0.0) - a.get(r, 0.0), 2)}
                 for r in regions}
    return {"by_region": by_region,
            "total": {"base": base.total, "stack": other.total, "delta": round(other.total - base.total, 2)}}
