"""The dated price table and the cost estimate (by type token; unpriced types cost 0)."""

from __future__ import annotations

import math

import pytest

from plan import prices
from config.errors import ConfigError
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
    # requests, compute, logs (+ validation traffic out for a perspective outside a VPC)
    assert len(by_name["p"]) == 4 and len(by_name["c"]) == 3 and len(by_name["v"]) == 3
    assert math.isclose(sum(line.usd for line in by_name["c"]), 0.2 + 1e6 * 0.8 * 0.0000166667 + 0.5, rel_tol=1e-3)
    assert math.isclose(by_name["pc"][0].usd, 2 * 730 * 3600 * 0.0000041667, rel_tol=1e-3)


def test_region_factor_default_and_empty_estimate():
    assert prices.factor("nowhere") == prices.DEFAULT_REGION_FACTOR and prices.factor(None) == 1.25
    empty = estimate([])
    assert empty.total == 0.0 and isinstance(empty.total, float)
    assert empty.to_json() == {"total": 0.0, "by_region": {}, "price_table_date": prices.PRICE_TABLE_DATE,
                               "assumptions": prices.ASSUMPTIONS, "lines": []}
    assert estimate([P("aws:secretsmanager/secret:Secret", "s", None)]).by_region == {prices.GLOBAL: 0.4}


def test_k8s_loadbalancer_services_cost_an_nlb_and_clusterip_nothing():
    lb = Priced(type="kubernetes:core/v1:Service", name="link", region="eu-west-1",
                props={"spec": {"type": "LoadBalancer", "ports": [{"port": 8443}]}})
    cluster_ip = Priced(type="kubernetes:core/v1:Service", name="lab", region="eu-west-1",
                        props={"spec": {"type": "ClusterIP"}})
    est = estimate([lb, cluster_ip])
    nlb = (prices.PRICES["nlb_hour"] + prices.PRICES["nlb_lcu_hour"]) * prices.HOURS_PER_MONTH
    assert est.total == pytest.approx(nlb * prices.factor("eu-west-1"), rel=1e-3)
    assert {line.name for line in est.lines} == {"link"}


def test_k8s_plan_prices_one_load_balancer_per_perspective_and_hub(planned):
    lines = [line for line in planned["k8s"].cost.lines if line.type == "kubernetes:core/v1:Service"]
    assert len({line.name for line in lines}) == 6 and planned["k8s"].cost.total > 0


def test_every_line_is_quantity_times_the_regional_unit_price(planned):
    for name, result in planned.items():
        for line in result.cost.lines:
            assert line.quantity > 0 and line.unit and line.unit_usd > 0, (name, line)
            assert math.isclose(line.usd, line.quantity * line.unit_usd, rel_tol=1e-6, abs_tol=1e-4), (name, line)
        doc = result.cost.to_json()
        assert len(doc["lines"]) == len(result.cost.lines) and doc["price_table_date"] == prices.PRICE_TABLE_DATE
        assert set(doc["lines"][0]) == {"region", "resource", "type", "quantity", "unit", "unit_usd", "monthly_usd",
                                        "note"}


def test_usage_overrides_scale_the_lines_that_depend_on_them():
    fn = P("aws:lambda/function:Function", "p", "eu-west-1", memorySize=1024, tags={"mpic:role": "perspective"})
    lb = P("aws:lb/loadBalancer:LoadBalancer", "nlb", "eu-west-1", loadBalancerType="network")
    base = estimate([fn, lb])
    more = estimate([fn, lb], {"validations_per_month": 2_000_000, "hours_per_month": 365})
    by_unit = {(line.name, line.unit): line for line in more.lines}
    assert by_unit[("p", "request")].quantity == 2_000_000 and by_unit[("nlb", "LB-hour")].quantity == 365
    assert more.usage["validations_per_month"] == 2_000_000 and more.usage["perspective_egress_gb"] == 5.0
    assert base.usage == prices.ASSUMPTIONS and prices.ASSUMPTIONS["validations_per_month"] == 1_000_000


@pytest.mark.parametrize("raw,key,words", [
    ({"validations_per_mnth": 5}, "--usage.validations_per_mnth", ["did you mean validations_per_month"]),
    ({"hours": 5}, "--usage.hours", ["did you mean hours_per_month"]),
    ({"validations_per_month": "lots"}, "--usage.validations_per_month", ["not a number"]),
    ({"validations_per_month": True}, "--usage.validations_per_month", ["not a number"]),
    ({"perspective_egress_gb": -1}, "--usage.perspective_egress_gb", [">= 0"]),
    ({"hours_per_month": 800}, "--usage.hours_per_month", ["between 0 and 744"]),
    (["x"], "--usage", ["expected a map"]),
])
def test_bad_usage_is_refused_naming_key_value_and_fix(raw, key, words):
    with pytest.raises(ConfigError) as err:
        prices.usage_from(raw)
    assert err.value.key == key and err.value.fix
    for word in words:
        assert word in str(err.value)


def test_cost_diff_by_region_and_total():
    a = estimate([P("aws:secretsmanager/secret:Secret", "s", "us-east-1")])
    b = estimate([P("aws:secretsmanager/secret:Secret", "s", "eu-west-1"),
                  P("aws:secretsmanager/secret:Secret", "t", "eu-west-1")])
    diff = prices.cost_diff(a, b)
    assert diff["total"] == {"base": 0.4, "stack": 0.8, "delta": 0.4}
    assert diff["by_region"] == {"eu-west-1": {"base": 0.0, "stack": 0.8, "delta": 0.8},
                                 "us-east-1": {"base": 0.4, "stack": 0.0, "delta": -0.4}}
