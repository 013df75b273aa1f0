"""The canary on AWS (aws-hosts, aws-lambda): its planner, its component under strict mocks (every
resource and invoke on the coordinator region's provider), the programs and ``mpic plan``."""

from __future__ import annotations

import json

import pulumi
import pytest

from preview.engine import plan_stack
from components.aws.canary import Canary
from config.errors import ConfigError, PlanError
from plan.aws import canary as aws_canary
from artifacts.dist import DIST_ENV, require_artifacts, source_sha256
from plan.artifacts import MANIFEST, needed
from plan.canary import METRIC_NAMESPACE, plan_canary
from plan.price_table import unit_price
from plan.prices import Priced, estimate
from plan.usage import ASSUMPTIONS
from tests.aws.conftest import children_of, fleet, of_type, one, provider, provider_region, run_component
from tests.aws.test_program import run_stack, stack

ZIP = "dist/lambda/mpic-coordinator-x86_64.zip"
HANDLER = "service.lambda_handler.canary_handler"


def statements(resource) -> list[dict]:
    return json.loads(resource.inputs["policy"])["Statement"]


# ----------------------------------------------------------------------------- the planner
def test_plan_names_and_the_record_iam_sees():
    p = aws_canary.plan_aws_canary(fleet(canary={"alarmEmail": "pki@ca.example"}), ZIP)
    assert (p.region, p.hosted_zone, p.record_name) == ("us-east-1", "fleet-test.example",
                                                        "_mpic-canary.canary.fleet-test.example")
    assert (p.function_name, p.log_group, p.topic_name) == ("mpic-t-canary", "/aws/lambda/mpic-t-canary",
                                                            "mpic-t-canary-alarms")
    assert p.alarm_names == ("mpic-t-canary-check-failed", "mpic-t-canary-margin", "mpic-t-canary-not-run")
    assert (p.handler, p.package, p.architecture, p.max_event_age_s) == (HANDLER, ZIP, "x86_64", 300)
    assert aws_canary.plan_aws_canary(fleet(canary={"interval": 1}), ZIP).max_event_age_s == 60
    assert aws_canary.plan_aws_canary(fleet(canary={"enabled": False}), ZIP) is None


@pytest.mark.parametrize("canary, key", [
    ({"domain": "canary.ca.example"}, "mpic:canary.domain"),
    ({"hostedZone": "ca.example"}, "mpic:canary.hostedZone"),
])
def test_a_canary_name_outside_its_hosted_zone_is_refused(canary, key):
    with pytest.raises(ConfigError) as exc:
        aws_canary.plan_aws_canary(fleet(canary=canary), ZIP)
    assert exc.value.key == key and "is not inside it" in str(exc.value)
    assert "mpic:canary.hostedZone" in exc.value.fix and "mpic:canary.domain" in exc.value.fix
    ok = aws_canary.plan_aws_canary(fleet(canary={"domain": "probe.ca.example", "hostedZone": "ca.example"}), ZIP)
    assert ok.record_name == "_mpic-canary.probe.ca.example"


def test_role_policy_is_the_least_the_canary_needs():
    p = aws_canary.plan_aws_canary(fleet(), ZIP)
    doc = json.loads(aws_canary.role_policy(p, log_group_arn="arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x:*",
                                            zone_id="/hostedzone/Z123"))
    assert doc["Statement"] == [
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x:*"},
        {"Sid": "UpsertCanaryTxt", "Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
         "Resource": "arn:aws:route53:::hostedzone/Z123",
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_mpic-canary.canary.fleet-test.example"],
             "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"],
             "route53:ChangeResourceRecordSetsActions": ["UPSERT"]}}},
        {"Sid": "WaitForChange", "Effect": "Allow", "Action": "route53:GetChange",
         "Resource": "arn:aws:route53:::change/*"}]


