"""``mpic:failover`` — how the coordinator's public name fails over between coordinator sites.

One set of parameters for every target (:mod:`plan.failover`): Route53 health checks in front of
aws-hosts' two coordinator regions and k8s' two hubs, and the local fleet's health checker in
front of its standby site.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.settings_base import TargetSettings


class FailoverSettings(TargetSettings):
    """``mpic:failover`` — ``{standby, interval, failureThreshold, ttl}``."""

    standby: bool = False
    """Local fleet: run a standby coordinator site behind the coordinator's name (aws-hosts has one
    by default: ``mpic:aws.standbyRegion``; k8s: ``mpic:k8s.standbyHub``)."""
    interval: Literal[10, 30] = 30
    """Seconds between health checks of each site's ``/readyz`` (Route53 offers 10 or 30)."""
    failure_threshold: int = Field(3, ge=1, le=10)
    """Consecutive failed checks before a site is unhealthy (and successes before it is healthy again)."""
    ttl: int = Field(60, ge=1, le=3600)
    """TTL of the coordinator name's record where the kit writes it (the local fleet). Route53
    alias records to a load balancer carry AWS's fixed 60 s."""
