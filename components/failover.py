"""``FailoverEndpoint``: the coordinator's public name in Route53, failing over between two sites.

Shared by the targets with a standby coordinator site: aws-hosts (two coordinator ALBs) and k8s
(two hub clusters, each Service published under its own name). Route53 is AWS's either way; the
health checks follow :mod:`plan.failover` (the same parameters the local fleet rehearses).
"""

from __future__ import annotations

from typing import TypedDict

import pulumi
import pulumi_aws as aws

from plan.aws.fleet import name_tags
from plan.failover import FailoverPlan


class FailoverTarget(TypedDict):
    region: str
    """The coordinator site's region (its health check is tagged ``mpic:checks-region`` with it)."""
    alb_dns_name: pulumi.Input[str]
    """The DNS name the alias record points at: the site's ALB (aws-hosts) or its published
    ``<region>.<coordinatorHostname>`` (k8s); the health check probes it over HTTPS."""
    alb_zone_id: pulumi.Input[str]
    """The hosted zone of ``alb_dns_name`` (the ALB's canonical zone, or the operator's zone)."""


class FailoverEndpointArgs(TypedDict):
    region: str
    """Region of the component's provider (Route53 is global; its calls go through this provider)."""
    domain: str
    """The coordinator's public name (``mpic:aws.domain`` / ``mpic:k8s.coordinatorHostname``)."""
    zone_id: pulumi.Input[str]
    """The id of the Route53 hosted zone holding ``domain`` (aws-hosts: looked up from
    ``mpic:aws.hostedZone``; k8s: ``mpic:k8s.failoverZoneId``)."""
    primary: FailoverTarget
    """The primary site: the PRIMARY failover record."""
    standby: FailoverTarget | None
    """The standby site (the SECONDARY record); None: only the primary, behind its health check."""
    check: FailoverPlan
    """Path, interval and threshold of the health checks (plan/failover.py, shared with the local fleet)."""


class FailoverEndpoint(pulumi.ComponentResource):
    """Route53 HTTPS health checks on each coordinator site (the deep ``/readyz``: a quorum of
    perspectives in >= 2 RIRs answers) and PRIMARY/SECONDARY failover alias records of the
    operator's domain."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: FailoverEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:FailoverEndpoint", name, None, opts)  # the token its URNs carry: kept
        child = pulumi.ResourceOptions(parent=self)
        targets = [("primary", "PRIMARY", args["primary"])]
        if args["standby"] is not None:
            targets.append(("standby", "SECONDARY", args["standby"]))
        for role, failover, target in targets:
            check = aws.route53.HealthCheck(
                f"{name}-{role}-{target['region']}-check", type="HTTPS", fqdn=target["alb_dns_name"], port=443,
                **args["check"].route53(), enable_sni=False,
                tags={**name_tags(f"{name}-{role}-{target['region']}-check", "coordinator-failover", args["region"]),
                      "mpic:checks-region": target["region"]},
                opts=child)
            aws.route53.Record(
                f"{name}-{role}-{target['region']}-record", zone_id=args["zone_id"], name=args["domain"], type="A",
                set_identifier=f"{role}-{target['region']}",
                failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=failover)],
                aliases=[aws.route53.RecordAliasArgs(name=target["alb_dns_name"], zone_id=target["alb_zone_id"],
                                                     evaluate_target_health=True)],
                health_check_id=check.id, opts=child)
        self.url = pulumi.Output.from_input(f"https://{args['domain']}/v1/mpic")
        self.register_outputs({"url": self.url})
