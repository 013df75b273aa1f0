"""The audit records of one AWS region: a CloudWatch Logs group kept ``mpic:audit.retentionDays``
(two years by default, BR 5.4.3), encrypted with a customer-managed KMS key of its own.

Every writer of the region sends its lines there (:mod:`plan.audit`): the hosts' CloudWatch agent,
the Lambda functions (their ``logging_config``); ``mpic evidence`` reads it back.
"""

from __future__ import annotations

from typing import Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from plan.audit import AUDIT_FILTER, FIREHOSE_BUFFER_SECONDS, firehose_policy, key_policy, subscription_policy
from plan.aws.fleet import assume_role_policy, name_tags

ROLE = "audit"


class AuditLogsArgs(TypedDict):
    region: str
    """AWS region code of the provider the component is given."""
    group: str
    """The log group's name (``/mpic/<stack>/audit``, the same in every region)."""
    retention_days: int
    """Days CloudWatch keeps the lines (``mpic:audit.retentionDays``)."""
    also_encrypts: Sequence[str]
    """Other log groups of the region the key may encrypt (the canary's)."""
    archive_bucket: str | None
    """``<mpic:audit.archiveBucket>-<region>`` (:func:`plan.audit.archive_bucket`), or None: no S3 copy."""
    stack: str
    """The stack's name (``StackConfig.name``): names the archive's delivery stream
    (``mpic-<stack>-audit-archive``) and the key prefix of its objects (``mpic/<stack>/``)."""


class AuditTarget(TypedDict):
    """What a writer of the region is given: the group it writes to and the key of the region."""

    group_name: pulumi.Input[str]
    """The region's audit log group name, ``/mpic/<stack>/audit`` (:attr:`AuditLogs.group_name`)."""
    group_arn: pulumi.Input[str]
    """Its ARN (:attr:`AuditLogs.group_arn`): the writer's role may write to its streams only."""
    key_arn: pulumi.Input[str]
    """ARN of the region's audit KMS key (:attr:`AuditLogs.key_arn`), which encrypts the group."""


class AuditLogs(pulumi.ComponentResource):
    """The region's audit log group and its KMS key."""

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AuditLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:AuditLogs", name, None, opts)
        region, group = args["region"], args["group"]
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        key = aws.kms.Key(f"{name}-key", description=f"MPIC audit records {group} ({region})",
                          enable_key_rotation=True, deletion_window_in_days=30,
                          policy=account.account_id.apply(lambda a: key_policy(a, region, [group, *args['also_encrypts']])),
                          tags=name_tags(f"{name}-key", ROLE, region), opts=child)
        logs = aws.cloudwatch.LogGroup(f"{name}-group", name=group, retention_in_days=args["retention_days"],
                                       kms_key_id=key.arn, tags=name_tags(f"{name}-group", ROLE, region),
                                       opts=child)
        if args["archive_bucket"] is not None:
            self._archive(name, args, logs, key, child)
        self.group_name = logs.name
        self.group_arn = logs.arn
        self.key_arn = key.arn
        self.register_outputs({"groupName": self.group_name, "groupArn": self.group_arn, "keyArn": self.key_arn})

    @property
    def target(self) -> AuditTarget:
        return {"group_name": self.group_name, "group_arn": self.group_arn, "key_arn": self.key_arn}

    def _archive(self, name: str, args: AuditLogsArgs, logs: aws.cloudwatch.LogGroup, key: aws.kms.Key,
                 child: pulumi.ResourceOptions) -> None:
        """The S3 copy: a bucket whose objects are locked in compliance mode for the retention (no
        one, the account's root included, deletes them earlier), fed by a subscription of the group
        through a delivery stream that writes the lines as they were written."""
        region, days = args["region"], args["retention_days"]

        def tags(suffix: str) -> dict[str, str]:
            return name_tags(f"{name}-{suffix}", ROLE, region)

        bucket = aws.s3.Bucket(f"{name}-archive", bucket=args["archive_bucket"], object_lock_enabled=True,
                               force_destroy=False, tags=tags("archive"), opts=child)
        aws.s3.BucketPublicAccessBlock(f"{name}-archive-public-access-block", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
                                       opts=child)
        aws.s3.BucketVersioning(f"{name}-archive-versioning", bucket=bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                                    status="Enabled"), opts=child)
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-archive-lock", bucket=bucket.id, rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode="COMPLIANCE", days=days)), opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-archive-encryption", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn), bucket_key_enabled=True)], opts=child)
        delivery_role = aws.iam.Role(f"{name}-archive-delivery-role",
                                     assume_role_policy=assume_role_policy("firehose.amazonaws.com"),
                                     tags=tags("archive-delivery-role"), opts=child)
        delivery_policy = aws.iam.RolePolicy(
            f"{name}-archive-delivery", role=delivery_role.id,
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(lambda a: firehose_policy(a[0], a[1])), opts=child)

        def processor(kind: str, **params: str) -> aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs:
            return aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorArgs(
                type=kind, parameters=[
                    aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationProcessorParameterArgs(
                        parameter_name=k, parameter_value=v) for k, v in params.items()])

        stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-archive-stream", name=f"mpic-{args['stack']}-audit-archive", destination="extended_s3",
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=key.arn),
            extended_s3_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
                bucket_arn=bucket.arn, role_arn=delivery_role.arn, kms_key_arn=key.arn,
                prefix=f"mpic/{args['stack']}/", error_output_prefix=f"mpic-errors/{args['stack']}/",
                buffering_interval=FIREHOSE_BUFFER_SECONDS, compression_format="UNCOMPRESSED", file_extension=".jsonl",
                processing_configuration=aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationProcessingConfigurationArgs(
                    enabled=True, processors=[processor("Decompression", CompressionFormat="GZIP"),
                                              processor("CloudWatchLogProcessing", DataMessageExtraction="true"),
                                              processor("AppendDelimiterToRecord")])),
            tags=tags("archive-stream"), opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery_policy]))
        feed_role = aws.iam.Role(f"{name}-archive-feed-role",
                                 assume_role_policy=assume_role_policy(f"logs.{region}.amazonaws.com"),
                                 tags=tags("archive-feed-role"), opts=child)
        feed_policy = aws.iam.RolePolicy(f"{name}-archive-feed", role=feed_role.id,
                                         policy=stream.arn.apply(subscription_policy), opts=child)
        aws.cloudwatch.LogSubscriptionFilter(
            f"{name}-archive-subscription", log_group=logs.name, name="mpic-audit-archive", filter_pattern=AUDIT_FILTER,
            destination_arn=stream.arn, role_arn=feed_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[feed_policy]))
