"""The monthly cost of one perspective region of an AWS target, without running the program.

``mpic suggest --max-monthly-usd X --target aws-hosts|aws-lambda`` needs a price per candidate
region. :func:`perspective_resources` lists the priced resources the target's program creates in
a perspective region (the same types and the properties the pricers of :mod:`plan.prices` read),
and :func:`region_monthly_usd` prices them with the same price table, so the figure equals what
``mpic plan`` shows for that region of a stack with the same settings (a test pins the two
together on the example stacks). Coordinator regions cost more (ALB, coordinators, the API):
those are the CA's choice, not part of a perspective's price.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.audit import MIN_RETENTION_DAYS
from config.catalog import Location
from config.errors import ConfigError
from config.model import MIN_REPLICAS
from config.target_aws import AwsSettings
from plan.prices import Priced, estimate
from plan.usage import Usage

PRICED_TARGETS: tuple[str, ...] = ("aws-hosts", "aws-lambda")


def perspective_resources(target: str, region: str, settings: AwsSettings | None = None,
                          replicas: int = MIN_REPLICAS, retention_days: int = MIN_RETENTION_DAYS) -> list[Priced]:
    """The priced resources of one perspective region of ``target`` (``aws-hosts``: the Auto
    Scaling group of ``replicas`` hosts, its launch template, the internal NLB and the internet
    gateway that carries the validation traffic; ``aws-lambda``: the function, its warm-up rule
    or provisioned concurrency, and with ``dnssecVpc`` the NAT gateway, its Elastic IP and the
    internet gateway; both: the region's audit log group, kept ``retention_days``
    (``mpic:audit.retentionDays``), and its KMS key, :mod:`plan.audit`)."""
    aws = settings or AwsSettings()
    role = {"mpic:role": "perspective"}
    audit = [Priced("aws:kms/key:Key", "audit-key", region, {}),
             Priced("aws:cloudwatch/logGroup:LogGroup", "audit-group", region, {"retentionInDays": retention_days})]
    if target == "aws-hosts":
        return [
            Priced("aws:ec2/launchTemplate:LaunchTemplate", "lt", region,
                   {"id": "lt", "instanceType": aws.instance_type,
                    "blockDeviceMappings": [{"ebs": {"volumeSize": aws.volume_size_gb}}]}),
            Priced("aws:autoscaling/group:Group", "asg", region, {"desiredCapacity": replicas, "launchTemplate": {"id": "lt"}}),
            Priced("aws:lb/loadBalancer:LoadBalancer", "nlb", region,
                   {"loadBalancerType": "network", "internal": True}),
            Priced("aws:ec2/internetGateway:InternetGateway", "igw", region, {"tags": role}),
            *audit,
        ]
    if target == "aws-lambda":
        fn: dict = {"name": "fn", "memorySize": aws.lambda_memory_mb, "tags": role, "architectures": [aws.architecture]}
        out = list(audit)
        if aws.dnssec_vpc:
            fn["vpcConfig"] = {"subnetIds": ["private-0", "private-1"]}
            out += [Priced("aws:ec2/natGateway:NatGateway", "nat", region, {}),
                    Priced("aws:ec2/eip:Eip", "nat-eip", region, {"domain": "vpc"}),
                    Priced("aws:ec2/internetGateway:InternetGateway", "igw", region, {"tags": role})]
        out.append(Priced("aws:lambda/function:Function", "fn", region, fn))
        if aws.cold_start == "warmup":
            out.append(Priced("aws:cloudwatch/eventRule:EventRule", "warmup", region,
                              {"scheduleExpression": f"rate({aws.warmup_minutes} minutes)"}))
        elif aws.cold_start == "provisioned":
            out.append(Priced("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "provisioned",
                              region, {"functionName": "fn",
                                       "provisionedConcurrentExecutions": aws.provisioned_concurrency}))
        return out
    fix = f"give --target one of {', '.join(PRICED_TARGETS)}"
    raise ConfigError(f"--target: '{target}' has no per-region price (the price table covers AWS). Fix: {fix}.",
                      key="--target", value=target, fix=fix)


def region_monthly_usd(target: str, regions: Iterable[Location], settings: AwsSettings | None = None,
                       replicas: int = MIN_REPLICAS, usage: Usage | None = None,
                       retention_days: int = MIN_RETENTION_DAYS) -> dict[str, float]:
    """USD per month of one perspective of ``target`` in each AWS region of ``regions`` (other
    providers' regions are left out: the price table is AWS's), each region at its own list prices."""
    out = {}
    for loc in regions:
        if loc.provider == "aws":
            resources = perspective_resources(target, loc.code, settings, replicas, retention_days)
            out[loc.code] = estimate(resources, usage).total
    if not out:  # validate the target even when no region is priced
        perspective_resources(target, "us-east-1", settings, replicas, retention_days)
    return out
