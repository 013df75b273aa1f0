"""The audit records of one AWS region: a CloudWatch Logs group kept ``mpic:audit.retentionDays``
(two years by default, BR 5.4.3), encrypted with a customer-managed KMS key of its own.

Every writer of the region sends its lines there (:mod:`plan.audit`): the hosts' CloudWatch agent,
the Lambda functions (their ``logging_config``); ``mpic evidence`` reads it back.
"""

from __future__ import annotations

from typing import Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from plan.audit import key_policy
from plan.aws import name_tags

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


class AuditTarget(TypedDict):
    """What a writer of the region is given: the group it writes to and the key of the region."""

    group_name: pulumi.Input[str]
    group_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]


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
        self.group_name = logs.name
        self.group_arn = logs.arn
        self.key_arn = key.arn
        self.register_outputs({"groupName": self.group_name, "groupArn": self.group_arn, "keyArn": self.key_arn})

    @property
    def target(self) -> AuditTarget:
        return {"group_name": self.group_name, "group_arn": self.group_arn, "key_arn": self.key_arn}
