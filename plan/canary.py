"""The canary's plan, once for every target: schedule, record, alarms.

The AWS component turns :attr:`CanaryPlan.alarms` into CloudWatch alarms on the metrics the
canary Lambda prints (embedded metric format, namespace ``MPIC/Canary``); the Kubernetes one into
a PrometheusRule on what the CronJob pushes; the local fleet evaluates the same three rules on its
result file (``service.canary.alarms``) with the same parameters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from config.model import StackConfig

RECORD_LABEL = "_mpic-canary"
METRIC_NAMESPACE = "MPIC/Canary"
ALARM_CHECK, ALARM_MARGIN, ALARM_NOT_RUN = "check-failed", "margin", "not-run"


@dataclass(frozen=True)
class AlarmPlan:
    key: str
    """``check-failed``, ``margin`` or ``not-run`` (what service.canary.alarms reports)."""
    description: str
    metric: str
    """CloudWatch metric (namespace ``MPIC/Canary``, dimension ``Stack``)."""
    statistic: str
    comparison: str
    threshold: float
    periods: int
    """Evaluation periods of ``period_s`` each."""
    period_s: int
    treat_missing: str
    expr: str
    """The PromQL expression of the same rule (over what the CronJob pushes)."""


@dataclass(frozen=True)
class CanaryPlan:
    stack: str
    domain: str
    record: str
    """``_mpic-canary.DOMAIN``: the TXT the canary rewrites every run."""
    interval_minutes: int
    margin_runs: int
    missed_runs: int
    alarm_email: str | None
    alarms: tuple[AlarmPlan, ...]

    @property
    def interval_s(self) -> int:
        return self.interval_minutes * 60

    @property
    def schedule_expression(self) -> str:
        """EventBridge Scheduler: ``rate(5 minutes)``."""
        n = self.interval_minutes
        return f"rate({n} minute{'s' if n != 1 else ''})"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CanaryPlan":
        return cls(**{**data, "alarms": tuple(AlarmPlan(**a) for a in data["alarms"])})

    def alarms_set(self, history: list[dict[str, Any]], now: float) -> list[str]:
        """The alarms set given the results so far (oldest first; ``{at, ok, margin}`` each): the
        local fleet's evaluation of the rules CloudWatch and Prometheus evaluate on the metrics."""
        if not history or now - history[-1]["at"] > self.missed_runs * self.interval_s:
            return [ALARM_NOT_RUN] + ([ALARM_CHECK] if history and not history[-1]["ok"] else [])
        out = [ALARM_CHECK] if not history[-1]["ok"] else []
        recent = history[-self.margin_runs:]
        if len(recent) == self.margin_runs and all(r.get("margin") is not None and r["margin"] <= 0 for r in recent):
            out.append(ALARM_MARGIN)
        return out

    @property
    def cron(self) -> str:
        """Kubernetes CronJob: ``*/5 * * * *`` (``0 * * * *`` hourly)."""
        return "0 * * * *" if self.interval_minutes == 60 else f"*/{self.interval_minutes} * * * *"


def in_zone(name: str, zone: str) -> bool:
    """``name`` is ``zone`` or a name under it (case-insensitive, trailing dots ignored)."""
    name, zone = name.lower().rstrip("."), zone.lower().rstrip(".")
    return name == zone or name.endswith("." + zone)


def plan_canary(fleet: StackConfig) -> CanaryPlan | None:
    """The canary of ``fleet``; None when ``mpic:canary.enabled`` is false."""
    c = fleet.canary
    if not c.enabled:
        return None
    period = c.interval * 60
    sel = f'stack="{fleet.name}"'
    window = f"{c.interval * c.margin_runs}m"
    alarms = (
        AlarmPlan(ALARM_CHECK, "A canary run did not give the expected verdicts (right token valid, wrong "
                  "token invalid, CAA valid) or could not complete", "Valid", "Minimum", "LessThanThreshold", 1,
                  1, period, "notBreaching", f"mpic_canary_ok{{{sel}}} == 0"),
        AlarmPlan(ALARM_MARGIN, f"Perspectives passed minus quorum was 0 or less for {c.margin_runs} run(s): one more "
                  "failed perspective and issuance stops", "Margin", "Maximum", "LessThanOrEqualToThreshold", 0,
                  c.margin_runs, period, "notBreaching", f"max_over_time(mpic_canary_margin{{{sel}}}[{window}]) <= 0"),
        AlarmPlan(ALARM_NOT_RUN, f"No canary result for {c.missed_runs} interval(s)", "Runs", "SampleCount",
                  "LessThanThreshold", 1, c.missed_runs, period, "breaching",
                  f"(time() - mpic_canary_last_run_timestamp_seconds{{{sel}}}) > {c.missed_runs * period} "
                  f"or absent(mpic_canary_last_run_timestamp_seconds{{{sel}}})"),
    )
    return CanaryPlan(stack=fleet.name, domain=fleet.canary_domain, record=f"{RECORD_LABEL}.{fleet.canary_domain}",
                      interval_minutes=c.interval, margin_runs=c.margin_runs, missed_runs=c.missed_runs,
                      alarm_email=c.alarm_email, alarms=alarms)
