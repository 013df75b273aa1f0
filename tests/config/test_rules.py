"""BR 3.2.2.9 rules, one table per rule, on real region pairs and both sides of every date."""

from __future__ import annotations

import datetime as dt

import pytest

from config import br
from config import compliance as c
from config.model import StackConfig

GOOD5 = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]


def cfg(perspectives=GOOD5, primary="us-east-1", **raw):
    raw = {"perspectives": perspectives, **raw}
    if primary is not None:
        raw["primary"] = primary
    return StackConfig.from_config(raw, name="t")


def r1_violations(config):
    """R1's violations (its one function also warns when mpic:primary is unset)."""
    return [f for f in c.rule_r1_distance(config) if f.severity == "violation"]


def rules(report, rule, severity=None):
    return [f for f in report.findings if f.rule == rule and (severity is None or f.severity == severity)]


# ---------------------------------------------------------------- R1 distance
@pytest.mark.parametrize("pair", [
    ("ap-southeast-1", "ap-southeast-5"), ("eu-west-1", "eu-west-2"), ("eu-west-3", "eu-central-1"),
    ("eu-west-3", "eu-central-2"), ("eu-central-2", "eu-south-1"), ("ap-northeast-1", "ap-northeast-3"),
    ("me-south-1", "me-central-1"), ("us-east-1", "us-east-2"),
])
def test_r1_flags_every_pair_under_500_km(pair):
    found = r1_violations(cfg(list(pair), primary=None))
    assert [f.regions for f in found] == [pair]
    assert found[0].severity == "violation" and found[0].distance_km < 500
    assert "BR 3.2.2.9 needs >= 500 km" in found[0].message


@pytest.mark.parametrize("pair", [("eu-central-1", "eu-south-1"), ("ap-south-1", "ap-south-2"),
                                  ("eu-west-2", "eu-central-1")])
def test_r1_passes_pairs_just_over_500_km(pair):
    assert r1_violations(cfg(list(pair), primary=None)) == []


