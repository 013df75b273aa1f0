"""The price table (per service and region, each price dated) and the cost estimate: priced,
free and not-priced resource types."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
import yaml

from config.errors import ConfigError
from plan import price_table, prices, usage
from plan.price_table import ANY, FALLBACK_REGION, LIST_PRICES, SOURCES, unit_price
from plan.prices import Priced, estimate
from preview.engine import plan_stack
from preview.mocks import KIT_ROOT


def P(type_, name_, region, **props):
    return Priced(type=type_, name=name_, region=region, props=props)


# ---------------------------------------------------------------- AWS's published list prices
# Spot checks of the table against AWS's published on-demand list prices (USD), with the region
# and the month of the list (the pricing pages of price_table.SOURCES). A failure here means the
# table moved away from AWS's list: check the page before changing either side.
PUBLISHED = [
    # key, region, USD per unit, list of
    ("lambda.gb_second_x86_64", "us-east-1", 0.0000166667, "2025-01"),
    ("lambda.gb_second_x86_64", "ap-northeast-1", 0.0000166667, "2025-01"),  # the same as us-east-1
    ("lambda.gb_second_x86_64", "sa-east-1", 0.0000166667, "2025-01"),       # the same as us-east-1
    ("lambda.gb_second_x86_64", "af-south-1", 0.0000221, "2025-01"),         # one of the few that differ
    ("lambda.gb_second_arm64", "us-east-1", 0.0000133334, "2025-01"),
    ("lambda.request", "ap-northeast-1", 0.20 / 1e6, "2025-01"),
    ("elb.nlb_hour", "us-east-1", 0.0225, "2025-01"),
    ("elb.nlb_hour", "ap-northeast-1", 0.0243, "2025-01"),
    ("elb.alb_hour", "ap-northeast-1", 0.0243, "2025-01"),
    ("elb.alb_lcu_hour", "ap-northeast-1", 0.008, "2025-01"),
    ("eks.cluster_hour", "eu-west-1", 0.10, "2025-01"),
    ("vpc.nat_hour", "us-east-1", 0.045, "2025-01"),
    ("vpc.nat_gb", "us-east-1", 0.045, "2025-01"),
    ("vpc.nat_hour", "ap-southeast-1", 0.059, "2025-01"),
    ("vpc.public_ipv4_hour", "us-east-1", 0.005, "2025-01"),
    ("vpc.public_ipv4_hour", "sa-east-1", 0.005, "2025-01"),
    ("cloudwatch.logs_ingest_gb", "us-east-1", 0.50, "2025-01"),
    ("cloudwatch.logs_storage_gb_month", "us-east-1", 0.03, "2025-01"),
    ("ec2.t3.small", "us-east-1", 0.0208, "2025-01"),
    ("ec2.t3.small", "ap-southeast-1", 0.0264, "2025-01"),
    ("ec2.t3.medium", "ap-southeast-1", 0.0528, "2025-01"),
    ("ebs.gp3_gb_month", "us-east-1", 0.08, "2025-01"),
    ("kms.key_month", "ap-northeast-1", 1.00, "2025-01"),
    ("secretsmanager.secret_month", "eu-west-1", 0.40, "2025-01"),
    ("apigateway.rest_request", "us-east-1", 3.50 / 1e6, "2025-01"),
    ("route53.health_check_month", "us-east-1", 0.50, "2025-01"),
]


@pytest.mark.parametrize("key, region, usd, as_of", PUBLISHED, ids=[f"{k}@{r}" for k, r, *_ in PUBLISHED])
def test_the_table_holds_aws_published_list_prices(key, region, usd, as_of):
    price = unit_price(key, region)
    assert price.usd == pytest.approx(usd, rel=1e-6) and price.as_of == as_of and price.listed


def test_issue_23_lambda_is_not_scaled_by_a_region_factor_and_the_tokyo_nlb_is_its_own_price():
    fns = [P("aws:lambda/function:Function", f"fn-{r}", r, memorySize=1024, tags={"mpic:role": "perspective"},
             vpcConfig={"subnetIds": ["s"]}) for r in ("us-east-1", "ap-northeast-1", "sa-east-1")]
    totals = estimate(fns).by_region
    assert totals["us-east-1"] == totals["ap-northeast-1"] == totals["sa-east-1"] == pytest.approx(0.2 + 5.0, abs=0.01)
    nlb = estimate([P("aws:lb/loadBalancer:LoadBalancer", "nlb", "ap-northeast-1", loadBalancerType="network",
                      internal=True)]).lines[0]
    assert (nlb.unit, nlb.unit_usd, nlb.as_of) == ("LB-hour", 0.0243, "2025-01")


def test_every_entry_is_priced_somewhere_and_dated():
    assert prices.PRICE_TABLE_DATE == min(s.as_of for s in SOURCES.values())
    for key, entry in LIST_PRICES.items():
        assert key.split(".", 1)[0] in SOURCES, key
        assert FALLBACK_REGION in entry or ANY in entry, key  # an unlisted region has a price to fall back to
        for region, usd in entry.items():
            assert usd is None or (isinstance(usd, float) and 0 < usd < 10), (key, region, usd)
    for source in SOURCES.values():
        assert source.page.startswith("https://aws.amazon.com/") and re.fullmatch(r"20\d\d-\d\d", source.as_of)


def test_burstable_sizes_are_multiples_of_the_micro_in_every_region():
    for region, micro in price_table.T3_MICRO.items():
        assert unit_price("ec2.t3.large", region).usd == pytest.approx(8 * micro)
    assert unit_price("ec2.t4g.medium", "eu-west-1").usd == pytest.approx(4 * 0.0092)


def test_unlisted_regions_fall_back_to_us_east_1_and_say_so():
    listed, unlisted = unit_price("vpc.nat_hour", "eu-west-1"), unit_price("vpc.nat_hour", "ap-southeast-7")
    assert listed == price_table.UnitPrice(0.048, "2025-01", True)
    assert unlisted == price_table.UnitPrice(0.045, "2025-01", False)
    assert unit_price("lambda.request", "ap-southeast-7").listed  # ANY: AWS lists the same price everywhere
    differs = unit_price("lambda.request", "af-south-1")  # AWS lists another price the table does not hold
    assert differs.usd == 0.2e-6 and not differs.listed
    line = estimate([P("aws:ec2/natGateway:NatGateway", "nat", "ap-southeast-7")]).lines[0]
    assert line.note == "NAT gateway (ap-southeast-7 not in the price table: us-east-1's price)"
    listed_line = estimate([P("aws:ec2/natGateway:NatGateway", "nat", "eu-west-1")]).lines[0]
    assert "not in the price table" not in listed_line.note


# ----------------------------------------------------------------------------- the pricers
def test_asg_uses_its_launch_template_instance_type_and_the_regions_prices():
    lt = P("aws:ec2/launchTemplate:LaunchTemplate", "lt", "sa-east-1", id="lt-1", instanceType="t3.medium",
           blockDeviceMappings=[{"ebs": {"volumeSize": 20}}])
    asg = P("aws:autoscaling/group:Group", "asg", "sa-east-1", desiredCapacity=2, launchTemplate={"id": "lt-1"})
    est = estimate([lt, asg])
    assert math.isclose(est.lines[0].usd, 2 * 0.0672 * 730, rel_tol=1e-3)
    assert math.isclose(est.lines[1].usd, 2 * 0.005 * 730, rel_tol=1e-3)
    assert "20 GB" in est.lines[2].note and math.isclose(est.lines[2].usd, 2 * 20 * 0.152, rel_tol=1e-3)
    assert est.by_region == {"sa-east-1": est.total} and est.not_priced == ()


def test_unpriced_instance_type_is_flagged():
    lt = P("aws:ec2/launchTemplate:LaunchTemplate", "lt", "us-east-1", id="lt-1", instanceType="x9.huge")
    asg = P("aws:autoscaling/group:Group", "asg", "us-east-1", minSize=2, launchTemplate={"id": "lt-1"})
    est = estimate([lt, asg])
    assert "not in the price table: priced as t3.medium" in est.lines[0].note
    assert est.lines[0].unit_usd == 0.0416


@pytest.mark.parametrize("item, expected", [
    (P("aws:lb/loadBalancer:LoadBalancer", "alb", "us-east-1", loadBalancerType="application",
       subnets=["a", "b", "c"]), (0.0225 + 0.008 + 3 * 0.005) * 730),
    (P("aws:lb/loadBalancer:LoadBalancer", "alb", "us-east-1", loadBalancerType="application"),
     (0.0225 + 0.008 + 2 * 0.005) * 730),
    (P("aws:lb/loadBalancer:LoadBalancer", "nlb", "us-east-1", loadBalancerType="network", internal=True),
     (0.0225 + 0.006) * 730),
    (P("aws:ec2/natGateway:NatGateway", "nat", "us-east-1"), 0.045 * 730 + 5 * 0.045),
    (P("aws:ec2/natGateway:NatGateway", "nat", "ap-northeast-1"), 0.062 * 730 + 5 * 0.062),
    (P("aws:ec2/eip:Eip", "eip", "ap-northeast-1", domain="vpc"), 0.005 * 730),
    (P("aws:route53/healthCheck:HealthCheck", "hc", "us-east-1", type="HTTPS"), 1.50),
    (P("aws:route53/healthCheck:HealthCheck", "hc", "us-east-1", type="HTTP"), 0.50),
    (P("aws:secretsmanager/secret:Secret", "s", "us-east-1"), 0.40),
    (P("aws:apigateway/restApi:RestApi", "api", "us-east-1"), 3.50),
    (P("aws:apigateway/restApi:RestApi", "api", "ap-northeast-1"), 4.25),
    (P("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "pcx", "us-east-1"), 0.04),
    (P("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "pcx", "sa-east-1"), 2 * 0.138),
    (P("aws:ec2/internetGateway:InternetGateway", "igw", "us-east-1", tags={"mpic:role": "perspective"}), 0.45),
    (P("aws:ec2/internetGateway:InternetGateway", "igw", "sa-east-1", tags={"mpic:role": "perspective"}), 0.75),
    (P("aws:ec2/internetGateway:InternetGateway", "igw", "us-east-1", tags={"mpic:role": "coordinator"}), 0.0),
    (P("aws:cloudwatch/eventRule:EventRule", "w", "us-east-1", scheduleExpression="rate(1 minute)"),
     43800 * (0.2e-6 + 0.1 * 0.0000166667)),
    (P("aws:cloudwatch/eventRule:EventRule", "w", "us-east-1", scheduleExpression="cron(x)"),
     8760 * (0.2e-6 + 0.1 * 0.0000166667)),
    (P("aws:eks/cluster:Cluster", "eks", "eu-west-1"), 0.10 * 730),
    (P("aws:eks/nodeGroup:NodeGroup", "nodes", "eu-west-1", instanceTypes=["t3.medium"],
       scalingConfig={"desiredSize": 3, "minSize": 3}), 3 * 0.0456 * 730 + 3 * 20 * 0.088),
    (P("aws:cloudwatch/logGroup:LogGroup", "g", "us-east-1", retentionInDays=731), 0.50 + 731 / (365 / 12) * 0.03),
    (P("aws:cloudwatch/logGroup:LogGroup", "g", "ap-northeast-1", retentionInDays=90),
     0.76 + 90 / (365 / 12) * 0.033),
    (P("aws:cloudwatch/logGroup:LogGroup", "g", "us-east-1"), 0.50 + 12 * 0.03),
])
def test_price_lines(item, expected):
    est = estimate([item])
    assert math.isclose(est.total, round(expected, 2), abs_tol=0.011)
    assert all(line.as_of == "2025-01" for line in est.lines) and est.not_priced == ()


def test_log_groups_are_priced_with_their_retention():
    audit = estimate([P("aws:cloudwatch/logGroup:LogGroup", "audit", "eu-west-1", retentionInDays=731)])
    ingest, stored = audit.lines
    assert (ingest.unit, ingest.quantity, ingest.unit_usd) == ("GB ingested", 1.0, 0.57)
    assert stored.unit == "GB-month" and stored.quantity == pytest.approx(24.03, abs=0.01)
    assert stored.note == "kept 731 days: 24.0 GB stored once full"
    forever = estimate([P("aws:cloudwatch/logGroup:LogGroup", "g", "eu-west-1")]).lines[1]
    assert forever.note.startswith("never expires: 12 months priced") and forever.quantity == 12
    more = estimate([P("aws:cloudwatch/logGroup:LogGroup", "g", "eu-west-1", retentionInDays=731)],
                    {"log_gb_per_group": 10}).lines
    assert [line.quantity for line in more] == pytest.approx([10, 240.3], abs=0.1)


def test_lambda_lines():
    persp = P("aws:lambda/function:Function", "p", "us-east-1", name="p", memorySize=1024,
              tags={"mpic:role": "perspective"})
    coord = P("aws:lambda/function:Function", "c", "us-east-1", name="c", memorySize=1024,
              tags={"mpic:role": "coordinator"})
    in_vpc = P("aws:lambda/function:Function", "v", "us-east-1", name="v", memorySize=1024,
               tags={"mpic:role": "perspective"}, vpcConfig={"subnetIds": ["s"]})
    arm = P("aws:lambda/function:Function", "a", "us-east-1", name="a", memorySize=1024, architectures=["arm64"],
            tags={"mpic:role": "perspective"}, vpcConfig={"subnetIds": ["s"]})
    pc = P("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "pc", "us-east-1",
           functionName="p", provisionedConcurrentExecutions=2)
    est = estimate([persp, coord, in_vpc, arm, pc])
    by_name = {}
    for line in est.lines:
        by_name.setdefault(line.name, []).append(line)
    # requests and compute (+ validation traffic out for a perspective outside a VPC); logs: on the log group
    assert len(by_name["p"]) == 3 and len(by_name["c"]) == 2 and len(by_name["v"]) == 2
    assert math.isclose(sum(line.usd for line in by_name["c"]), 0.2 + 1e6 * 0.8 * 0.0000166667, rel_tol=1e-3)
    assert by_name["a"][1].unit_usd == 0.0000133334 and "(arm64)" in by_name["a"][1].note
    assert math.isclose(by_name["pc"][0].usd, 2 * 730 * 3600 * 0.0000041667, rel_tol=1e-3)
    cape_town = estimate([dataclasses.replace(in_vpc, region="af-south-1")]).lines
    assert cape_town[1].unit_usd == 0.0000221 and cape_town[1].note.endswith("(x86_64)")
    assert "af-south-1 not in the price table" in cape_town[0].note  # its request price differs, not held


def test_empty_estimate():
    empty = estimate([])
    assert empty.total == 0.0 and isinstance(empty.total, float)
    assert empty.to_json() == {"total": 0.0, "by_region": {}, "price_table_date": prices.PRICE_TABLE_DATE,
                               "assumptions": usage.ASSUMPTIONS, "lines": [], "not_priced": []}
    assert estimate([P("aws:secretsmanager/secret:Secret", "s", None)]).by_region == {prices.GLOBAL: 0.4}


def test_k8s_loadbalancer_services_cost_an_nlb_and_clusterip_nothing():
    lb = Priced(type="kubernetes:core/v1:Service", name="link", region="eu-west-1",
                props={"spec": {"type": "LoadBalancer", "ports": [{"port": 8443}]}})
    cluster_ip = Priced(type="kubernetes:core/v1:Service", name="lab", region="eu-west-1",
                        props={"spec": {"type": "ClusterIP"}})
    est = estimate([lb, cluster_ip])
    assert est.total == pytest.approx((0.0252 + 0.006) * 730, abs=0.01)
    assert {line.name for line in est.lines} == {"link"} and est.not_priced == ()


# ------------------------------------------------------------------- free and not priced
def test_free_types_unknown_types_and_clusters_that_are_yours():
    items = [P("aws:iam/role:Role", "r", "us-east-1"), P("kubernetes:apps/v1:Deployment", "d", "eu-west-1"),
             P("tls:index/privateKey:PrivateKey", "k", None), P("pulumi:providers:aws", "aws-x", "us-east-1"),
             P("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "stream", "eu-west-1"),
             P("aws:dynamodb/table:Table", "t", "eu-west-1"),
             P("pulumi:providers:kubernetes", "k8s-eu-west-1", "eu-west-1"),
             P("pulumi:providers:kubernetes", "k8s-sa-east-1", "sa-east-1"),
             P("aws:eks/cluster:Cluster", "c", "sa-east-1")]
    est = estimate(items)
    assert [(n.type, n.name, n.region) for n in est.not_priced] == [
        ("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "stream", "eu-west-1"),
        ("aws:dynamodb/table:Table", "t", "eu-west-1"),
        (prices.CLUSTER_TYPE, "k8s-eu-west-1", "eu-west-1")]
    reasons = [n.reason for n in est.not_priced]
    assert "per GB delivered" in reasons[0] and reasons[1] == "type not in the price table"
    assert reasons[2].startswith("the cluster is yours")
    assert est.to_json()["not_priced"][0] == {"type": "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
                                              "name": "stream", "region": "eu-west-1",
                                              "reason": prices.USAGE_PRICED[est.not_priced[0].type]}
    assert not set(prices.FREE) & set(prices.PRICERS) and not set(prices.USAGE_PRICED) & set(prices.FREE)


def _variant(tmp_path, name: str, **changes):
    doc = yaml.safe_load((KIT_ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    for key, value in changes.items():
        doc["config"][key] = {**doc["config"].get(key, {}), **value}
    path = tmp_path / f"Pulumi.{name}-variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = plan_stack(str(path))
    assert result.run.error is None, result.run.error
    return result


@pytest.fixture(scope="module")
def variants(tmp_path_factory, artifacts):
    tmp = tmp_path_factory.mktemp("variants")
    eks = {"sa-east-1": {"eks": {"subnetIds": ["subnet-0a", "subnet-0b"], "nodeCount": 2}}}
    k8s = yaml.safe_load((KIT_ROOT / "stacks" / "Pulumi.k8s.yaml").read_text())["config"]["mpic:k8s"]
    return {"lambda-vpc-archive": _variant(tmp, "aws-lambda", **{"mpic:aws": {"dnssecVpc": True},
                                                                  "mpic:audit": {"archiveBucket": "example-ca-audit"}}),
            "hosts-archive": _variant(tmp, "aws-hosts", **{"mpic:audit": {"archiveBucket": "example-ca-audit"}}),
            "k8s-eks": _variant(tmp, "k8s", **{"mpic:k8s": {"clusters": {**k8s["clusters"], **eks}}})}


def test_every_type_the_kit_creates_is_priced_free_or_listed_as_not_priced(planned, variants):
    """So "not priced" means something: a new resource type in a component must be classified here."""
    for name, result in {**planned, **variants}.items():
        for item in result.items:
            if item.custom:
                known = item.type in prices.PRICERS or prices.is_free(item.type) or item.type in prices.USAGE_PRICED
                assert known, (name, item.type)
        assert {n.type for n in result.cost.not_priced} <= {*prices.USAGE_PRICED, prices.CLUSTER_TYPE}, name


def test_the_nat_gateways_elastic_ip_and_the_archive_are_accounted(variants):
    result = variants["lambda-vpc-archive"]
    eips = [line for line in result.cost.lines if line.type == "aws:ec2/eip:Eip"]
    assert len(eips) == 5 and all(line.usd == pytest.approx(3.65) for line in eips)
    unpriced = {(n.type.split(":")[-1], n.region) for n in result.cost.not_priced}
    assert ("FirehoseDeliveryStream", "sa-east-1") in unpriced and ("Bucket", "sa-east-1") in unpriced


def test_eks_clusters_the_stack_creates_are_priced_and_the_others_said_to_be_yours(planned, variants):
    eks = variants["k8s-eks"].cost
    sa = [line for line in eks.lines if line.region == "sa-east-1"]
    assert {line.unit for line in sa} >= {"cluster-hour", "instance-hour", "GB-month"}
    control = next(line for line in sa if line.unit == "cluster-hour")
    assert control.usd == pytest.approx(73.0) and control.unit_usd == 0.10
    nodes = next(line for line in sa if line.unit == "instance-hour")
    assert nodes.quantity == 2 * 730 and nodes.unit_usd == 4 * 0.0168  # t3.medium in sa-east-1
    yours = {n.region for n in eks.not_priced if n.type == prices.CLUSTER_TYPE}
    assert "sa-east-1" not in yours and len(yours) == 5
    assert {n.region for n in planned["k8s"].cost.not_priced} == {line.region for line in planned["k8s"].cost.lines}
    assert eks.total > planned["k8s"].cost.total + 73


def test_k8s_plan_prices_one_load_balancer_per_perspective_and_hub(planned):
    lines = [line for line in planned["k8s"].cost.lines if line.type == "kubernetes:core/v1:Service"]
    assert len({line.name for line in lines}) == 6 and planned["k8s"].cost.total > 0


def test_every_line_is_quantity_times_the_regional_unit_price(planned):
    for name, result in planned.items():
        for line in result.cost.lines:
            assert line.quantity > 0 and line.unit and line.unit_usd > 0, (name, line)
            assert math.isclose(line.usd, line.quantity * line.unit_usd, rel_tol=1e-6, abs_tol=1e-4), (name, line)
            assert line.as_of in {s.as_of for s in SOURCES.values()}, (name, line)
        doc = result.cost.to_json()
        assert len(doc["lines"]) == len(result.cost.lines) and doc["price_table_date"] == prices.PRICE_TABLE_DATE
        assert set(doc["lines"][0]) == {"region", "resource", "type", "quantity", "unit", "unit_usd", "as_of",
                                        "monthly_usd", "note"}


def test_usage_overrides_scale_the_lines_that_depend_on_them():
    fn = P("aws:lambda/function:Function", "p", "eu-west-1", memorySize=1024, tags={"mpic:role": "perspective"})
    lb = P("aws:lb/loadBalancer:LoadBalancer", "nlb", "eu-west-1", loadBalancerType="network")
    base = estimate([fn, lb])
    more = estimate([fn, lb], {"validations_per_month": 2_000_000, "hours_per_month": 365})
    by_unit = {(line.name, line.unit): line for line in more.lines}
    assert by_unit[("p", "request")].quantity == 2_000_000 and by_unit[("nlb", "LB-hour")].quantity == 365
    assert more.usage["validations_per_month"] == 2_000_000 and more.usage["perspective_egress_gb"] == 5.0
    assert base.usage == usage.ASSUMPTIONS and usage.ASSUMPTIONS["validations_per_month"] == 1_000_000


@pytest.mark.parametrize("raw,key,words", [
    ({"validations_per_mnth": 5}, "--usage.validations_per_mnth", ["did you mean validations_per_month"]),
    ({"hours": 5}, "--usage.hours", ["did you mean hours_per_month"]),
    ({"log_gb_per_function": 2}, "--usage.log_gb_per_function", ["did you mean log_gb_per_group"]),
    ({"validations_per_month": "lots"}, "--usage.validations_per_month", ["not a number"]),
    ({"validations_per_month": True}, "--usage.validations_per_month", ["not a number"]),
    ({"perspective_egress_gb": -1}, "--usage.perspective_egress_gb", [">= 0"]),
    ({"hours_per_month": 800}, "--usage.hours_per_month", ["between 0 and 744"]),
    (["x"], "--usage", ["expected a map"]),
])
def test_bad_usage_is_refused_naming_key_value_and_fix(raw, key, words):
    with pytest.raises(ConfigError) as err:
        usage.usage_from(raw)
    assert err.value.key == key and err.value.fix
    for word in words:
        assert word in str(err.value)
