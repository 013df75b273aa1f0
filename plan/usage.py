"""The usage a cost estimate assumes (:data:`ASSUMPTIONS`) and ``mpic plan --usage FILE.yaml``'s
override of it (:func:`usage_from`): traffic, durations and hours, never prices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.errors import ConfigError
from config.key_errors import unknown_key_error

HOURS_PER_MONTH = 730.0
ASSUMPTIONS: dict[str, float] = {
    "validations_per_month": 1_000_000,     # MPIC requests (each reaches every perspective of a cohort)
    "perspective_egress_gb": 5.0,           # DNS/HTTP/TLS validation traffic per perspective region
    "inter_region_gb_per_link": 2.0,        # coordinator <-> perspective over a peering, per link
    "nat_processed_gb": 5.0,                # per NAT gateway (DNSSEC VPC mode)
    "lb_capacity_units": 1.0,               # LCU/NLCU per load balancer, averaged
    "perspective_lambda_ms": 300.0, "coordinator_lambda_ms": 800.0,
    "log_gb_per_group": 1.0,                # written a month to each log group (a region's audit group, the canary's)
    "canary_lambda_ms": 30000.0,            # a canary run (Route53's change propagation dominates)
    "hours_per_month": HOURS_PER_MONTH,     # hours every always-on resource runs (instances, LBs, IPs)
}
"""The usage the estimate assumes; ``mpic plan --usage FILE.yaml`` overrides any of them."""
MAX_HOURS_PER_MONTH = 744.0
"""31 days."""
Usage = Mapping[str, float]


def usage_from(raw: Any, key: str = "--usage") -> dict[str, float]:
    """Validate an override of :data:`ASSUMPTIONS` (a map of some of its keys to numbers >= 0):
    ConfigError naming the key, the value and the fix (did you mean, for an unknown key)."""
    if not isinstance(raw, dict):
        fix = f"write a map of some of {', '.join(ASSUMPTIONS)} to numbers"
        raise ConfigError(f"{key}: expected a map of usage assumptions, got {raw!r}. Fix: {fix}.", key=key,
                          value=raw if isinstance(raw, (str, int, float, list)) else str(raw), fix=fix)
    out: dict[str, float] = {}
    for name, value in raw.items():
        where = f"{key}.{name}"
        if name not in ASSUMPTIONS:
            raise unknown_key_error(where, str(name), value, list(ASSUMPTIONS))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            fix = f"give {name} a number, e.g. {name}: {ASSUMPTIONS[name]:g}"
            raise ConfigError(f"{where}: {value!r} is not a number. Fix: {fix}.", key=where, value=value, fix=fix)
        limit = MAX_HOURS_PER_MONTH if name == "hours_per_month" else float("inf")
        if not 0 <= value <= limit:
            bound = f"between 0 and {limit:g}" if limit != float("inf") else ">= 0"
            fix = f"give {name} a number {bound}"
            raise ConfigError(f"{where}: {value!r} is out of range. Fix: {fix}.", key=where, value=value, fix=fix)
        out[str(name)] = float(value)
    return out
