"""plan.canary and mpic:canary: one plan of schedule, record and alarms for every target."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.model import StackConfig
from plan.canary import ALARM_CHECK, ALARM_MARGIN, ALARM_NOT_RUN, CanaryPlan, plan_canary

PERSPECTIVES = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]


def fleet(**canary) -> StackConfig:
    raw = {"perspectives": PERSPECTIVES, "testDomain": "t.example"}
    if canary:
        raw["canary"] = canary
    return StackConfig.from_config(raw, name="s1")


def test_defaults_are_on_every_five_minutes_under_the_test_domain():
    cp = plan_canary(fleet())
    assert cp is not None and cp.domain == "canary.t.example" and cp.record == "_mpic-canary.canary.t.example"
    assert (cp.schedule_expression, cp.cron, cp.interval_s) == ("rate(5 minutes)", "*/5 * * * *", 300)
    assert [a.key for a in cp.alarms] == [ALARM_CHECK, ALARM_MARGIN, ALARM_NOT_RUN]
    assert plan_canary(fleet(enabled=False)) is None


def test_schedules_and_alarm_parameters_follow_the_config():
    cp = plan_canary(fleet(interval=1, marginRuns=3, missedRuns=4, domain="probe.ca.example", alarmEmail="a@ca.example"))
    assert (cp.schedule_expression, cp.cron, cp.alarm_email) == ("rate(1 minute)", "*/1 * * * *", "a@ca.example")
    assert plan_canary(fleet(interval=60)).cron == "0 * * * *"
    by = {a.key: a for a in cp.alarms}
    assert (by[ALARM_MARGIN].periods, by[ALARM_MARGIN].threshold, by[ALARM_MARGIN].period_s) == (3, 0, 60)
    assert "[3m]" in by[ALARM_MARGIN].expr and 'stack="s1"' in by[ALARM_MARGIN].expr
    assert by[ALARM_NOT_RUN].periods == 4 and by[ALARM_NOT_RUN].treat_missing == "breaching"
    assert "> 240" in by[ALARM_NOT_RUN].expr and "absent(" in by[ALARM_NOT_RUN].expr
    assert by[ALARM_CHECK].treat_missing == "notBreaching" and by[ALARM_CHECK].comparison == "LessThanThreshold"
    assert CanaryPlan.from_json(cp.to_json()) == cp


@pytest.mark.parametrize("canary, needle", [
    ({"interval": 7}, "mpic:canary.interval: 7 minutes"),
    ({"alarmEmail": "not-an-address"}, "mpic:canary.alarmEmail"),
    ({"marginRuns": 0}, "mpic:canary"),
    ({"colour": "red"}, "mpic:canary"),
    ({"domain": "Not A Name"}, "mpic:canary"),
])
def test_bad_canary_settings_name_the_key(canary, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        fleet(**canary)


def _run(at: float, ok: bool = True, margin: int | None = 1) -> dict:
    return {"at": at, "ok": ok, "margin": margin}


@pytest.mark.parametrize("history, now, expected", [
    ([], 1000, [ALARM_NOT_RUN]),
    ([_run(0)], 100, []),
    ([_run(0)], 601, [ALARM_NOT_RUN]),  # 2 intervals of 300 s without a result
    ([_run(0, ok=False, margin=None)], 700, [ALARM_NOT_RUN, ALARM_CHECK]),
    ([_run(0, ok=False, margin=None)], 10, [ALARM_CHECK]),
    ([_run(0, margin=0)], 10, []),  # K = 2: one run at margin 0 is not yet an alarm
    ([_run(0, margin=0), _run(300, margin=0)], 310, [ALARM_MARGIN]),
    ([_run(0, margin=0), _run(300, margin=1)], 310, []),
    ([_run(0, margin=0), _run(300, ok=False, margin=None)], 310, [ALARM_CHECK]),
    ([_run(0, margin=-1), _run(300, ok=False, margin=-1)], 310, [ALARM_CHECK, ALARM_MARGIN]),
])
def test_alarms_set(history, now, expected):
    assert plan_canary(fleet(marginRuns=2)).alarms_set(history, now) == expected


def test_default_margin_alarm_fires_on_the_first_run_at_zero():
    assert plan_canary(fleet()).alarms_set([_run(0, margin=0)], 1) == [ALARM_MARGIN]
