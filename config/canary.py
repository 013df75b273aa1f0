"""``mpic:canary`` — the production canary: a full MPIC round trip on a name the kit controls,
every ``interval`` minutes, on every target (on by default).

What it checks and how its alarms fire is planned once (:mod:`plan.canary`) for the AWS
CloudWatch alarms, the Kubernetes PrometheusRules and the local fleet's ``mpic canary``.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from config.settings_base import TargetSettings

CRON_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
"""Intervals a cron schedule (``*/N``) runs evenly: the divisors of 60."""
TSIG_SECRET_KEY = "canaryTsigSecret"
"""k8s: the TSIG secret (base64) the canary signs its RFC 2136 updates with."""
SECRET_KEYS: frozenset[str] = frozenset({TSIG_SECRET_KEY})
_HOST = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class CanaryDns(TargetSettings):
    """k8s: the authoritative server of the canary name, updated with RFC 2136 + TSIG."""

    server: str = Field(min_length=1)
    """``HOST`` or ``HOST:PORT`` (port 53 by default) of the primary that accepts updates."""
    zone: str = Field(pattern=_HOST)
    """The zone that holds the canary name."""
    key_name: str = Field("mpic-canary", min_length=1)
    """TSIG key name (the secret is ``mpic:canaryTsigSecret``)."""
    algorithm: str = "hmac-sha256"


class CanarySettings(TargetSettings):
    """``mpic:canary`` — ``{domain, interval, alarmEmail, ...}``."""

    enabled: bool = True
    """Run the canary (every target); turning it off leaves the fleet unwatched."""
    domain: str | None = Field(None, pattern=_HOST)
    """The name the canary validates (its TXT goes to ``_mpic-canary.DOMAIN``); default
    ``canary.<testDomain>``."""
    interval: int = 5
    """Minutes between runs: one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60."""
    alarm_email: str | None = None
    """Where alarms go (AWS: an SNS email subscription; k8s: the rules' ``email`` label)."""
    margin_runs: int = Field(1, ge=1, le=10)
    """K: the margin alarm fires after K consecutive runs with margin 0 (one more failed
    perspective away from invalid)."""
    missed_runs: int = Field(2, ge=1, le=10)
    """The not-run alarm fires when no result arrived for this many intervals."""
    dns: CanaryDns | None = None
    """k8s: where the canary writes its TXT record (RFC 2136). AWS writes to Route53; the local
    fleet to its own Knot (RFC 2136 too)."""
    pushgateway: str = "http://prometheus-pushgateway.monitoring.svc:9091"
    """k8s: the Prometheus Pushgateway the CronJob pushes its metrics to (the rules read them)."""
    hosted_zone: str | None = Field(None, pattern=_HOST)
    """AWS: the Route53 public hosted zone that holds the canary name; default ``mpic:testDomain``."""

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: int) -> int:
        if v not in CRON_MINUTES:
            raise ValueError(f"mpic:canary.interval: {v} minutes; use one of {', '.join(map(str, CRON_MINUTES))} "
                             "(a schedule runs evenly only on a divisor of 60)")
        return v

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL.match(v):
            raise ValueError(f"mpic:canary.alarmEmail: {v!r} is not an email address (e.g. pki-oncall@ca.example)")
        return v
