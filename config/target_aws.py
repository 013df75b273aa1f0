"""``mpic:aws`` — settings of the ``aws-hosts`` and ``aws-lambda`` targets (typed, immutable).

Every key has a safe default, so a stack only sets what it changes, e.g.::

    mpic:aws:
      coordinatorRegion: us-east-1
      standbyRegion: us-east-2
      domain: mpic.ca.example
      hostedZone: ca.example
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.catalog import lookup
from config.settings_base import TargetSettings

AL2023_AMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
"""Amazon Linux 2023 (Python 3.11, glibc 2.34, the SSM agent) for ``{arch}`` x86_64 or arm64."""
GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.")
"""Instance families with a ``g`` after the generation (t4g, m7g, c7gn, r8g...) are arm64 (Graviton)."""
_HOST = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"


def aws_region(code: str, key: str) -> str:
    """``code`` if it is an AWS region of the catalog, else a ValueError naming the key and the fix."""
    loc = lookup(code)
    if loc is None or loc.provider != "aws":
        raise ValueError(f"{key}: '{code}' is not an AWS region of config/regions.yaml "
                         "(e.g. us-east-1, us-east-2, eu-central-1)")
    return loc.code  # the catalog's spelling: codes are case-insensitive


class AwsSettings(TargetSettings):
    """``mpic:aws`` — settings of the ``aws-hosts`` and ``aws-lambda`` targets."""

    coordinator_region: str = "us-east-1"
    """Primary coordinator region (ALB + Auto Scaling group, or the coordinator function)."""
    standby_region: str | None = "us-east-2"
    """aws-hosts: standby coordinator region behind Route53 failover (null: no standby)."""
    domain: str = Field("mpic.example.com", pattern=_HOST)
    """aws-hosts: the coordinator's public name (ACM certificate + failover records)."""
    hosted_zone: str = Field("example.com", pattern=_HOST)
    """aws-hosts: the operator's Route53 public hosted zone that holds ``domain``."""
    instance_type: str = "t3.small"
    """Perspective hosts' EC2 instance type."""
    coordinator_instance_type: str = "t3.small"
    """Coordinator hosts' EC2 instance type."""
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    """CPU architecture of every host and function: picks the built wheelhouse or Lambda zip
    (``./scripts/mpic build``) and the default AMI; the instance types must match it."""
    image_id: str | None = None
    """AMI (or ``resolve:ssm:`` parameter) of both roles; default: Amazon Linux 2023 for ``architecture``."""
    volume_size_gb: int = Field(16, ge=8, le=1024)
    """Encrypted gp3 root volume of every host."""
    perspective_port: int = Field(8443, ge=1024, le=65535)
    """mTLS listener of each perspective (the coordinator's network only)."""
    health_port: int = Field(8081, ge=1024, le=65535)
    """Plain-HTTP /readyz relay for the load balancer's health checks (own VPC only)."""
    coordinator_port: int = Field(8080, ge=1024, le=65535)
    """The coordinator's plain-HTTP listener behind its ALB (ALB security group only)."""
    cidr_pool: str = "10.128.0.0/12"
    """Every VPC of the fleet gets a non-overlapping /20 of this pool (the planner's slots)."""
    caa_domains: tuple[str, ...] = ()
    """The CA's CAA issuer domains (perspectives use them when a request carries none)."""
    lambda_memory_mb: int = Field(1024, ge=128, le=10240)
    """aws-lambda: memory of every function (MB; CPU scales with it)."""
    lambda_timeout_s: int = Field(60, ge=5, le=900)
    """aws-lambda: timeout of every function (seconds)."""
    cold_start: Literal["warmup", "provisioned", "none"] = "warmup"
    """aws-lambda cold-start mitigation: scheduled warm-up invokes, provisioned concurrency, or none."""
    warmup_minutes: int = Field(5, ge=1, le=60)
    """aws-lambda, ``coldStart: warmup``: minutes between warm-up invokes."""
    provisioned_concurrency: int = Field(1, ge=1, le=100)
    """aws-lambda, ``coldStart: provisioned``: environments kept initialised per function."""
    api_gateway_keys: int = Field(1, ge=1, le=10)
    """aws-lambda: how many of ``mpic:apiKeys`` (from the first) API Gateway admits. Raise it to 2
    while rotating keys (old and new both work), then drop the old key and set it back to 1."""
    dnssec_vpc: bool = False
    """aws-lambda: run perspective functions in a VPC whose Route53 Resolver validates DNSSEC
    (adds a NAT gateway per region: see ``mpic plan`` for the cost)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Extra tags on every resource (the provider's default tags)."""

    @field_validator("coordinator_region")
    @classmethod
    def _coordinator_region(cls, v: str) -> str:
        return aws_region(v, "mpic:aws.coordinatorRegion")

    @field_validator("standby_region")
    @classmethod
    def _standby_region(cls, v: str | None) -> str | None:
        return None if v is None else aws_region(v, "mpic:aws.standbyRegion")

    @field_validator("cidr_pool")
    @classmethod
    def _pool(cls, v: str) -> str:
        net = ipaddress.ip_network(v, strict=True)
        if net.version != 4 or not net.is_private or net.prefixlen > 14:
            raise ValueError(f"mpic:aws.cidrPool: '{v}' must be a private IPv4 block of /14 or larger "
                             "(e.g. 10.128.0.0/12): every VPC takes a /20 slot of it")
        return v

    @property
    def ami(self) -> str:
        """``image_id``, or Amazon Linux 2023 for ``architecture``."""
        return self.image_id or AL2023_AMI.format(arch=self.architecture)

    @model_validator(mode="after")
    def _distinct(self) -> "AwsSettings":
        for key, itype in (("instanceType", self.instance_type), ("coordinatorInstanceType", self.coordinator_instance_type)):
            arch = "arm64" if GRAVITON_FAMILY.match(itype) else "x86_64"
            if arch != self.architecture:
                raise ValueError(f"mpic:aws.{key}: '{itype}' is an {arch} instance type but mpic:aws.architecture is "
                                 f"'{self.architecture}'; set architecture: {arch}, or pick a "
                                 f"{self.architecture} type (e.g. {'t4g.small' if self.architecture == 'arm64' else 't3.small'})")
        if self.standby_region is not None and self.standby_region == self.coordinator_region:
            raise ValueError(f"mpic:aws.standbyRegion: '{self.standby_region}' is also the coordinatorRegion; "
                             "the standby must be another region (e.g. us-east-2), or null for none")
        if len({self.perspective_port, self.health_port, self.coordinator_port}) != 3:
            raise ValueError("mpic:aws: perspectivePort, healthPort and coordinatorPort must differ")
        if not self.domain.endswith("." + self.hosted_zone):
            raise ValueError(f"mpic:aws.domain: '{self.domain}' is not inside hostedZone '{self.hosted_zone}'; "
                             "use a name in the zone (e.g. mpic." + self.hosted_zone + ")")
        return self
