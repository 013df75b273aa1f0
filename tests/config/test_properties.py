"""Properties of the compliance rules over random subsets of the catalog."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from config import compliance as c
from config.catalog import load_catalog
from config.model import StackConfig

CODES = sorted(code for code, r in load_catalog().items())
pools = st.lists(st.sampled_from(CODES), min_size=2, max_size=8, unique=True)


def r1_pairs(codes):
    config = StackConfig.from_config({"perspectives": codes})
    return {frozenset(f.regions) for f in c.rule_r1_distance(config)}


@settings(max_examples=150, deadline=None)
@given(pools, st.sampled_from(CODES))
def test_adding_a_perspective_never_fixes_an_r1_violation(codes, extra):
    if extra in codes:
        return
    before = r1_pairs(codes)
    after = r1_pairs(codes + [extra])
    assert before <= after


@settings(max_examples=150, deadline=None)
@given(pools, st.data())
def test_removing_a_perspective_never_creates_an_r1_violation(codes, data):
    drop = data.draw(st.sampled_from(codes))
    rest = [x for x in codes if x != drop]
    assert r1_pairs(rest) <= r1_pairs(codes)
    assert all(drop not in pair for pair in r1_pairs(rest))


@settings(max_examples=100, deadline=None)
@given(pools, st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 1, 1)))
def test_compliant_means_no_violation_and_report_is_deterministic(codes, day):
    config = StackConfig.from_config({"perspectives": codes, "asOf": day.isoformat()})
    first, second = c.check_stack(config), c.check_stack(config)
    assert first == second
    assert first.compliant == (not any(f.severity == "violation" for f in first.findings))
    if len(codes) < c.min_remote_perspectives(day):
        assert not first.compliant


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_required_quorum_is_monotonic_and_allows_at_most_two_failures(n):
    assert 0 <= n - c.required_quorum(n) <= 2
    assert c.required_quorum(n + 1) >= c.required_quorum(n)
