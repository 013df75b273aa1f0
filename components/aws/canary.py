"""``Canary``: the production canary on AWS (targets aws-hosts and aws-lambda), in the coordinator's
region: a Lambda function started by EventBridge Scheduler, its CloudWatch alarms and their SNS
topic. What it may do and what its alarms watch come from :mod:`plan.aws.canary` and
:mod:`plan.canary`; this component only creates the resources.
"""

from __future__ import annotations

from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components.aws.serverless import PYTHON_RUNTIME
from plan.aws.fleet import assume_role_policy, name_tags
from plan.aws.canary import ROLE, AwsCanaryEnv, AwsCanaryPlan, alarm_key_policy, role_policy, scheduler_policy
from plan.canary import METRIC_NAMESPACE

RUN_EVENT = '{"source": "mpic-canary"}'


class CanaryArgs(TypedDict):
    plan: AwsCanaryPlan
    """From :func:`plan.aws.canary.plan_aws_canary`."""
    zone_id: pulumi.Input[str]
    """Id of the Route53 hosted zone ``plan.hosted_zone`` (the only zone the canary may change)."""
    coordinator_url: pulumi.Input[str]
    """The coordinator's public base URL the canary calls (the canary appends ``/v1/mpic``)."""
    env: AwsCanaryEnv
    """Its complete environment but for the slots this component fills with the engine's values
    (``coordinator_url``, ``zone_id``, ``api_key``): :class:`plan.aws.canary.AwsCanaryEnv`."""
    api_key: pulumi.Input[str]
    """The API key the canary presents (the first of ``mpic:apiKeys``; a secret)."""
    log_key_arn: pulumi.Input[str]
    """The region's audit KMS key (:class:`components.aws.audit.AuditLogs`), which encrypts the run log."""


class Canary(pulumi.ComponentResource):
    """The canary function (the coordinator's zip, handler ``canary_handler``, one run at a time),
    its log group and role, the schedule that starts it, and one CloudWatch alarm per planned
    alarm, notifying an SNS topic (KMS-encrypted; an email subscription with ``alarmEmail``)."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CanaryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:Canary", name, None, opts)
        plan = args["plan"]
        region = plan.region
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return name_tags(f"{name}-{suffix}", ROLE, region)

        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=plan.log_group, retention_in_days=plan.log_retention_days,
                                       kms_key_id=args["log_key_arn"], tags=tags("logs"), opts=child)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                            tags=tags("role"), opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id,
            policy=pulumi.Output.all(logs.arn, args["zone_id"]).apply(
                lambda a: role_policy(plan, log_group_arn=a[0], zone_id=a[1])),
            opts=child)
        template = args["env"]
        env = pulumi.Output.all(args["coordinator_url"], args["zone_id"], args["api_key"]).apply(
            lambda a: template.fill(coordinator_url=a[0], zone_id=a[1], api_key=a[2]))
        fn = aws.lambda_.Function(
            f"{name}-fn", name=plan.function_name, role=role.arn, runtime=PYTHON_RUNTIME, handler=plan.handler,
            code=pulumi.FileArchive(plan.package), memory_size=plan.memory_mb, timeout=plan.timeout_s,
            architectures=[plan.architecture], reserved_concurrent_executions=1,  # two runs would race on one TXT
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=pulumi.Output.secret(env)),
            tags=tags("fn"), opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]))
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", function_name=fn.name, maximum_event_age_in_seconds=plan.max_event_age_s,
            maximum_retry_attempts=0, opts=child)  # a failed run is a result (the alarms see it), never retried

        scheduler_role = aws.iam.Role(f"{name}-scheduler-role",
                                      assume_role_policy=assume_role_policy("scheduler.amazonaws.com"),
                                      tags=tags("scheduler-role"), opts=child)
        invoke = aws.iam.RolePolicy(f"{name}-scheduler-invoke", role=scheduler_role.id,
                                    policy=fn.arn.apply(scheduler_policy), opts=child)
        aws.scheduler.Schedule(
            f"{name}-schedule", name=plan.schedule_name, description=f"MPIC canary of {plan.canary.stack}",
            schedule_expression=plan.canary.schedule_expression, state="ENABLED",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=fn.arn, role_arn=scheduler_role.arn, input=RUN_EVENT,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=plan.max_event_age_s, maximum_retry_attempts=2)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[invoke]))

        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        key = aws.kms.Key(f"{name}-alarms-key", description=f"MPIC canary alarms of {plan.canary.stack} (SNS)",
                          enable_key_rotation=True, deletion_window_in_days=30,
                          policy=account.account_id.apply(alarm_key_policy), tags=tags("alarms-key"), opts=child)
        topic = aws.sns.Topic(f"{name}-alarms", name=plan.topic_name, kms_master_key_id=key.arn,
                              tags=tags("alarms"), opts=child)
        if plan.canary.alarm_email:
            aws.sns.TopicSubscription(f"{name}-alarms-email", topic=topic.arn, protocol="email",
                                      endpoint=plan.canary.alarm_email, opts=child)
        alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{a.key}", name=alarm_name, namespace=METRIC_NAMESPACE, metric_name=a.metric,
                dimensions={"Stack": plan.canary.stack}, statistic=a.statistic, comparison_operator=a.comparison,
                threshold=a.threshold, evaluation_periods=a.periods, period=a.period_s,
                treat_missing_data=a.treat_missing, alarm_description=a.description,
                alarm_actions=[topic.arn], ok_actions=[topic.arn], tags=tags(a.key), opts=child)
            for a, alarm_name in zip(plan.canary.alarms, plan.alarm_names)]

        self.function_name = fn.name
        self.function_arn = fn.arn
        self.alarm_names = pulumi.Output.all(*[a.name for a in alarms])
        self.topic_arn = topic.arn
        self.register_outputs({"functionName": self.function_name, "functionArn": self.function_arn,
                               "alarmNames": self.alarm_names, "topicArn": self.topic_arn})