def test_the_rendered_environment_is_what_the_lambda_runtime_loads(monkeypatch):
    from service.settings import load_settings
    from service.settings_canary import CanarySettings

    f = fleet("aws-lambda")
    env = aws_canary.AwsCanaryEnv(f, aws_canary.plan_aws_canary(f, ZIP)).fill(
        zone_id="Z123", coordinator_url="https://abc.execute-api.us-east-1.amazonaws.com/", api_key="key-one")
    assert env == {  # complete: every key the function gets, the API key included
        "MPIC_STACK": "t", "MPIC_COORDINATOR_URL": "https://abc.execute-api.us-east-1.amazonaws.com",
        "MPIC_API_KEY": "key-one", "MPIC_DOMAIN": "canary.fleet-test.example",
        "MPIC_DNS": '{"provider": "route53", "zone": "fleet-test.example", "zone_id": "Z123"}',
        "MPIC_SINK": '{"kind": "emf"}', "MPIC_INTERVAL": "300.0"}
    for key, value in env.items():  # as the function sees them: nothing added by the component
        monkeypatch.setenv(key, value)
    s = load_settings(CanarySettings, None)
    assert (s.stack, s.domain, s.coordinator_url, s.interval) == (
        "t", "canary.fleet-test.example", "https://abc.execute-api.us-east-1.amazonaws.com", 300.0)
    assert (s.dns.provider, s.dns.zone, s.dns.zone_id, s.sink.kind) == ("route53", "fleet-test.example", "Z123", "emf")
    assert s.api_key.get_secret_value() == "key-one" and s.ca_file is None  # public certificates: system store


# ----------------------------------------------------------------------------- the component
def _canary_run(**canary):
    f = fleet(canary=canary)
    plan = aws_canary.plan_aws_canary(f, ZIP)

    def build():
        c = Canary(plan.name, {"plan": plan, "zone_id": pulumi.Output.from_input("Z0CANARY"),
                               "coordinator_url": pulumi.Output.from_input("https://mpic.example.com"),
                               "env": aws_canary.AwsCanaryEnv(f, plan), "api_key": pulumi.Output.secret("key-one"),
                               "log_key_arn": "arn:aws:kms:us-east-1:000000000000:key/audit"},
                   opts=pulumi.ResourceOptions(providers=[provider("us-east-1")]))
        pulumi.export("function", c.function_name)
        pulumi.export("alarms", c.alarm_names)
        pulumi.export("topic", c.topic_arn)

    return plan, run_component(build)


@pytest.fixture(scope="module")
def canary_run():
    return _canary_run(alarmEmail="pki-oncall@ca.example")


def test_every_canary_resource_is_on_the_coordinator_regions_provider(canary_run):
    plan, run = canary_run
    assert run.error is None
    comp = one(run, "mpic:aws:Canary")
    kids = children_of(run, comp)
    assert len(kids) == 14 and all(r.name.startswith(f"{plan.name}-") for r in kids)
    assert {provider_region(run, r) for r in kids} == {"us-east-1"}
    (whoami,) = [c for c in run.calls if c.token == "aws:index/getCallerIdentity:getCallerIdentity"]
    assert "aws-us-east-1" in whoami.provider
    assert run.outputs == {"function": "mpic-t-canary", "topic": "arn:aws:sns:us-east-1:000000000000:mpic-t-canary-alarms",
                           "alarms": list(plan.alarm_names)}


