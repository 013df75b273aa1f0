"""``mpic:audit`` — where the audit records go and how long they are kept (BR 5.4.3: two years).

Planned once (:mod:`plan.audit`) for the AWS log groups (retention, a customer-managed KMS key, an
optional S3 archive with Object Lock), the Kubernetes shipper and the evidence command.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.settings_base import TargetSettings

MIN_RETENTION_DAYS = 731
"""BR 5.4.3: audit records are retained for at least two years (731 days covers a leap year)."""
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653)
"""The retention values CloudWatch Logs accepts."""


class AuditSink(TargetSettings):
    """k8s: where the shipper (Fluent Bit, beside every runtime container) sends the audit lines:
    an operator's system that keeps them two years (BR 5.4.3)."""

    kind: Literal["s3", "loki", "elasticsearch"]
    endpoint: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")
    """Loki or Elasticsearch base URL (required for them, e.g. ``https://loki.example-ca.net:3100``);
    for S3, an S3-compatible endpoint (default: AWS S3 of ``region``)."""
    bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """s3: the bucket (with its own retention: Object Lock or lifecycle >= 731 days)."""
    region: str | None = Field(None, pattern=r"^[a-z0-9-]{2,32}$")
    """s3: the bucket's region."""
    index: str = Field("mpic-audit", pattern=r"^[a-z0-9][a-z0-9_.-]{0,200}$")
    """elasticsearch: the index."""
    credentials_secret: str | None = Field(None, pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    """A Secret the operator creates in each namespace of the fleet; its keys become the shipper's
    environment: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` for s3 (or none, with EKS
    workload identity), ``MPIC_SINK_USER`` / ``MPIC_SINK_PASSWORD`` for basic auth to Loki or
    Elasticsearch."""

    @model_validator(mode="after")
    def _complete(self) -> "AuditSink":
        if self.kind == "s3" and (self.bucket is None or self.region is None):
            raise ValueError("kind s3 needs bucket and region, e.g. {kind: s3, bucket: example-ca-mpic-audit, "
                             "region: us-east-1}")
        if self.kind != "s3" and self.endpoint is None:
            raise ValueError(f"kind {self.kind} needs endpoint, the base URL, e.g. "
                             f"{{kind: {self.kind}, endpoint: https://{self.kind}.example-ca.net:"
                             f"{3100 if self.kind == 'loki' else 9200}}}")
        return self


class AuditSettings(TargetSettings):
    """``mpic:audit`` — ``{retentionDays, archiveBucket, sink}``."""

    retention_days: int = MIN_RETENTION_DAYS
    """Days the CloudWatch Logs groups keep the audit lines (AWS targets). BR 5.4.3 requires two
    years: less than 731 is refused unless ``mpic:complianceMode: testing``."""
    archive_bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """AWS: also copy the audit lines to new S3 buckets ``<archiveBucket>-<region>``, one per writing
    region, Object Lock in compliance mode for the same retention (no one, root included, can delete
    them earlier)."""
    sink: AuditSink | None = None
    """k8s: the sink the kit's shipper (Fluent Bit) sends the lines to; required unless
    ``mpic:complianceMode: testing`` (a lab: then the lines stay on the pods' stdout)."""

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch(cls, v: int) -> int:
        if v not in CLOUDWATCH_RETENTION_DAYS:
            above = [d for d in CLOUDWATCH_RETENTION_DAYS if d >= v]
            raise ValueError(f"{v} is not a retention CloudWatch Logs offers; use one of "
                             f"{', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))} (e.g. {above[0] if above else 3653})")
        return v
