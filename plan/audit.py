"""Where every target keeps the audit records, planned once (pure: a config in, names out).

BR 5.4.3 keeps the records of every validation two years. Each AWS region of a stack holds one
CloudWatch Logs group, :func:`log_group` (``/mpic/<stack>/audit``), one stream per writer
(``<site>--<replica>``, service.audit), retention ``mpic:audit.retentionDays`` (731 days unless a
lab), encrypted with a customer-managed KMS key of the region; the evidence command reads them back.
"""

from __future__ import annotations

import json

from config.errors import PlanError
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


HOST_AUDIT_FILE = "/var/log/mpic/audit.jsonl"
"""Where a host's runtime writes its audit lines; the CloudWatch agent ships them as they are written."""
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
FLUSH_SECONDS = 1
"""The agent sends what it read at least every second (its force_flush_interval)."""


def key_policy(account_id: str, region: str, groups: list[str]) -> str:
    """The audit key's policy: the account administers it; CloudWatch Logs of ``region`` may use it
    for the named log groups only (``kms:EncryptionContext:aws:logs:arn``): the audit group, and the
    canary's in its region."""
    arns = [f"arn:aws:logs:{region}:{account_id}:log-group:{g}" for g in groups]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsEncryptTheAuditGroup", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arns}}},
    ]})


def agent_config(group: str, site: str) -> dict:
    """The CloudWatch agent's configuration on a host: the audit file, line by line, into the stack's
    group, one stream per writer (``<site>--<instance id>``, the writer's own name), flushed every second."""
    return {"agent": {"run_as_user": "root"},
            "logs": {"force_flush_interval": FLUSH_SECONDS, "logs_collected": {"files": {"collect_list": [{
                "file_path": HOST_AUDIT_FILE, "log_group_name": group, "log_stream_name": f"{site}--{{instance_id}}",
                "retention_in_days": -1}]}}}}


def writer_policy(group_arn: str) -> dict:
    """The IAM statement a writer of the audit group needs: its own streams, nothing else."""
    return {"Sid": "WriteAuditLines", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group_arn.removesuffix(":*"), f"{group_arn.removesuffix(':*')}:log-stream:*"]}


BUCKET_NAME_MAX = 63
FIREHOSE_BUFFER_SECONDS = 60
AUDIT_FILTER = "{ $.seq >= 0 }"
"""The subscription filter: the audit lines only (a Lambda's stream also holds START/END/REPORT)."""


def archive_bucket(cfg: StackConfig, region: str) -> str | None:
    """The region's archive bucket (``<mpic:audit.archiveBucket>-<region>``; the copy stays in the
    region the lines were written in), None without an archive; PlanError when the name is too long."""
    base = cfg.audit.archive_bucket
    if base is None:
        return None
    name = f"{base}-{region}"
    if len(name) > BUCKET_NAME_MAX:
        raise PlanError(f"mpic:audit.archiveBucket: '{base}' makes the bucket name '{name}' ({len(name)} characters); "
                        f"S3 allows {BUCKET_NAME_MAX}. Fix: use a name of at most {BUCKET_NAME_MAX - len(region) - 1} "
                        "characters.", key="mpic:audit.archiveBucket", value=base,
                        fix=f"a name of at most {BUCKET_NAME_MAX - len(region) - 1} characters")
    return name


def firehose_policy(bucket_arn: str, key_arn: str) -> str:
    """What the archive's delivery stream may do: write objects into its bucket, with its key."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "WriteArchive", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket",
                    "s3:ListBucketMultipartUploads"],
         "Resource": [bucket_arn, f"{bucket_arn}/*"]},
        {"Sid": "EncryptArchive", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": [key_arn]},
    ]})


def subscription_policy(stream_arn: str) -> str:
    """What CloudWatch Logs may do for the subscription: put records into the archive's stream."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "FeedArchive", "Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
         "Resource": [stream_arn]}]})
