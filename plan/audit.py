"""Where every target keeps the audit records, planned once (pure: a config in, names out).

BR 5.4.3 keeps the records of every validation two years. Each AWS region of a stack holds one
CloudWatch Logs group, :func:`log_group` (``/mpic/<stack>/audit``), one stream per writer
(``<site>--<replica>``, service.audit), retention ``mpic:audit.retentionDays`` (731 days unless a
lab), encrypted with the stack's customer-managed KMS key; the evidence command reads them back.
"""

from __future__ import annotations

from config.audit import MIN_RETENTION_DAYS
from config.model import StackConfig


def log_group(cfg: StackConfig) -> str:
    """The audit log group's name, the same in every region of the stack."""
    return f"/mpic/{cfg.name}/audit"


def log_regions(cfg: StackConfig) -> list[str]:
    """Every AWS region of the stack that writes audit lines: its perspectives' and coordinators'."""
    regions = {p.code for p in cfg.perspectives if p.provider == "aws"}
    regions.add(cfg.aws.coordinator_region)
    if cfg.target == "aws-hosts" and cfg.aws.standby_region:
        regions.add(cfg.aws.standby_region)
    return sorted(regions)


def retention_short(cfg: StackConfig) -> bool:
    """Whether the stack keeps the records less than BR 5.4.3's two years."""
    return cfg.audit.retention_days < MIN_RETENTION_DAYS
