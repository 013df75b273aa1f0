"""Coordinator failover, planned once for every target: the health check (path, interval,
threshold, timeout), the record's TTL and the failover time they imply.

aws-hosts and k8s turn it into Route53 health checks and PRIMARY/SECONDARY records
(components/failover.py ``FailoverEndpoint``); the local fleet's health checker
(``python -m local.daemons.healthcheck``) applies the same rules to its two sites and rewrites the
coordinator's name in Knot.
"""

from __future__ import annotations

import dataclasses

from config.model import StackConfig

CHECK_PATH = "/readyz"
"""The deep readiness: a quorum of perspectives in >= 2 RIRs answers (service/readiness.py)."""
CHECK_TIMEOUT_S = 2.0
"""Route53 waits 4 s to connect and 2 s for the response; the local checker allows 2 s in all."""
ALIAS_TTL_S = 60
"""What Route53 gives an alias record to a load balancer (not configurable)."""


@dataclasses.dataclass(frozen=True)
class FailoverPlan:
    name: str
    """The coordinator's public name."""
    interval_s: int
    failure_threshold: int
    ttl_s: int
    path: str = CHECK_PATH
    timeout_s: float = CHECK_TIMEOUT_S

    @property
    def detection_s(self) -> int:
        """Worst case from a site going down to it being marked unhealthy."""
        return self.interval_s * self.failure_threshold

    @property
    def failover_s(self) -> int:
        """Worst case until every client resolves the standby: detection plus the record's TTL."""
        return self.detection_s + self.ttl_s

    def route53(self) -> dict[str, object]:
        """The Route53 health check arguments (``aws.route53.HealthCheck``)."""
        return {"resource_path": self.path, "request_interval": self.interval_s,
                "failure_threshold": self.failure_threshold}


def plan_failover(fleet: StackConfig, name: str | None = None, *, alias: bool = False) -> FailoverPlan:
    """The failover of ``fleet`` for the name ``name`` (default ``mpic.<testDomain>``, the local
    fleet's). ``alias``: the record is a Route53 alias to a load balancer (TTL fixed at 60 s)."""
    f = fleet.failover
    return FailoverPlan(name=name or f"mpic.{fleet.test_domain}", interval_s=f.interval,
                        failure_threshold=f.failure_threshold, ttl_s=ALIAS_TTL_S if alias else f.ttl)
