"""``plan.cost_diff``: the monthly difference of two plans by region, in total and resource by
resource, and a saved ``mpic plan --json`` read back as the base."""

from __future__ import annotations

import json

import pytest

from config.errors import ConfigError
from plan.cost_diff import PlannedResource, cost_diff, from_plan_json, planned_cost, resource_changes
from plan.prices import Priced, estimate


def P(type_, name_, region, **props):
    return Priced(type=type_, name=name_, region=region, props=props)


SECRET = "aws:secretsmanager/secret:Secret"
ROLE = "aws:iam/role:Role"
NAT = "aws:ec2/natGateway:NatGateway"


def side(stack, items, usage=None):
    est = estimate(items, usage)
    return planned_cost(stack, [(i.type, i.name, i.region) for i in items], est)


def test_by_region_total_and_resource_by_resource():
    base = side("base", [P(SECRET, "s", "us-east-1"), P(ROLE, "r", "us-east-1"), P(NAT, "nat", "eu-west-1"),
                         P(ROLE, "old", "eu-west-1")])
    head = side("head", [P(SECRET, "s", "eu-west-1"), P(SECRET, "t", "eu-west-1"), P(ROLE, "r", "us-east-1"),
                         P(NAT, "nat", "eu-west-1"), P(ROLE, "new", None)])
    diff = cost_diff(base, head)
    nat = round(0.048 * 730 + 5 * 0.048, 2)
    assert diff["total"] == {"base": round(0.4 + nat, 2), "stack": round(0.8 + nat, 2), "delta": 0.4}
    assert diff["by_region"] == {"eu-west-1": {"base": nat, "stack": round(0.8 + nat, 2), "delta": 0.8},
                                 "us-east-1": {"base": 0.4, "stack": 0.0, "delta": -0.4}}
    # s moved region at the same price: unchanged; the NAT and r: unchanged, left out
    assert diff["resources"] == [
        {"change": "+", "type": SECRET, "name": "t", "region": "eu-west-1", "base_usd": 0.0, "stack_usd": 0.4},
        {"change": "+", "type": ROLE, "name": "new", "region": "global", "base_usd": 0.0, "stack_usd": 0.0},
        {"change": "-", "type": ROLE, "name": "old", "region": "eu-west-1", "base_usd": 0.0, "stack_usd": 0.0},
    ]
    assert diff["assumptions_differ"] == []


def test_a_changed_price_is_a_tilde_and_the_largest_change_comes_first():
    base = side("a", [P(NAT, "nat", "us-east-1"), P(SECRET, "s", "us-east-1")])
    head = side("a", [P(NAT, "nat", "us-east-1")], {"nat_processed_gb": 105})
    rows = resource_changes(base, head)
    assert [(r["change"], r["name"]) for r in rows] == [("~", "nat"), ("-", "s")]
    assert rows[0]["stack_usd"] - rows[0]["base_usd"] == pytest.approx(100 * 0.045, abs=0.01)
    assert cost_diff(base, head)["assumptions_differ"] == ["nat_processed_gb"]


def test_lines_of_resources_not_listed_still_count():
    """A side made of cost lines alone (no resource list) diffs by its lines."""
    base = planned_cost("a", [], estimate([P(SECRET, "s", "us-east-1")]))
    head = planned_cost("a", [], estimate([]))
    assert resource_changes(base, head) == [{"change": "-", "type": SECRET, "name": "s", "region": "us-east-1",
                                             "base_usd": 0.4, "stack_usd": 0.0}]


def _saved(items, stack="aws-lambda", usage=None) -> dict:
    est = estimate(items, usage)
    resources = [{"type": i.type, "name": i.name, "region": i.region, "parent": None, "inputs": {}} for i in items]
    return json.loads(json.dumps({"stack": stack, "compliant": True, "resources": resources,
                                  "monthly_cost_usd": est.to_json()}))


def test_a_saved_plan_reads_back_to_the_same_costs():
    items = [P(NAT, "nat", "ap-northeast-1"), P(SECRET, "s", "us-east-1"), P(ROLE, "r", None),
             P("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "f", "eu-west-1")]
    saved = from_plan_json(_saved(items, usage={"nat_processed_gb": 7}), "base.json")
    fresh = side("aws-lambda", items, {"nat_processed_gb": 7})
    assert saved.stack == "aws-lambda" and saved.source == "base.json"
    assert saved.cost.total == fresh.cost.total and saved.cost.by_region == fresh.cost.by_region
    assert saved.cost.lines == fresh.cost.lines and saved.cost.not_priced == fresh.cost.not_priced
    assert PlannedResource(ROLE, "r", "global") in saved.resources
    same = cost_diff(saved, fresh)
    assert same["total"]["delta"] == 0.0 and same["resources"] == [] and same["assumptions_differ"] == []


def test_a_saved_plan_of_an_older_kit_without_dates_or_not_priced_reads():
    doc = _saved([P(SECRET, "s", "us-east-1")])
    for line in doc["monthly_cost_usd"]["lines"]:
        del line["as_of"], line["quantity"]
    del doc["monthly_cost_usd"]["not_priced"], doc["monthly_cost_usd"]["assumptions"]
    saved = from_plan_json(doc, "old.json")
    assert saved.cost.total == 0.4 and saved.cost.lines[0].as_of == "" and saved.cost.usage == {}


@pytest.mark.parametrize("doc, words", [
    ([1, 2], "expected a JSON object, got list"),
    ({"error": {"key": "stack", "message": "x"}}, "is an error report, not a plan"),
    ({"stack": "x", "compliant": True}, "the object has no monthly_cost_usd"),
    ({"stack": "x", "monthly_cost_usd": {"lines": []}}, "the object has no resources"),
    ({"monthly_cost_usd": {"lines": []}, "resources": []}, "the object has no stack"),
    ({"stack": "x", "resources": [{"name": "n"}], "monthly_cost_usd": {"lines": []}}, "resources[0] has no type"),
    ({"stack": "x", "resources": [], "monthly_cost_usd": {"lines": [{"region": "r", "type": "t", "resource": "n",
                                                                       "monthly_usd": "1"}]}},
     "monthly_cost_usd.lines[0] has no monthly_usd"),
    ({"stack": "x", "resources": [], "monthly_cost_usd": {"lines": [{"region": "r", "type": "t", "resource": "n",
                                                                       "monthly_usd": True}]}},
     "monthly_cost_usd.lines[0] has no monthly_usd"),
])
def test_anything_but_a_saved_plan_is_refused_naming_the_file_and_the_fix(doc, words):
    with pytest.raises(ConfigError) as err:
        from_plan_json(doc, "saved.json")
    assert err.value.key == "--diff" and err.value.value == "saved.json"
    assert words in str(err.value) and "saved.json" in str(err.value)
    assert "mpic plan BASE_STACK --json > FILE.json" in err.value.fix
