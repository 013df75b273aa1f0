"""``config.exhibit``: a region set's verdict over time and its pairwise distances, on real sets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from config import br
from config.catalog import lookup
from config.compliance import check_stack
from config.exhibit import CHANGE_DATES, MAX_NAMED, pairwise_km, verdict, violating_pairs
from config.geo import distance_km
from config.model import StackConfig

GOOD4 = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]
GOOD5 = [*GOOD4, "af-south-1"]


def cfg(perspectives, primary="us-east-1", as_of="2026-11-28", **raw) -> StackConfig:
    return StackConfig.from_config({"perspectives": perspectives, "primary": primary, "asOf": as_of, **raw}, name="t")


def on(day: str, config: StackConfig) -> bool:
    return check_stack(config.model_copy(update={"as_of": dt.date.fromisoformat(day)})).compliant


def test_the_change_dates_are_every_date_a_requirement_grows():
    assert CHANGE_DATES == (dt.date(2025, 3, 15), dt.date(2025, 9, 15), dt.date(2026, 3, 15), dt.date(2026, 6, 15),
                            dt.date(2026, 12, 15))
    assert set(CHANGE_DATES) == {d for d, _ in br.MIN_REMOTE_PHASES} | {br.QUORUM_EFFECTIVE, br.RIR_EFFECTIVE}


def test_four_remotes_are_compliant_until_the_day_before_the_five_remote_phase_in():
    config = cfg(GOOD4)
    v = verdict(config)
    assert v.compliant and v.as_of == dt.date(2026, 11, 28)
    assert v.until == dt.date(2026, 12, 14) and v.breaks_on == dt.date(2026, 12, 15)
    assert on("2026-12-14", config) and not on("2026-12-15", config)  # the boundary, by mpic check's own report
    assert v.text == "compliant until 2026-12-14 (from 2026-12-15: R3 4 remote perspectives < 5)"
    assert v.to_json() == {"text": v.text, "compliant": True, "as_of": "2026-11-28", "compliant_until": "2026-12-14",
                           "breaks_on": "2026-12-15"}


def test_a_set_that_meets_every_phase_in_is_compliant_from_its_date():
    v = verdict(cfg(GOOD5, as_of="2026-12-15"))
    assert v.compliant and v.until is None and v.breaks_on is None
    assert v.text == "compliant from 2026-12-15 (every announced BR 3.2.2.9 phase-in met)"


def test_a_violation_names_the_pair_and_its_distance():
    config = cfg(["eu-west-2", "eu-west-3", "us-west-2", "ap-northeast-1", "sa-east-1"], primary="us-east-2")
    v = verdict(config)
    assert not v.compliant and v.until is None and v.breaks_on == v.as_of
    assert v.text == "NOT compliant as of 2026-11-28: R1 eu-west-2 - eu-west-3 344 km < 500 km"
    assert violating_pairs(v.report) == [("eu-west-2", "eu-west-3", pytest.approx(343.84, abs=0.01))]


def test_a_single_rir_pair_is_compliant_until_the_rir_rule_and_the_three_remote_phase_in():
    v = verdict(cfg(["eu-west-1", "eu-north-1"], primary="eu-central-1", as_of="2026-01-01"))
    assert v.until == dt.date(2026, 3, 14)
    assert v.text.startswith("compliant until 2026-03-14 (from 2026-03-15: R3 2 remote perspectives < 3; R5 ")


def test_many_violations_are_counted_past_the_named_ones():
    europe = ["eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-south-1"]
    v = verdict(cfg(europe, primary="eu-west-1"))
    r1 = [f for f in v.report.violations if f.rule == "R1"]
    assert len(v.report.violations) > MAX_NAMED
    assert v.text.count(" km < 500 km") == MAX_NAMED
    assert v.text.endswith(f"; and {len(v.report.violations) - MAX_NAMED} more")
    assert len(violating_pairs(v.report)) == len(r1)


def test_a_missing_primary_on_a_cloud_target_is_named_by_its_key():
    v = verdict(StackConfig.from_config({"perspectives": GOOD5, "target": "aws-hosts", "asOf": "2026-12-15"}))
    assert not v.compliant and "R1 mpic:primary: not set" in v.text
    assert violating_pairs(v.report) == []  # no pair to draw


def test_pairwise_km_lists_every_pair_nearest_first_with_the_rules_distance():
    points = [lookup(code) for code in ["us-east-1", "eu-west-2", "eu-west-3", "ap-northeast-1"]]
    table = pairwise_km(points)
    assert len(table) == 6
    assert {frozenset((a, b)) for a, b, _ in table} == {frozenset((p.code, q.code))
                                                       for p, q in itertools.combinations(points, 2)}
    for a, b, d in table:
        assert d == distance_km(lookup(a), lookup(b))
    assert [d for *_, d in table] == sorted(d for *_, d in table)
    assert table[0][:2] == ("eu-west-2", "eu-west-3")
    assert pairwise_km(points[:1]) == []
