"""BR 5.4.3 on AWS under strict mocks: every region that writes audit lines keeps them two years in
a KMS-encrypted CloudWatch Logs group; every writer (host, Lambda, the canary) writes there and may
write nothing else; a shorter retention is refused by the gate, ``mpic plan`` and the policy pack."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
import yaml

from preview.mocks import run_program
from preview.engine import to_views
from config.audit import MIN_RETENTION_DAYS
from plan.audit import AGENT_CONFIG
from policy import rules
from tests.aws.conftest import provider_region
from tests.aws.test_program import SECRETS, hosts_run, lambda_run, run_stack, stack  # noqa: F401 (fixtures)

HOSTS_REGIONS = ["ap-northeast-1", "ap-southeast-2", "eu-west-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-2"]
LAMBDA_REGIONS = ["ap-northeast-1", "ap-southeast-2", "eu-west-1", "sa-east-1", "us-east-1", "us-west-2"]
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _audit(run, group: str) -> dict[str, tuple]:
    """region -> (its audit log group, its KMS key)."""
    groups = {provider_region(run, g): g for g in run.by_type(LOG_GROUP) if g.inputs["name"] == group}
    keys = {provider_region(run, k): k for k in run.by_type("aws:kms/key:Key") if "audit" in k.name}
    assert sorted(groups) == sorted(keys)
    return {r: (groups[r], keys[r]) for r in groups}


@pytest.mark.parametrize("name, regions", [("aws-hosts", HOSTS_REGIONS), ("aws-lambda", LAMBDA_REGIONS)])
def test_every_writing_region_keeps_two_years_encrypted_with_its_own_key(name, regions, request):
    run = request.getfixturevalue("hosts_run" if name == "aws-hosts" else "lambda_run")
    audit = _audit(run, f"/mpic/{name}/audit")
    assert sorted(audit) == regions
    for region, (group, key) in audit.items():
        assert group.inputs["retentionInDays"] == MIN_RETENTION_DAYS == 731
        assert group.inputs["kmsKeyId"] == key.outputs["arn"]
        assert key.inputs["enableKeyRotation"] is True
        policy = json.loads(key.inputs["policy"])
        [logs] = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptTheAuditGroup"]
        assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
        allowed = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        assert f"arn:aws:logs:{region}:000000000000:log-group:/mpic/{name}/audit" in allowed
        assert all(a.startswith(f"arn:aws:logs:{region}:") for a in allowed)  # its region's groups only


def test_hosts_ship_to_their_regions_group_and_may_write_only_there(hosts_run):
    audit = _audit(hosts_run, "/mpic/aws-hosts/audit")
    templates = hosts_run.by_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 7  # five perspective regions, two coordinator sites
    sites = set()
    for lt in templates:
        region = provider_region(hosts_run, lt)
        doc = yaml.safe_load(base64.b64decode(lt.inputs["userData"]).decode())
        files = {f["path"]: f["content"] for f in doc["write_files"]}
        [shipped] = json.loads(files[AGENT_CONFIG])["logs"]["logs_collected"]["files"]["collect_list"]
        assert shipped["log_group_name"] == audit[region][0].inputs["name"]
        sites.add(shipped["log_stream_name"].split("--")[0])
    assert sites == {"primary", "standby", "us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"}
    host_policies = [p for p in hosts_run.by_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-read-own")]
    assert len(host_policies) == 7
    for policy in host_policies:
        region = provider_region(hosts_run, policy)
        [write] = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "WriteAuditLines"]
        arn = audit[region][0].outputs["arn"]
        assert write["Resource"] == [arn, f"{arn}:log-stream:*"]
        assert "logs:CreateLogGroup" not in write["Action"] and "logs:DeleteLogGroup" not in write["Action"]


def test_functions_write_to_their_regions_group_and_the_canary_is_kept_as_long(lambda_run):
    audit = _audit(lambda_run, "/mpic/aws-lambda/audit")
    functions = lambda_run.by_type("aws:lambda/function:Function")
    canary = [f for f in functions if f.inputs["name"].endswith("-canary")]
    writers = [f for f in functions if f not in canary]
    assert len(writers) == 6 and len(canary) == 1
    for fn in writers:
        assert fn.inputs["loggingConfig"]["logGroup"] == audit[provider_region(lambda_run, fn)][0].inputs["name"]
    assert lambda_run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []  # no basic execution role
    [runs] = [g for g in lambda_run.by_type(LOG_GROUP) if g.inputs["name"] == "/aws/lambda/mpic-aws-lambda-canary"]
    group, key = audit["us-east-1"]
    assert (runs.inputs["retentionInDays"], runs.inputs["kmsKeyId"]) == (731, key.outputs["arn"])
    allowed = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"].startswith("CloudWatchLogs")][0]
    assert allowed["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        "arn:aws:logs:us-east-1:000000000000:log-group:/mpic/aws-lambda/audit",
        "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/mpic-aws-lambda-canary"]


def test_a_longer_retention_is_planned_as_given():
    run = run_stack({**stack("aws-lambda"), "mpic:audit": {"retentionDays": 1827}}, "aws-lambda")
    assert {g.inputs["retentionInDays"] for g in run.by_type(LOG_GROUP)} == {1827}


@pytest.mark.parametrize("name", ["aws-hosts", "aws-lambda"])
def test_ninety_days_is_refused_before_any_resource(name):
    run = run_program({**stack(name), **SECRETS, "mpic:audit": {"retentionDays": 90}}, stack=name,
                      secret_keys=list(SECRETS))
    assert run.error is not None and run.resources == []
    assert "mpic:audit.retentionDays: 90 days; BR 5.4.3" in str(run.error)


def test_a_lab_may_keep_less_and_says_so():
    config = {**stack("aws-lambda"), "mpic:audit": {"retentionDays": 90}, "mpic:complianceMode": "testing"}
    run = run_stack(config, "aws-lambda")
    assert {g.inputs["retentionInDays"] for g in run.by_type(LOG_GROUP)} == {90}


def test_the_policy_pack_refuses_a_short_or_unencrypted_group(lambda_run):
    _, views = to_views(lambda_run)
    assert [v for v in rules.evaluate(views) if v.policy == "audit-records-kept"] == []
    group = next(v for v in views if v.type == LOG_GROUP and v.props["name"] == "/mpic/aws-lambda/audit")
    def patch(**props):
        return [dataclasses.replace(v, props={**v.props, **props}) if v is group else v for v in views]

    short = patch(retentionInDays=90)
    found = rules.audit_records_kept(short)
    assert [v.resource for v in found] == [group.name] and "retentionInDays 90" in found[0].message
    assert "no kmsKeyId" in rules.audit_records_kept(patch(kmsKeyId=None))[0].message
    assert rules.audit_records_kept(patch(retentionInDays=0)) == []  # never expiring keeps them longer still


def test_mpic_check_and_plan_refuse_ninety_days(tmp_path):
    from typer.testing import CliRunner

    from cli.__main__ import app

    config = {**stack("aws-lambda"), "mpic:audit": {"retentionDays": 90}}
    path = tmp_path / "Pulumi.short.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    runner = CliRunner()
    checked = runner.invoke(app, ["check", str(path), "--json"])
    assert checked.exit_code == 1, checked.output
    [found] = json.loads(checked.stdout)["violations"]
    assert found["rule"] == "AUDIT" and "mpic:audit.retentionDays: 90 days" in found["message"]
    human = runner.invoke(app, ["check", str(path)])
    assert "NOT compliant with CA/B Forum BR 3.2.2.9 and 5.4.3" in human.output
    planned = runner.invoke(app, ["plan", str(path)])
    assert planned.exit_code == 1 and "Traceback" not in planned.output
    assert "VIOLATION AUDIT: mpic:audit.retentionDays: 90 days" in planned.output


def test_an_archive_bucket_per_region_locked_in_compliance_mode_for_the_retention():
    run = run_stack({**stack("aws-lambda"), "mpic:audit": {"archiveBucket": "example-ca-audit"}}, "aws-lambda")
    audit = _audit(run, "/mpic/aws-lambda/audit")
    buckets = {provider_region(run, b): b for b in run.by_type("aws:s3/bucket:Bucket") if "archive" in b.name}
    assert sorted(buckets) == LAMBDA_REGIONS
    for region, bucket in buckets.items():
        group, key = audit[region]
        assert (bucket.inputs["bucket"], bucket.inputs["objectLockEnabled"]) == (f"example-ca-audit-{region}", True)
        assert bucket.inputs.get("forceDestroy") is not True

        def child(kind: str):
            [found] = [r for r in run.by_type(kind) if r.name.startswith(f"audit-{region}-")]
            return found

        lock = child("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
        assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 731}
        sse = child("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]}
        stream = child("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
        s3 = stream.inputs["extendedS3Configuration"]
        assert s3["bucketArn"] == bucket.outputs["arn"] and s3["prefix"] == "mpic/aws-lambda/"
        assert [p["type"] for p in s3["processingConfiguration"]["processors"]] == [
            "Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]  # the lines, as written
        feed = child("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
        assert (feed.inputs["logGroup"], feed.inputs["destinationArn"], feed.inputs["filterPattern"]) == (
            group.inputs["name"], stream.outputs["arn"], "{ $.seq >= 0 }")
    _, views = to_views(run)
    assert rules.evaluate(views) == []  # encrypted, least privilege, nothing open


def test_an_archive_name_too_long_for_s3_is_refused_before_any_resource():
    long = "a" * 50
    run = run_program({**stack("aws-lambda"), **SECRETS, "mpic:audit": {"archiveBucket": long}}, stack="aws-lambda",
                      secret_keys=list(SECRETS), preview=True)
    assert run.error is not None and run.resources == []
    assert "mpic:audit.archiveBucket" in str(run.error) and "S3 allows 63" in str(run.error)
