"""The AWS placement of the canary (targets aws-hosts and aws-lambda): names, settings and the
IAM documents of :class:`components.aws.canary.Canary`. Pure: no Pulumi, no I/O.

The canary is the coordinator's Lambda zip (``mpic build``) with another handler
(``service.lambda_handler.canary_handler``), started by EventBridge Scheduler every
``mpic:canary.interval`` minutes in the coordinator's region. It writes its TXT record with
Route53 in ``mpic:canary.hostedZone`` and prints its metrics in CloudWatch's embedded metric
format (a log line: no ``cloudwatch:PutMetricData``). Its role may do exactly that:

- write its own log group's streams;
- UPSERT the one TXT record ``_mpic-canary.<domain>`` in the one hosted zone (IAM's
  ``route53:ChangeResourceRecordSets*`` condition keys; any other name, type or action is denied);
- read the status of its changes (``route53:GetChange``: change ids are not known in advance).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig
from plan import runtime
from plan.canary import CanaryPlan, in_zone, plan_canary

HANDLER = "service.lambda_handler.canary_handler"
MEMORY_MB = 256
TIMEOUT_S = 240
"""Route53's change propagation (the writer waits up to 90 s for INSYNC) plus three coordinator
requests of at most 30 s each, with room to spare."""
ROLE = "canary"
"""``mpic:role`` tag of every canary resource."""
ROUTE53_CHANGE_CONDITIONS = ("route53:ChangeResourceRecordSetsNormalizedRecordNames",
                             "route53:ChangeResourceRecordSetsRecordTypes", "route53:ChangeResourceRecordSetsActions")


@dataclasses.dataclass(frozen=True)
class AwsCanaryPlan:
    canary: CanaryPlan
    region: str
    """The coordinator's region (the primary's on aws-hosts)."""
    hosted_zone: str
    """The Route53 public zone holding :attr:`record_name`."""
    record_name: str
    """``_mpic-canary.<domain>`` as IAM normalizes it: lower case, no trailing dot."""
    function_name: str
    log_group: str
    log_retention_days: int
    """``mpic:audit.retentionDays``: the canary's runs are kept as long as the audit records."""
    schedule_name: str
    topic_name: str
    alarm_names: tuple[str, ...]
    """One per :attr:`CanaryPlan.alarms`, in the same order."""
    package: str
    """The coordinator's built Lambda zip (``dist/lambda/mpic-coordinator-<arch>.zip``)."""
    architecture: str
    handler: str = HANDLER
    memory_mb: int = MEMORY_MB
    timeout_s: int = TIMEOUT_S

    @property
    def name(self) -> str:
        """Logical name of the component."""
        return f"canary-{self.region}"

    @property
    def max_event_age_s(self) -> int:
        """A run not started within one interval is dropped (the next one is due): runs never pile up."""
        return max(60, self.canary.interval_s)


def plan_aws_canary(fleet: StackConfig, package: str) -> AwsCanaryPlan | None:
    """The canary of an AWS stack (None with ``mpic:canary.enabled: false``); ConfigError when its
    name is not inside the hosted zone it is written to."""
    cp = plan_canary(fleet)
    if cp is None:
        return None
    zone = fleet.canary_hosted_zone
    if not in_zone(cp.domain, zone):
        explicit = fleet.canary.hosted_zone is not None
        key = f"{NAMESPACE}:canary.{'hostedZone' if explicit else 'domain'}"
        fix = (f"set {NAMESPACE}:canary.hostedZone to the Route53 public zone that holds {cp.domain}, or "
               f"{NAMESPACE}:canary.domain to a name under {zone} (e.g. canary.{zone})")
        raise ConfigError(f"{key}: the canary writes TXT {cp.record} in the Route53 zone {zone} "
                          f"({NAMESPACE}:canary.hostedZone{'' if explicit else ', default mpic:testDomain'}), but "
                          f"{cp.domain} ({NAMESPACE}:canary.domain) is not inside it. Fix: {fix}.",
                          key=key, value=zone if explicit else cp.domain, fix=fix)
    base = f"mpic-{fleet.name}-canary"
    return AwsCanaryPlan(
        canary=cp, region=fleet.aws.coordinator_region, hosted_zone=zone, record_name=cp.record.lower().rstrip("."),
        function_name=base, log_group=f"/aws/lambda/{base}",
        log_retention_days=fleet.audit.retention_days, schedule_name=base, topic_name=f"{base}-alarms",
        alarm_names=tuple(f"{base}-{a.key}" for a in cp.alarms), package=package,
        architecture=fleet.aws.architecture)


@dataclasses.dataclass(frozen=True)
class AwsCanaryEnv:
    """The canary function's complete environment (every ``MPIC_*`` key, the API key included), from
    the one renderer with AWS placement (Route53, CloudWatch embedded metric format), once its
    *slots* are filled: the values only the Pulumi engine knows, the coordinator's public base URL,
    the hosted zone's id and the API key. :class:`components.aws.canary.Canary` calls :meth:`fill`
    with their resolved values."""

    fleet: StackConfig
    plan: AwsCanaryPlan

    def fill(self, *, coordinator_url: str, zone_id: str, api_key: str) -> dict[str, str]:
        """The environment with the slots filled (plain values in, plain text out)."""
        return runtime.settings_env(runtime.canary_settings(
            self.fleet, coordinator_url=coordinator_url, api_key=api_key,
            dns={"provider": "route53", "zone": self.plan.hosted_zone, "zone_id": zone_id}, sink={"kind": "emf"}))


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def hosted_zone_arn(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id.removeprefix('/hostedzone/')}"


def role_policy(plan: AwsCanaryPlan, *, log_group_arn: str, zone_id: str) -> str:
    """The canary function's inline policy (its only permissions)."""
    return _doc(
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn.removesuffix(':*')}:*"},
        {"Sid": "UpsertCanaryTxt", "Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
         "Resource": hosted_zone_arn(zone_id),
         "Condition": {"ForAllValues:StringEquals": dict(zip(ROUTE53_CHANGE_CONDITIONS,
                                                             ([plan.record_name], ["TXT"], ["UPSERT"])))}},
        {"Sid": "WaitForChange", "Effect": "Allow", "Action": "route53:GetChange",
         "Resource": "arn:aws:route53:::change/*"},
    )


def scheduler_policy(function_arn: str) -> str:
    """The scheduler role's policy: invoke the canary function, nothing else."""
    return _doc({"Sid": "InvokeCanary", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                 "Resource": function_arn})


def alarm_key_policy(account_id: str) -> str:
    """The key policy of the alarm topic's KMS key. CloudWatch alarms can publish to an encrypted
    topic only when the key lets ``cloudwatch.amazonaws.com`` use it, which the AWS managed key
    ``alias/aws/sns`` never does (its policy cannot be changed): hence a customer managed key."""
    return _doc(
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}},
    )
