"""``plan.suggest.repair``: the closest compliant set to a config keeps the most regions, is
compliant, and is exactly what the ``mpic suggest`` request it carries answers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import compliance as c
from config.catalog import lookup
from config.errors import ConfigError
from config.model import StackConfig
from plan.suggest import suggest
from plan.suggest.model import adhoc_config
from plan.suggest.repair import REGION_RULES, repair
from tests.plan.test_suggest import AWS, CATALOG, DAY, _monthly, assert_compliant, req


def _cfg(codes, primary="us-west-2", **kw):
    return StackConfig.from_config({"perspectives": codes, "primary": primary, "asOf": DAY, **kw})


def test_repair_keeps_as_many_regions_as_possible():
    codes = ["us-east-1", "us-east-2", "eu-west-1", "eu-west-2", "ap-northeast-1"]
    s = repair(_cfg(codes))
    assert s is not None and len(s.codes) == 5
    kept = [code for code in codes if code in s.codes]
    assert len(kept) == 3 and len(s.replaced) == 2
    assert {old for old, _ in s.replaced} == set(codes) - set(kept)
    assert [code for code in s.codes if code in codes] == kept  # the config's order, replacements in place
    for old, new in s.replaced:
        assert s.codes.index(new) == codes.index(old)
        assert "kept from the current config" not in s.reasons[new]
    assert all("kept from the current config" in s.reasons[code] for code in kept)
    # no compliant set keeps 4: every 4 of the originals is infeasible as an include
    for four in itertools.combinations(codes, 4):
        with pytest.raises(ConfigError):
            suggest(req(5, primary=lookup("us-west-2"), include=four))
    assert_compliant(s, req(5, primary=lookup("us-west-2")))


def test_repair_of_a_compliant_region_set_is_none():
    assert repair(_cfg(["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"])) is None
    # an R6 finding is not a region problem
    cfg = _cfg(["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"],
               resolvers={"eu-west-1": {"address": "8.8.8.8"}})
    assert not c.check_stack(cfg).compliant and repair(cfg) is None


def test_repair_grows_a_set_below_the_r3_minimum_and_fixes_r5():
    s = repair(_cfg(["eu-west-1", "eu-central-1", "eu-north-1", "il-central-1"], primary="us-east-1"))
    assert s is not None and len(s.codes) == 5 and s.codes[:3] == ("eu-west-1", "eu-central-1", "eu-north-1")
    assert ("", s.codes[4]) in s.replaced or any(old == "" for old, _ in s.replaced)
    assert_compliant(s, req(5, primary=lookup("us-east-1")))
    one_rir = repair(_cfg(["eu-west-1", "eu-central-1", "eu-north-1", "il-central-1", "eu-south-2"],
                          primary="us-east-1"))
    assert one_rir is not None and len(one_rir.rirs) >= 2 and len(one_rir.replaced) >= 1


def test_repair_keeps_a_custom_site_and_honours_providers():
    site = {"name": "dc-frankfurt", "lat": 50.11, "lon": 8.68, "rir": "RIPE NCC"}
    cfg = StackConfig.from_config({"perspectives": [site, "eu-central-1", "us-east-1", "ap-northeast-1",
                                                    "sa-east-1"], "asOf": DAY})
    s = repair(cfg, providers={"aws", "gcp"}, no_opt_in=True)
    assert s is not None and "dc-frankfurt" in s.codes or "eu-central-1" in s.codes
    assert all(CATALOG[code].provider in {"aws", "gcp"} and not CATALOG[code].opt_in
               for code in s.codes if code in CATALOG)
    assert c.check_stack(adhoc_config(s.perspectives, None, DAY)).compliant


def test_repair_impossible_is_a_config_error():
    # 14 AWS regions enabled by default never fit pairwise >= 500 km around us-east-1
    codes = [code for code, loc in CATALOG.items() if loc.provider == "aws" and not loc.opt_in
             and code != "us-east-1"][:14]
    with pytest.raises(ConfigError) as err:
        repair(_cfg(codes, primary="us-east-1"), no_opt_in=True)
    assert err.value.key == "mpic:perspectives" and "no compliant set of 14" in str(err.value)


def test_repair_under_a_budget():
    codes = ["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]
    costs = _monthly(AWS)
    unbounded = repair(_cfg(codes), region_monthly_usd=costs)
    assert len(set(unbounded.codes) & set(codes)) == 4 and unbounded.monthly_usd > 600.0
    # keeping 4 costs >= 500 (us-east-1|2, eu-west-1, ap-northeast-1, sa-east-1) and the only region
    # at $100 left (us-east-2|1) is too close: the budget forces a third replacement
    s = repair(_cfg(codes), region_monthly_usd=costs, max_monthly_usd=600.0)
    assert s is not None and s.monthly_usd <= 600.0 and len(set(s.codes) & set(codes)) == 3


def test_repair_under_a_budget_keeps_no_unpriced_region():
    codes = ["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]
    costs = {code: usd for code, usd in _monthly(AWS).items() if code != "eu-west-1"}
    s = repair(_cfg(codes), region_monthly_usd=costs, max_monthly_usd=1e6)
    assert s is not None and "eu-west-1" not in s.codes and all(code in costs for code in s.codes)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(AWS), min_size=5, max_size=5, unique=True), st.sampled_from(["us-east-1", "eu-west-1"]))
def test_repair_is_compliant_and_keeps_the_most_regions(codes, primary):
    if primary in codes:
        return
    cfg = _cfg(codes, primary=primary)
    s = repair(cfg)
    if s is None:
        assert not any(f.rule in REGION_RULES for f in c.check_stack(cfg).violations)
        return
    assert_compliant(s, req(5, primary=lookup(primary)))
    kept = [code for code in codes if code in s.codes]
    assert len(s.replaced) == 5 - len(kept)
    for more in itertools.combinations(codes, len(kept) + 1):  # keeping one more is impossible
        with pytest.raises(ConfigError):
            suggest(req(5, primary=lookup(primary), include=more))


REPRODUCE = [
    (["us-east-1", "us-east-2", "eu-west-1", "eu-west-2", "ap-northeast-1"], "us-west-2"),
    (["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"], "us-west-2"),
    (["eu-west-1", "eu-central-1", "eu-north-1", "il-central-1"], "us-east-1"),
    (["eu-west-1", "eu-central-1", "eu-north-1", "il-central-1", "eu-south-2"], "us-east-1"),
    (["ap-northeast-1", "ap-northeast-3", "ap-southeast-1", "ap-southeast-5", "sa-east-1", "eu-west-3"], None),
]


@pytest.mark.parametrize("codes,primary", REPRODUCE)
def test_the_request_of_a_repair_reproduces_it_with_suggest(codes, primary):
    cfg = StackConfig.from_config({"perspectives": codes, "asOf": DAY, **({"primary": primary} if primary else {})})
    s = repair(cfg)
    assert s is not None and s.request is not None and s.proven_optimal
    again = suggest(s.request)
    assert sorted(again.codes) == sorted(s.codes)
    assert set(s.request.include) == {code for code in codes if code in s.codes}
    assert s.request.exclude == frozenset(code for code in codes if code not in s.codes)


def test_a_repair_that_keeps_a_custom_site_has_no_request():
    site = {"name": "dc-frankfurt", "lat": 50.11, "lon": 8.68, "rir": "RIPE NCC"}
    cfg = StackConfig.from_config({"perspectives": [site, "us-east-1", "us-east-2", "ap-northeast-1", "sa-east-1"],
                                   "asOf": DAY})
    s = repair(cfg)
    assert s is not None and "dc-frankfurt" in s.codes and s.request is None


def test_a_repair_whose_budget_ends_before_any_set_is_refused(monkeypatch):
    from plan.suggest import repair as suggest_repair

    monkeypatch.setattr(suggest_repair, "phase_a", lambda problem, clock: (None, False, False))
    with pytest.raises(ConfigError, match="time budget"):
        repair(_cfg(["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]))


def test_a_repair_skips_kept_sets_with_too_few_candidates_around_them():
    # with --no-opt-in and us-east-1 as primary, keeping both eu regions leaves too few far regions
    codes = ["eu-west-1", "eu-central-1", "eu-north-1", "ap-northeast-1", "ap-northeast-3", "sa-east-1"]
    s = repair(_cfg(codes, primary="us-east-1"), no_opt_in=True)
    assert s is not None and len(s.codes) == 6 and not any(CATALOG[c].opt_in for c in s.codes)