def test_r1_counts_the_primary_perspective():
    found = c.rule_r1_distance(cfg(["us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]))
    assert len(found) == 1 and found[0].regions == ("us-east-1", "us-east-2")
    assert "primary us-east-1" in found[0].message
    assert "Replace us-east-2 with" in found[0].message  # never suggests moving the CA's primary


def test_r1_custom_site_primary_just_under_and_over():
    # A site 4.45 degrees of latitude (~494 km) north of Ashburn, then 4.55 degrees (~505 km).
    near = {"name": "dc", "lat": 39.04 + 4.45, "lon": -77.49, "rir": "ARIN"}
    far = {"name": "dc", "lat": 39.04 + 4.55, "lon": -77.49, "rir": "ARIN"}
    assert len(c.rule_r1_distance(cfg(["us-east-1", "eu-west-1"], primary=near))) == 1
    assert c.rule_r1_distance(cfg(["us-east-1", "eu-west-1"], primary=far)) == []


def test_r2_suggestion_names_a_region_that_satisfies_every_rule():
    config = cfg(["us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"])
    options = c.suggest_replacements(config, config.perspectives[0])
    assert options, "a replacement exists"
    fixed_codes = [options[0][0].code] + list(config.codes[1:])
    fixed = cfg(fixed_codes, asOf="2026-12-15")
    assert c.check_stack(fixed).compliant
    assert options[0][0].code in c.fix_text(config, config.perspectives[0])
    assert all(not o.opt_in and o.provider == "aws" for o, _ in options)


def test_r1_fix_names_no_region_to_add_the_repair_does():
    found = r1_violations(cfg(["eu-west-2", "eu-west-1", "eu-west-3", "us-west-2"], primary=None))
    assert {f.regions for f in found} == {("eu-west-2", "eu-west-1"), ("eu-west-2", "eu-west-3")}
    # which region replaces them is the one repaired set's (plan.suggest.advice), never a rule's own pick
    assert [f.fix for f in found] == [
        f"Replace eu-west-2 or eu-west-1 with a region >= 500 km from every other perspective ({c.REPAIR_HINT}).",
        f"Replace eu-west-2 or eu-west-3 with a region >= 500 km from every other perspective ({c.REPAIR_HINT}).",
    ]
    assert all(f.problem + " " + f.fix == f.message for f in found)


def test_fix_says_remove_when_no_region_fits():
    # Every catalog region is within 525 km of some perspective or the pool breaks another rule:
    # use a pool of every non-opt-in AWS region.
    from config.catalog import load_catalog

    pool = [r.code for r in load_catalog().values() if r.provider == "aws" and not r.opt_in]
    config = cfg(pool, primary=None)
    assert c.suggest_replacements(config, config.perspectives[0]) == []
    assert "Remove" in c.fix_text(config, config.perspectives[0])


# ---------------------------------------------------------------- R2 borderline
def test_r2_warns_within_margin():
    found = c.rule_r2_borderline(cfg(["eu-central-1", "eu-south-1"], primary=None))
    assert len(found) == 1 and found[0].severity == "warning" and found[0].distance_km == pytest.approx(518, abs=1)
    assert c.rule_r2_borderline(cfg(["eu-central-1", "eu-south-1"], primary=None, borderlineMarginKm=10)) == []
    assert c.rule_r2_borderline(cfg(["ap-south-1", "ap-south-2"], primary=None)) == []
    assert len(c.rule_r2_borderline(cfg(["ap-south-1", "ap-south-2"], primary=None, borderlineMarginKm=150))) == 1


# ---------------------------------------------------------------- R3 count by date
@pytest.mark.parametrize("day, sized", [
    ("2026-12-07", "2027-01-06"),  # the phase-in of 12-15 is inside the 30-day look-ahead
    ("2026-07-01", "2026-12-15"),  # the next phase-in is later than the look-ahead: sized for it
    ("2027-05-01", "2027-05-31"),  # no phase-in left: the look-ahead alone
])
def test_a_set_is_sized_for_the_look_ahead_and_the_next_phase_in(day, sized):
    on = dt.date.fromisoformat(day)
    assert br.sizing_date(on) == dt.date.fromisoformat(sized)
    days = [on + dt.timedelta(days=k) for k in range((br.sizing_date(on) - on).days + 1)]
    assert br.min_remote_perspectives(br.sizing_date(on)) == max(map(br.min_remote_perspectives, days))


@pytest.mark.parametrize("day,need", [
    ("2025-03-14", 0), ("2025-03-15", 2), ("2026-03-14", 2), ("2026-03-15", 3),
    ("2026-06-14", 3), ("2026-06-15", 4), ("2026-12-14", 4), ("2026-12-15", 5), ("2030-01-01", 5),
])
def test_r3_minimum_by_phase(day, need):
    on = dt.date.fromisoformat(day)
    assert c.min_remote_perspectives(on) == need
    if need:
        assert c.rule_r3_count(cfg(GOOD5[: need - 1] if need > 1 else GOOD5[:1]), on)[0].severity == "violation"
    enough = cfg(GOOD5[: max(need, 1)])
    assert [f for f in c.rule_r3_count(enough, on) if f.severity == "violation"] == []


def test_r3_lookahead_names_the_next_breaking_date():
    found = c.rule_r3_count(cfg(GOOD5[:4]), dt.date(2026, 7, 1))
    assert len(found) == 1 and found[0].severity == "warning"
    assert "2026-12-15" in found[0].message and "2026-12-14" in found[0].message and "167 days" in found[0].message
    three = c.rule_r3_count(cfg(GOOD5[:3]), dt.date(2026, 3, 20))
    assert "2026-06-15" in three[0].message  # the *next* date that breaks, not the last
    assert c.rule_r3_count(cfg(GOOD5), dt.date(2026, 7, 1)) == []


def test_r3_uses_the_per_attempt_count_not_the_pool():
    found = c.rule_r3_count(cfg(GOOD5 + ["ap-south-1"], perspectiveCount=4), dt.date(2026, 12, 15))
    assert found[0].severity == "violation" and "4 remote perspectives" in found[0].message


# ---------------------------------------------------------------- R4 quorum table
@pytest.mark.parametrize("n,allowed", [(1, 0), (2, 1), (3, 1), (5, 1), (6, 2), (7, 2), (12, 2)])
def test_r4_allowed_non_corroborations(n, allowed):
    assert c.allowed_non_corroborations(n) == allowed
    assert c.required_quorum(n) == n - allowed


@pytest.mark.parametrize("pool,quorum,ok", [
    (GOOD5, 4, True), (GOOD5, 5, True), (GOOD5, 3, False),
    (GOOD5 + ["ap-south-1"], 4, True), (GOOD5 + ["ap-south-1"], 3, False),
    (GOOD5[:2], 1, True), (GOOD5[:2], 2, True), (GOOD5[:3], 1, False), (GOOD5[:3], 2, True),
])
def test_r4_quorum_edges(pool, quorum, ok):
    found = c.rule_r4_quorum(cfg(pool, quorum=quorum), dt.date(2026, 12, 15))
    assert (found == []) is ok
    if not ok:
        assert found[0].severity == "violation" and f"Set mpic:quorum to {c.required_quorum(len(pool))}" in found[0].message


def test_r4_is_advisory_before_2025_09_15():
    assert c.rule_r4_quorum(cfg(GOOD5, quorum=3), dt.date(2025, 9, 14))[0].severity == "warning"
    assert c.rule_r4_quorum(cfg(GOOD5, quorum=3), dt.date(2025, 9, 15))[0].severity == "violation"
    assert c.rule_r4_quorum(cfg(GOOD5[:1], quorum=1), dt.date(2026, 1, 1)) == []


# ---------------------------------------------------------------- R5 RIRs
ARIN_ONLY = ["us-east-1", "us-west-2", "ca-central-1", "us-west-1", "ca-west-1"]


def test_r5_single_rir_pool_is_a_violation_from_2026_03_15():
    config = cfg(ARIN_ONLY, primary=None)
    assert c.rule_r5_rir(config, dt.date(2026, 3, 15))[0].severity == "violation"
    assert c.rule_r5_rir(config, dt.date(2026, 3, 14))[0].severity == "warning"
    assert "ARIN" in c.rule_r5_rir(config, dt.date(2026, 3, 15))[0].message


def test_r5_robustness_warning():
    # 4 of 5 in ARIN with quorum 4: one failure outside ARIN leaves only ARIN passing.
    fragile = cfg(["us-east-1", "us-west-2", "ca-central-1", "us-west-1", "eu-west-1"], primary=None)
    found = c.rule_r5_rir(fragile, dt.date(2026, 12, 15))
    assert found[0].severity == "warning" and "4 of 5" in found[0].message
    # 3 of 5 in one RIR is robust to one failure (3 <= 5 - 1 - 1)
    assert c.rule_r5_rir(cfg(["us-east-1", "us-west-2", "ca-central-1", "eu-west-1", "ap-northeast-1"], primary=None),
                         dt.date(2026, 12, 15)) == []


# ---------------------------------------------------------------- R6 resolvers
@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "9.9.9.9", "2606:4700:4700::1111"])
def test_r6_public_anycast_resolver_is_a_violation(address):
    found = c.rule_r6_resolvers(cfg(resolvers={"eu-west-1": {"address": address}}))
    assert len(found) == 1 and found[0].rule == "R6" and address in found[0].message


def test_r6_resolver_in_another_rir():
    found = c.rule_r6_resolvers(cfg(resolvers={"eu-west-1": {"location": "us-east-2"}}))
    assert any("RIPE NCC" in f.message and "ARIN" in f.message for f in found)


def test_r6_resolvers_must_be_500_km_apart_and_not_shared():
    # eu-west-1's resolver moved to London: fine alone (same RIR) ...
    assert c.rule_r6_resolvers(cfg(resolvers={"eu-west-1": {"location": "eu-west-2"}})) == []
    # ... but two perspectives' resolvers both near London are too close.
    config = cfg(["eu-west-1", "eu-north-1", "us-west-2", "ap-northeast-1", "sa-east-1"],
                 resolvers={"eu-west-1": {"location": "eu-west-2"}, "eu-north-1": {"location": "eu-west-3"}})
    found = c.rule_r6_resolvers(config)
    assert [f.regions for f in found] == [("eu-west-1", "eu-north-1")] and found[0].distance_km < 500
    shared = c.rule_r6_resolvers(cfg(resolvers={"eu-west-1": {"address": "10.1.1.1"},
                                                "us-west-2": {"address": "10.1.1.1"}}))
    assert len(shared) == 1 and "share the resolver" in shared[0].message


def test_r6_default_colocated_resolvers_pass():
    assert c.rule_r6_resolvers(cfg()) == []


# ---------------------------------------------------------------- regions, diversity
def test_opt_in_regions_warn_for_cloud_targets_only():
    assert c.rule_regions(cfg(target="local")) == []
    found = c.rule_regions(cfg(target="aws-hosts"))
    assert [f.regions for f in found] == [("af-south-1",)] and "opt-in" in found[0].message


def test_single_provider_advisory():
    assert c.rule_provider_diversity(cfg())[0].rule == "DIVERSITY"
    mixed = cfg(["us-west-2", "gcp-europe-west1", "ap-northeast-1", "sa-east-1", "af-south-1"])
    assert c.rule_provider_diversity(mixed) == []


# ---------------------------------------------------------------- the whole check
def test_acceptance_examples():
    bad = cfg(["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"], primary="us-west-2",
              asOf="2026-12-15")
    report = c.check_stack(bad)
    assert not report.compliant
    assert [v.regions for v in report.violations if v.rule == "R1"] == [("us-east-1", "us-east-2")]
    good = cfg(["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"], asOf="2026-12-15")
    assert c.check_stack(good).compliant
    four = cfg(["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1"], asOf="2026-12-15")
    assert [v.rule for v in c.check_stack(four).violations] == ["R3"]
    early = c.check_stack(four.model_copy(update={"as_of": dt.date(2026, 7, 1)}))
    assert early.compliant and any(w.rule == "R3" for w in early.warnings)


def test_report_json_shape():
    report = c.check_stack(cfg(["us-east-2", "eu-west-1"], asOf="2026-12-15"))
    data = report.to_json()
    assert set(data) >= {"compliant", "as_of", "violations", "warnings", "perspectives"}
    assert data["as_of"] == "2026-12-15" and data["compliant"] is False
    for f in data["violations"] + data["warnings"]:
        assert set(f) == {"rule", "message", "regions", "distance_km", "fix"}
        assert f["message"].endswith(f["fix"])
        assert isinstance(f["regions"], list) and (f["distance_km"] is None or isinstance(f["distance_km"], float))
    assert data["perspectives"][0] == {"code": "us-east-2", "city": "Columbus, OH", "rir": "ARIN",
                                       "lat": 39.96, "lon": -83.0}


def test_missing_primary_is_a_warning_for_local_and_ad_hoc_checks():
    report = c.check_stack(cfg(primary=None, asOf="2026-12-15"))
    assert report.compliant and any("mpic:primary: not set" in w.message for w in report.warnings)


@pytest.mark.parametrize("target", ["aws-hosts", "aws-lambda", "k8s"])
def test_missing_primary_is_a_violation_for_a_stack_deploying_to_a_cloud(target):
    report = c.check_stack(cfg(primary=None, asOf="2026-12-15", target=target))
    found, = [v for v in report.violations if v.rule == "R1"]
    assert not report.compliant and found.message.startswith("mpic:primary: not set")
    assert f"a stack deploying to {target} must name it" in found.message and "Set mpic:primary" in found.message


def test_format_report_and_neighbours():
    config = cfg(["us-east-2", "eu-west-1"], asOf="2026-12-15")
    report = c.check_stack(config)
    text = c.format_report(report, config)
    assert text.startswith("VIOLATION R1") and "NOT compliant" in text and "2026-12-15" in text
    near = c.nearest_neighbours(config)
    assert near["us-east-1"][0] == "us-east-2" and near["eu-west-1"][0] == "us-east-1"


def test_k8s_lab_mode_is_never_compliant():
    lab = cfg(target="k8s", complianceMode="testing", asOf="2026-12-15", k8s={"labMode": True})
    report = c.check_stack(lab)
    assert not report.compliant
    assert any("labMode" in v.message for v in report.violations)
    assert not [f for f in c.rule_r1_distance(cfg(target="k8s", k8s={"labMode": False})) if "labMode" in f.message]
