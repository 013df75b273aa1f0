"""The dated price table and the cost estimate (by type token; unpriced types cost 0)."""

from __future__ import annotations

import math

import pytest

from plan import prices
from plan.prices import Priced, estimate


def P(type_, name_, region, **props):
    return Priced(type=type_, name=name_, region=region, props=props)


def test_asg_uses_its_launch_template_instance_type_and_region_factor():
    lt = P("aws:ec2/launchTemplate:LaunchTemplate", "lt", "sa-east-1", id="lt-1", instanceType="t3.medium",
           blockDeviceMappings=[{"ebs": {"volumeSize": 20}}])
    asg = P("aws:autoscaling/group:Group", "asg", "sa-east-1", desiredCapacity=2, launchTemplate={"id": "lt-1"})
    est = estimate([lt, asg])
    compute = 2 * 0.0416 * 730 * prices.REGION_FACTOR["sa-east-1"]
    assert math.isclose(est.lines[0].usd, compute, rel_tol=1e-3)
    assert math.isclose(est.lines[1].usd, 2 * 0.005 * 730, rel_tol=1e-3)
    assert "20 GB" in est.lines[2].note and est.by_region == {"sa-east-1": est.total}


def test_unpriced_instance_type_is_flagged_and_unknown_types_cost_nothing():
    lt = P("aws:ec2/launchTemplate:LaunchTemplate", "lt", "us-east-1", id="lt-1", instanceType="x9.huge")
    asg = P("aws:autoscaling/group:Group", "asg", "us-east-1", minSize=2, launchTemplate={"id": "lt-1"})
    k8s = P("kubernetes:apps/v1:Deployment", "d", "eu-west-1")
    est = estimate([lt, asg, k8s])
    assert "not in the price table" in est.lines[0].note and "eu-west-1" not in est.by_region


@pytest.mark.parametrize("item, expected", [
    (P("aws:lb/loadBalancer:LoadBalancer", "alb", "us-east-1", loadBalancerType="application"), (0.0225 + 0.008) * 730),
    (P("aws:lb/loadBalancer:LoadBalancer", "nlb", "us-east-1", loadBalancerType="network"), (0.0225 + 0.006) * 730),
    (P("aws:ec2/natGateway:NatGateway", "nat", "us-east-1"), 0.045 * 730 + 5 * 0.045),
    (P("aws:route53/healthCheck:HealthCheck", "hc", "us-east-1", type="HTTPS"), 1.50),
    (P("aws:route53/healthCheck:HealthCheck", "hc", "us-east-1", type="HTTP"), 0.50),
    (P("aws:secretsmanager/secret:Secret", "s", "us-east-1"), 0.40),
    (P("aws:apigateway/restApi:RestApi", "api", "us-east-1"), 3.50),
    (P("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "pcx", "us-east-1"), 0.04),
    (P("aws:ec2/internetGateway:InternetGateway", "igw", "us-east-1", tags={"mpic:role": "perspective"}), 0.45),
    (P("aws:ec2/internetGateway:InternetGateway", "igw", "us-east-1", tags={"mpic:role": "coordinator"}), 0.0),
    (P("aws:cloudwatch/eventRule:EventRule", "w", "us-east-1", scheduleExpression="rate(1 minute)"),
     43800 * (0.2e-6 + 0.1 * 0.0000166667)),
    (P("aws:cloudwatch/eventRule:EventRule", "w", "us-east-1", scheduleExpression="cron(x)"),
     8760 * (0.2e-6 + 0.1 * 0.0000166667)),
])
def test_price_lines(item, expected):
    assert math.isclose(estimate([item]).total, round(expected, 2), abs_tol=0.011)


def test_lambda_lines():
    persp = P("aws:lambda/function:Function", "p", "us-east-1", name="p", memorySize=1024,
              tags={"mpic:role": "perspective"})
    coord = P("aws:lambda/function:Function", "c", "us-east-1", name="c", memorySize=1024,
              tags={"mpic:role": "coordinator"})
    in_vpc = P("aws:lambda/function:Function", "v", "us-east-1", name="v", memorySize=1024,
               tags={"mpic:role": "perspective"}, vpcConfig={"subnetIds": ["s"]})
    pc = P("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "pc", "us-east-1",
           functionName="p", provisionedConcurrentExecutions=2)
    est = estimate([persp, coord, in_vpc, pc])
    by_name = {}
    for line in est.lines:
        by_name.setdefault(line.name, []).append(line)
    assert len(by_name["p"]) == 2 and len(by_name["c"]) == 1 and len(by_name["v"]) == 1
    assert math.isclose(by_name["c"][0].usd, 0.2 + 1e6 * 0.8 * 0.0000166667 + 0.5, rel_tol=1e-3)
    assert math.isclose(by_name["pc"][0].usd, 2 * 730 * 3600 * 0.0000041667, rel_tol=1e-3)


def test_region_factor_default_and_empty_estimate():
    assert prices.factor("nowhere") == prices.DEFAULT_REGION_FACTOR and prices.factor(None) == 1.25
    empty = estimate([])
    assert empty.total == 0.0 and isinstance(empty.total, float) and empty.to_json() == {"total": 0.0, "by_region": {}}
    assert estimate([P("aws:secretsmanager/secret:Secret", "s", None)]).by_region == {prices.GLOBAL: 0.4}


def test_k8s_loadbalancer_services_cost_an_nlb_and_clusterip_nothing():
    lb = Priced(type="kubernetes:core/v1:Service", name="link", region="eu-west-1",
                props={"spec": {"type": "LoadBalancer", "ports": [{"port": 8443}]}})
    cluster_ip = Priced(type="kubernetes:core/v1:Service", name="lab", region="eu-west-1",
                        props={"spec": {"type": "ClusterIP"}})
    est = estimate([lb, cluster_ip])
    nlb = (prices.PRICES["nlb_hour"] + prices.PRICES["nlb_lcu_hour"]) * prices.HOURS_PER_MONTH
    assert est.total == pytest.approx(nlb * prices.factor("eu-west-1"), rel=1e-3)
    assert [line.name for line in est.lines] == ["link"]


def test_k8s_plan_prices_one_load_balancer_per_perspective_and_hub(planned):
    lines = [line for line in planned["k8s"].cost.lines if line.type == "kubernetes:core/v1:Service"]
    assert len(lines) == 6 and planned["k8s"].cost.total > 0