def test_the_function_is_the_coordinators_zip_with_the_canary_handler(canary_run):
    plan, run = canary_run
    fn = one(run, "aws:lambda/function:Function")
    i = fn.inputs
    assert (i["name"], i["handler"], i["runtime"], i["architectures"]) == ("mpic-t-canary", HANDLER, "python3.11",
                                                                          ["x86_64"])
    assert (i["memorySize"], i["timeout"], i["reservedConcurrentExecutions"]) == (256, 240, 1)
    env = i["environment"]["variables"]
    assert json.loads(env["MPIC_DNS"]) == {"provider": "route53", "zone": "fleet-test.example", "zone_id": "Z0CANARY"}
    assert json.loads(env["MPIC_SINK"]) == {"kind": "emf"} and env["MPIC_API_KEY"] == "key-one"
    assert env["MPIC_COORDINATOR_URL"] == "https://mpic.example.com" and env["MPIC_DOMAIN"] == "canary.fleet-test.example"
    assert fn.public_inputs["environment"]["variables"]["MPIC_API_KEY"] == "[secret]"
    # the component only fills the renderer's slots with the engine's values: nothing added, nothing dropped
    assert env == aws_canary.AwsCanaryEnv(fleet(canary={"alarmEmail": "pki-oncall@ca.example"}), plan).fill(
        coordinator_url="https://mpic.example.com", zone_id="Z0CANARY", api_key="key-one")
    logs = one(run, "aws:cloudwatch/logGroup:LogGroup")
    # kept as long as the audit records (BR 5.4.3), encrypted with the region's audit key
    assert (logs.inputs["name"], logs.inputs["retentionInDays"], logs.inputs["kmsKeyId"]) == (
        "/aws/lambda/mpic-t-canary", 731, "arn:aws:kms:us-east-1:000000000000:key/audit")
    async_ = one(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert (async_.inputs["maximumRetryAttempts"], async_.inputs["maximumEventAgeInSeconds"]) == (0, 300)


def test_the_canary_role_may_only_log_upsert_its_txt_and_wait(canary_run):
    _, run = canary_run
    roles = {r.name: r for r in of_type(run, "aws:iam/role:Role")}
    trust = json.loads(roles["canary-us-east-1-role"].inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []  # no managed policy
    st = {s["Sid"]: s for s in statements(one(run, "aws:iam/rolePolicy:RolePolicy", "-policy"))}
    assert set(st) == {"OwnLogGroup", "UpsertCanaryTxt", "WaitForChange"}
    assert st["OwnLogGroup"]["Resource"] == ("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/"
                                             "mpic-t-canary:*")
    assert st["UpsertCanaryTxt"]["Resource"] == "arn:aws:route53:::hostedzone/Z0CANARY"
    cond = st["UpsertCanaryTxt"]["Condition"]["ForAllValues:StringEquals"]
    assert cond["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == ["_mpic-canary.canary.fleet-test.example"]
    assert (cond["route53:ChangeResourceRecordSetsRecordTypes"], cond["route53:ChangeResourceRecordSetsActions"]) == (
        ["TXT"], ["UPSERT"])
    assert st["WaitForChange"] == {"Sid": "WaitForChange", "Effect": "Allow", "Action": "route53:GetChange",
                                   "Resource": "arn:aws:route53:::change/*"}


def test_the_schedule_runs_it_every_interval_with_a_role_that_may_only_invoke_it(canary_run):
    plan, run = canary_run
    sched = one(run, "aws:scheduler/schedule:Schedule")
    fn = one(run, "aws:lambda/function:Function")
    assert sched.inputs["scheduleExpression"] == plan.canary.schedule_expression == "rate(5 minutes)"
    assert sched.inputs["flexibleTimeWindow"] == {"mode": "OFF"} and sched.inputs["state"] == "ENABLED"
    target = sched.inputs["target"]
    assert target["arn"] == fn.outputs["arn"] and target["roleArn"].endswith("/canary-us-east-1-scheduler-role")
    role = {r.name: r for r in of_type(run, "aws:iam/role:Role")}["canary-us-east-1-scheduler-role"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"}
    assert statements(one(run, "aws:iam/rolePolicy:RolePolicy", "scheduler-invoke")) == [
        {"Sid": "InvokeCanary", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn.outputs["arn"]}]


def test_one_alarm_per_planned_alarm_notifying_an_encrypted_topic(canary_run):
    plan, run = canary_run
    topic = one(run, "aws:sns/topic:Topic")
    key = one(run, "aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"] and key.inputs["enableKeyRotation"] is True
    key_st = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert key_st["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert key_st["CloudWatchAlarmsPublish"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "000000000000"}}
    assert key_st["AccountAdministersTheKey"]["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}
    sub = one(run, "aws:sns/topicSubscription:TopicSubscription")
    assert (sub.inputs["protocol"], sub.inputs["endpoint"], sub.inputs["topic"]) == (
        "email", "pki-oncall@ca.example", topic.outputs["arn"])
    alarms = {a.inputs["name"]: a.inputs for a in of_type(run, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert sorted(alarms) == sorted(plan.alarm_names)
    for a, name in zip(plan.canary.alarms, plan.alarm_names):
        got = alarms[name]
        assert (got["namespace"], got["metricName"], got["dimensions"]) == (METRIC_NAMESPACE, a.metric, {"Stack": "t"})
        assert (got["statistic"], got["comparisonOperator"], got["threshold"]) == (a.statistic, a.comparison,
                                                                                   a.threshold)
        assert (got["evaluationPeriods"], got["period"], got["treatMissingData"]) == (a.periods, a.period_s,
                                                                                      a.treat_missing)
        assert got["alarmDescription"] == a.description
        assert got["alarmActions"] == got["okActions"] == [topic.outputs["arn"]]


def test_without_an_alarm_email_there_is_no_subscription():
    _, run = _canary_run()
    assert of_type(run, "aws:sns/topicSubscription:TopicSubscription") == []
    assert len(of_type(run, "aws:cloudwatch/metricAlarm:MetricAlarm")) == 3


# ----------------------------------------------------------------------------- the programs
@pytest.fixture(scope="module")
def hosts_plan():
    return plan_stack("aws-hosts")


def test_mpic_plan_aws_hosts_lists_the_canary_and_the_readyz_health_checks(hosts_plan):
    doc = hosts_plan.to_json()
    assert doc["error"] is None and doc["policy_violations"] == []
    by_type: dict[str, list[dict]] = {}
    for r in doc["resources"]:
        by_type.setdefault(r["type"], []).append(r)
    (sched,) = by_type["aws:scheduler/schedule:Schedule"]
    assert sched["inputs"]["scheduleExpression"] == "rate(5 minutes)" and sched["region"] == "us-east-1"
    (fn,) = by_type["aws:lambda/function:Function"]
    assert fn["inputs"]["handler"] == HANDLER and fn["inputs"]["environment"]["variables"]["MPIC_API_KEY"] == "[secret]"
    assert sorted(a["inputs"]["name"] for a in by_type["aws:cloudwatch/metricAlarm:MetricAlarm"]) == [
        "mpic-aws-hosts-canary-check-failed", "mpic-aws-hosts-canary-margin", "mpic-aws-hosts-canary-not-run"]
    checks = by_type["aws:route53/healthCheck:HealthCheck"]
    assert len(checks) == 2 and all(c["inputs"]["resourcePath"] == "/readyz" for c in checks)
    assert all(c["inputs"]["type"] == "HTTPS" for c in checks)
    out = doc["outputs"]
    assert out["canary_function"] == "mpic-aws-hosts-canary" and len(out["canary_alarms"]) == 3
    lines = [line for line in doc["monthly_cost_usd"]["lines"] if line["resource"].startswith("canary-")]
    assert {line["type"] for line in lines} >= {"aws:scheduler/schedule:Schedule", "aws:kms/key:Key",
                                                "aws:cloudwatch/metricAlarm:MetricAlarm"}


def test_hosts_canary_watches_the_public_domain_through_the_zone_lookup(hosts_plan):
    run = hosts_plan.run
    fn = one(run, "aws:lambda/function:Function")
    env = fn.inputs["environment"]["variables"]
    assert env["MPIC_COORDINATOR_URL"] == "https://mpic.example.com" and env["MPIC_API_KEY"].startswith("plan-")
    zones = {c.args["name"]: c for c in run.calls if c.token == "aws:route53/getZone:getZone"}
    assert set(zones) == {"example.com", "fleet-test.example"}  # the coordinator's zone, the canary's zone
    lookup = zones["fleet-test.example"]
    assert lookup.args["privateZone"] is False and "aws-us-east-1" in lookup.provider
    zone_id = json.loads(env["MPIC_DNS"])["zone_id"]
    assert zone_id.startswith("Z0MOCK")
    policy = {s["Sid"]: s for s in statements(one(run, "aws:iam/rolePolicy:RolePolicy", "canary-us-east-1-policy"))}
    assert policy["UpsertCanaryTxt"]["Resource"] == f"arn:aws:route53:::hostedzone/{zone_id}"
    assert provider_region(run, fn) == "us-east-1"


def test_lambda_canary_calls_the_api_gateway_base_url_with_the_first_key():
    run = run_stack(stack("aws-lambda"), "aws-lambda")
    assert run.error is None
    fn = one(run, "aws:lambda/function:Function", "canary")
    env = fn.inputs["environment"]["variables"]
    assert env["MPIC_COORDINATOR_URL"] == run.outputs["coordinator_url"]
    assert env["MPIC_COORDINATOR_URL"].endswith(".execute-api.us-east-1.amazonaws.com")  # the canary adds /v1/mpic
    assert env["MPIC_API_KEY"] == "key-one" == run.outputs["api_key"]
    assert fn.inputs["code"] and provider_region(run, fn) == "us-east-1"
    assert run.outputs["canary_function"] == "mpic-aws-lambda-canary"
    assert run.outputs["canary_alarm_topic"].endswith(":mpic-aws-lambda-canary-alarms")
    assert not [k for k in run.outputs if k != k.lower()]


@pytest.mark.parametrize("name", ["aws-hosts", "aws-lambda"])
def test_canary_off_creates_nothing_of_it(name):
    run = run_stack({**stack(name), "mpic:canary": {"enabled": False}}, name)
    assert run.error is None
    assert run.by_type("mpic:aws:Canary") == [] and run.by_type("aws:scheduler/schedule:Schedule") == []
    assert not [k for k in run.outputs if k.startswith("canary")]
    (manifest,) = run.by_type("mpic:fleet:Manifest")
    assert manifest.inputs["manifest"]["canary"] == {"enabled": False}  # the policy pack finds the same artifacts


def test_a_canary_outside_its_zone_is_refused_before_any_resource():
    run = run_stack({**stack("aws-hosts"), "mpic:canary": {"domain": "canary.ca.example"}})
    assert run.resources == [] and run.error.startswith("mpic:canary.domain:")


# ----------------------------------------------------------------------------- artifacts, prices
def test_aws_hosts_needs_the_coordinator_zip_only_for_the_canary(tmp_path, monkeypatch):
    assert needed(fleet(), "x86_64") == [("wheelhouse", "wheelhouse-linux_x86_64"), ("lambda", "mpic-coordinator-x86_64")]
    assert needed(fleet(canary={"enabled": False}), "arm64") == [("wheelhouse", "wheelhouse-linux_x86_64")]
    dist = tmp_path / "dist"
    (dist / "wheelhouse" / "linux_x86_64").mkdir(parents=True)
    (dist / MANIFEST).write_text(json.dumps({"source_sha256": source_sha256(), "artifacts": [
        {"kind": "wheelhouse", "name": "wheelhouse-linux_x86_64", "path": "dist/wheelhouse/linux_x86_64",
         "sha256": "0" * 64, "platform": "linux_x86_64"}]}))
    monkeypatch.setenv(DIST_ENV, str(dist))
    with pytest.raises(PlanError) as exc:
        require_artifacts(fleet())
    assert "no lambda mpic-coordinator-x86_64 (target aws-hosts deploys it as the canary function" in str(exc.value)
    assert "mpic:canary.enabled: false" in str(exc.value) and "./scripts/mpic build lambda" in str(exc.value)
    assert [a.name for a in require_artifacts(fleet(canary={"enabled": False})).artifacts] == [
        "wheelhouse-linux_x86_64"]


def test_the_canary_is_priced_by_its_schedule_not_as_a_perspective():
    fn = Priced("aws:lambda/function:Function", "canary-fn", "us-east-1",
                {"memorySize": 256, "tags": {"mpic:role": "canary"}})
    sched = Priced("aws:scheduler/schedule:Schedule", "canary-schedule", "us-east-1",
                   {"scheduleExpression": plan_canary(fleet(canary={"interval": 10})).schedule_expression})
    lines = estimate([fn, sched]).lines
    assert [line.unit for line in lines if line.name == "canary-fn"] == []  # its log lines: priced on its log group
    runs = next(line for line in lines if line.unit == "run")
    assert runs.quantity == pytest.approx(730 * 6) and runs.note == "a canary run every 10 min"
    seconds = next(line for line in lines if line.unit == "GB-second")
    ms = ASSUMPTIONS["canary_lambda_ms"]
    assert seconds.quantity == pytest.approx(730 * 6 * ms / 1000 * 0.25)  # its 256 MB, not Lambda's default
    assert seconds.unit_usd == unit_price("lambda.gb_second_x86_64", "us-east-1").usd


def test_the_canarys_seconds_are_priced_at_its_own_memory_and_architecture():
    sched = Priced("aws:scheduler/schedule:Schedule", "canary-schedule", "eu-west-1",
                   {"scheduleExpression": "rate(5 minutes)"})
    arm = Priced("aws:lambda/function:Function", "canary-fn", "eu-west-1",
                 {"memorySize": 512, "architectures": ["arm64"], "tags": {"mpic:role": "canary"}})
    other = Priced("aws:lambda/function:Function", "canary-fn-2", "us-east-1",  # another region's: not this one
                   {"memorySize": 2048, "tags": {"mpic:role": "canary"}})
    seconds = next(line for line in estimate([other, sched, arm]).lines
                   if line.unit == "GB-second" and line.region == "eu-west-1")
    runs = 730 * 12
    assert seconds.quantity == pytest.approx(runs * ASSUMPTIONS["canary_lambda_ms"] / 1000 * 0.5)
    assert seconds.unit_usd == unit_price("lambda.gb_second_arm64", "eu-west-1").usd
    assert seconds.unit_usd < unit_price("lambda.gb_second_x86_64", "eu-west-1").usd
    assert "(arm64)" in seconds.note
    alarm = estimate([Priced("aws:cloudwatch/metricAlarm:MetricAlarm", "a", "us-east-1", {})]).lines[0]
    assert alarm.usd == unit_price("cloudwatch.alarm_month", "us-east-1").usd == 0.10
