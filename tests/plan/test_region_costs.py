"""``plan.region_costs``: one perspective region's monthly cost equals what ``mpic plan`` prices
for that region of a stack with the same settings (without running the program)."""

from __future__ import annotations

import pytest
import yaml

from config.catalog import load_catalog, lookup
from config.errors import ConfigError
from config.stackfile import load_stack
from preview.mocks import KIT_ROOT
from preview.engine import plan_stack
from plan.region_costs import perspective_resources, region_monthly_usd


def _perspective_costs(result, cfg):
    return {code: result.cost.by_region[code] for code in cfg.codes}


@pytest.mark.parametrize("name", ["aws-hosts", "aws-lambda"])
def test_equals_the_plan_of_the_example_stacks(planned, name):
    cfg = load_stack(name)
    expected = _perspective_costs(planned[name], cfg)
    got = region_monthly_usd(cfg.target, cfg.perspectives, cfg.aws, cfg.perspective_replicas)
    assert got == pytest.approx(expected, abs=0.011)


@pytest.mark.parametrize("changes", [{"dnssecVpc": True, "coldStart": "provisioned", "provisionedConcurrency": 2},
                                     {"coldStart": "none", "lambdaMemoryMb": 512}])
def test_equals_the_plan_of_lambda_variants(tmp_path, changes):
    doc = yaml.safe_load((KIT_ROOT / "stacks" / "Pulumi.aws-lambda.yaml").read_text())
    doc["config"]["mpic:aws"] = {**doc["config"].get("mpic:aws", {}), **changes}
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_stack(str(path))
    result = plan_stack(str(path))
    assert result.run.error is None
    got = region_monthly_usd("aws-lambda", cfg.perspectives, cfg.aws)
    assert got == pytest.approx(_perspective_costs(result, cfg), abs=0.011)


def test_usage_and_region_factor_move_the_price():
    sa, us = lookup("sa-east-1"), lookup("us-east-1")
    base = region_monthly_usd("aws-hosts", [sa, us])
    assert base["sa-east-1"] > base["us-east-1"] > 0
    half = region_monthly_usd("aws-hosts", [us], usage={"hours_per_month": 365})
    assert half["us-east-1"] < base["us-east-1"]


def test_other_providers_are_not_priced_and_other_targets_are_refused():
    catalog = load_catalog()
    priced = region_monthly_usd("aws-lambda", catalog.values())
    assert set(priced) == {code for code, loc in catalog.items() if loc.provider == "aws"}
    with pytest.raises(ConfigError) as err:
        region_monthly_usd("k8s", [])
    assert err.value.key == "--target" and "aws-hosts" in err.value.fix
    with pytest.raises(ConfigError):
        perspective_resources("local", "us-east-1")
