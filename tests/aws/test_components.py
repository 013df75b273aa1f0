"""Components under Pulumi's mocks (strict: any resource or invoke on a default provider fails).

Each test constructs the component inside the mocked program and asserts on what it registered:
provider region of every resource, health checks, ASG sizes, security-group rules, routes, IAM
statements, failover records.
"""

from __future__ import annotations

import base64
import json

import pulumi
import pytest
import yaml

from plan.aws import fleet as planners
from plan.failover import FailoverPlan
from components.aws.hosts import Coordinator, InterRegionNetwork, PerspectiveRegion
from components.failover import FailoverEndpoint
from components.aws.serverless import LambdaCoordinator, PerspectiveFunction
from components.pki import KitCa
from preview.mocks import run_callable
from tests.aws.conftest import (
    assert_no_default_provider,
    children_of,
    fleet,
    of_type,
    one,
    provider,
    provider_region,
    run_component,
    strict_mocks,
    tls_provider,
)

COORD_CIDRS = ["10.128.16.0/20", "10.128.48.0/20"]

RUNTIME = {"bucket": "mpic-runtime-0123", "read_arn": "arn:aws:s3:::mpic-runtime-0123/runtime/0123456789abcdef/*",
           "region": "us-east-1", "prefix": "runtime/0123456789abcdef",
           "files": ["mpic_fleet_runtime-0.1.0-py3-none-any.whl", "requirements.txt"]}


def _audit(region: str) -> dict:
    """What :class:`components.aws.audit.AuditLogs` gives the writers of ``region``."""
    return {"group_name": "/mpic/t/audit", "group_arn": f"arn:aws:logs:{region}:000000000000:log-group:/mpic/t/audit",
            "key_arn": f"arn:aws:kms:{region}:000000000000:key/audit"}


def _perspective_region(code: str = "eu-west-1"):
    f = fleet()
    plan = next(p for p in planners.plan_hosts(f).perspectives if p.code == code)

    def build():
        aws_p, tls_p = provider(code), tls_provider()
        ca = KitCa("kit-ca", {"common_name": "MPIC Fleet kit CA (t)"}, opts=pulumi.ResourceOptions(providers=[tls_p]))
        region = PerspectiveRegion(plan.name, {
            "plan": plan, "coordinator_cidrs": COORD_CIDRS, "perspective_port": 8443, "health_port": 8081,
            "instance_type": "t3.small", "image_id": f.aws.ami, "volume_size_gb": 16,
            "runtime": RUNTIME, "settings": planners.host_perspective_settings(f, plan),
            "ca_cert_pem": ca.cert_pem, "ca_private_key_pem": ca.private_key_pem, "audit": _audit(code),
        }, opts=pulumi.ResourceOptions(providers=[aws_p, tls_p]))
        pulumi.export("endpoint", region.endpoint)

    return plan, run_component(build)


@pytest.fixture(scope="module")
def perspective_run():
    return _perspective_region()


def test_every_aws_resource_of_a_perspective_region_is_on_its_region_provider(perspective_run):
    plan, run = perspective_run
    assert run.error is None
    aws_resources = [r for r in run.resources if r.custom and r.type.startswith("aws:")]
    assert len(aws_resources) > 20
    assert {provider_region(run, r) for r in aws_resources} == {"eu-west-1"}
    comp = one(run, "mpic:aws:PerspectiveRegion")
    assert all(r.name.startswith(f"{plan.name}-") for r in children_of(run, comp))
    zones = [c for c in run.calls if c.token == "aws:index/getAvailabilityZones:getAvailabilityZones"]
    assert zones and all(c.provider and "aws-eu-west-1" in c.provider for c in zones)
    assert run.outputs["endpoint"].startswith("https://persp-eu-west-1-nlb-") and \
        run.outputs["endpoint"].endswith(".elb.eu-west-1.amazonaws.com:8443")


def test_vpc_spans_two_azs_with_public_subnets_and_its_own_internet_gateway(perspective_run):
    plan, run = perspective_run
    vpc = one(run, "aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == plan.vpc_cidr and vpc.inputs["tags"]["Name"] == "persp-eu-west-1-vpc"
    subnets = of_type(run, "aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b"]
    assert all(s.inputs["mapPublicIpOnLaunch"] for s in subnets)
    igw = one(run, "aws:ec2/internetGateway:InternetGateway")
    routes = of_type(run, "aws:ec2/route:Route")
    assert len(routes) == 1
    assert routes[0].inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert routes[0].inputs["gatewayId"] == igw.outputs["id"]
    assert of_type(run, "aws:ec2/natGateway:NatGateway") == []


def test_security_group_admits_only_the_coordinator_network_on_the_perspective_port(perspective_run):
    plan, run = perspective_run
    rules = of_type(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    on_port = sorted(r.inputs["cidrIpv4"] for r in rules if r.inputs["fromPort"] == 8443)
    assert on_port == COORD_CIDRS
    health = [r for r in rules if r.inputs["fromPort"] == 8081]
    assert [r.inputs["cidrIpv4"] for r in health] == [plan.vpc_cidr]
    assert all(r.inputs["fromPort"] == r.inputs["toPort"] for r in rules)
    assert not any(r.inputs.get("fromPort") == 22 for r in rules)
    assert not any(r.inputs.get("cidrIpv4") == "0.0.0.0/0" for r in rules)


def test_launch_template_imdsv2_encrypted_ssm_no_ssh(perspective_run):
    _, run = perspective_run
    lt = one(run, "aws:ec2/launchTemplate:LaunchTemplate")
    assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
    assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"
    assert "keyName" not in lt.inputs
    assert of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []  # no broad managed policy
    doc = json.loads(one(run, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    session = next(st for st in doc["Statement"] if st["Sid"] == "SessionManager")
    assert "ssmmessages:OpenDataChannel" in session["Action"]
    assert not any(a.startswith("ssm:GetParameter") for a in session["Action"])
    user_data = base64.b64decode(lt.inputs["userData"]).decode()
    doc = yaml.safe_load(user_data)
    assert user_data.startswith("#cloud-config") and "unbound" in doc["packages"]


def test_instance_role_reads_only_its_own_parameters(perspective_run):
    plan, run = perspective_run
    params = of_type(run, "aws:ssm/parameter:Parameter")
    assert sorted(p.inputs["name"] for p in params) == sorted(
        f"{plan.ssm_prefix}/{n}" for n in ("tls-cert", "tls-key", "ca-cert"))
    assert {p.inputs["type"] for p in params} == {"SecureString"}
    doc = json.loads(one(run, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    [statement] = [s for s in doc["Statement"] if s["Sid"] == "ReadOwnParameters"]
    assert statement["Action"] == ["ssm:GetParameter"]
    assert statement["Resource"] == sorted(p.outputs["arn"] for p in params)
    assert all(":eu-west-1:" in arn for arn in statement["Resource"])
    assert _writes_audit("eu-west-1") in doc["Statement"]  # its streams of the region's audit group, no more


def test_asg_of_two_across_azs_behind_a_readyz_health_checked_nlb(perspective_run):
    _, run = perspective_run
    asg = one(run, "aws:autoscaling/group:Group")
    assert asg.inputs["minSize"] >= 2 and asg.inputs["desiredCapacity"] >= 2
    assert len(asg.inputs["vpcZoneIdentifiers"]) == 2 and asg.inputs["healthCheckType"] == "ELB"
    tg = one(run, "aws:lb/targetGroup:TargetGroup")
    assert asg.inputs["targetGroupArns"] == [tg.outputs["arn"]]
    hc = tg.inputs["healthCheck"]
    assert (hc["path"], hc["protocol"], hc["port"], hc["enabled"]) == ("/readyz", "HTTP", "8081", True)
    lb = one(run, "aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["internal"] is True and lb.inputs["loadBalancerType"] == "network"
    listener = one(run, "aws:lb/listener:Listener")
    assert listener.inputs["port"] == 8443 and listener.inputs["protocol"] == "TCP"


def test_perspective_certificate_names_its_load_balancer(perspective_run):
    _, run = perspective_run
    csr = one(run, "tls:index/certRequest:CertRequest", "persp-eu-west-1")
    lb = one(run, "aws:lb/loadBalancer:LoadBalancer")
    assert csr.inputs["dnsNames"] == [lb.outputs["dnsName"]]
    cert = one(run, "tls:index/locallySignedCert:LocallySignedCert", "persp-eu-west-1")
    assert {"server_auth", "client_auth"} <= set(cert.inputs["allowedUses"])


def _coordinator_run(role: str = "primary"):
    f = fleet()
    plan = planners.plan_hosts(f).coordinators[0 if role == "primary" else 1]

    def build():
        p = provider(plan.region)
        c = Coordinator(plan.name, {
            "plan": plan, "domain": f.aws.domain, "zone_id": "Z0MOCK", "coordinator_port": 8080,
            "instance_type": "t3.small", "image_id": f.aws.ami, "volume_size_gb": 16,
            "runtime": RUNTIME,
            "settings": pulumi.Output.from_input(planners.host_coordinator_settings(f, [])),
            "api_keys": pulumi.Output.secret(["k1", "k2"]), "hash_secret": pulumi.Output.secret("h"),
            "ca_cert_pem": "CA", "client_cert_pem": "CERT", "client_private_key_pem": pulumi.Output.secret("KEY"),
            "audit": _audit(plan.region),
        }, opts=pulumi.ResourceOptions(providers=[p]))
        pulumi.export("alb", c.alb_dns_name)

    return plan, run_component(build)


def test_coordinator_alb_https_with_acm_and_asg_of_two():
    plan, run = _coordinator_run()
    assert run.error is None
    assert {provider_region(run, r) for r in run.resources if r.custom and r.type.startswith("aws:")} == {"us-east-1"}
    cert = one(run, "aws:acm/certificate:Certificate")
    assert cert.inputs["domainName"] == "mpic.example.com" and cert.inputs["validationMethod"] == "DNS"
    record = one(run, "aws:route53/record:Record")
    assert record.inputs["zoneId"] == "Z0MOCK" and record.inputs["type"] == "CNAME"
    listener = one(run, "aws:lb/listener:Listener")
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (443, "HTTPS")
    assert listener.inputs["certificateArn"] == cert.outputs["arn"]
    asg = one(run, "aws:autoscaling/group:Group")
    assert asg.inputs["minSize"] >= 2 and len(asg.inputs["vpcZoneIdentifiers"]) == 2
    health = one(run, "aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]
    assert (health["path"], health["port"]) == ("/healthz", "9090")  # the internal listener, not the API port
    assert run.outputs["alb"].endswith(".elb.us-east-1.amazonaws.com")


def test_coordinator_alb_forwards_only_the_api():
    _, run = _coordinator_run()
    listener = one(run, "aws:lb/listener:Listener")
    (default,) = listener.inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "404"
    forwarded = set()
    for rule in of_type(run, "aws:lb/listenerRule:ListenerRule"):
        cond = {k: v for c in rule.inputs["conditions"] for k, v in c.items()}
        assert rule.inputs["actions"][0]["type"] == "forward"
        forwarded.add((cond["httpRequestMethod"]["values"][0], cond["pathPattern"]["values"][0]))
    assert forwarded == {("POST", "/mpic"), ("POST", "/v1/mpic"), ("GET", "/readyz")}  # no /healthz, no /metrics
    health_in = one(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "host-in-health")
    assert health_in.inputs["fromPort"] == 9090 and "cidrIpv4" not in health_in.inputs


def test_coordinator_only_the_alb_listener_is_public_and_hosts_admit_only_the_alb():
    _, run = _coordinator_run()
    rules = of_type(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    public = [r for r in rules if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert len(public) == 1 and (public[0].inputs["fromPort"], public[0].inputs["toPort"]) == (443, 443)
    alb_sg = one(run, "aws:ec2/securityGroup:SecurityGroup", "alb-sg")
    assert alb_sg.inputs["tags"][planners.TAG_ROLE] == planners.COORDINATOR_LISTENER_ROLE
    host_in = one(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "host-in-alb")
    assert host_in.inputs["referencedSecurityGroupId"] == alb_sg.outputs["id"] and host_in.inputs["fromPort"] == 8080


def test_coordinator_secrets_from_pulumi_secrets_readable_only_by_its_role():
    plan, run = _coordinator_run("standby")
    version = one(run, "aws:secretsmanager/secretVersion:SecretVersion")
    assert json.loads(version.inputs["secretString"]) == {"api_keys": ["k1", "k2"], "hash_secret": "h"}
    secret = one(run, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == plan.secret_name
    doc = json.loads(one(run, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["ReadOwnSecret"]["Resource"] == [secret.outputs["arn"]]
    assert all(":us-east-2:" in a for a in by_sid["ReadOwnParameters"]["Resource"])
    user_data = base64.b64decode(one(run, "aws:ec2/launchTemplate:LaunchTemplate").inputs["userData"]).decode()
    assert secret.outputs["arn"] in user_data and "k1" not in user_data


def test_failover_records_primary_and_secondary_with_health_checks():
    def build():
        p = provider("us-east-1")
        FailoverEndpoint("coordinator-failover", {
            "region": "us-east-1", "domain": "mpic.example.com", "zone_id": "Z0MOCK",
            "primary": {"region": "us-east-1", "alb_dns_name": "a.elb.us-east-1.amazonaws.com", "alb_zone_id": "ZA"},
            "standby": {"region": "us-east-2", "alb_dns_name": "b.elb.us-east-2.amazonaws.com", "alb_zone_id": "ZB"},
            "check": FailoverPlan("mpic.example.com", interval_s=10, failure_threshold=2, ttl_s=60),
        }, opts=pulumi.ResourceOptions(providers=[p]))

    run = run_component(build)
    checks = {c.outputs["id"]: c for c in of_type(run, "aws:route53/healthCheck:HealthCheck")}
    assert {(c.inputs["type"], c.inputs["resourcePath"], c.inputs["port"], c.inputs["requestInterval"],
             c.inputs["failureThreshold"]) for c in checks.values()} == {("HTTPS", "/readyz", 443, 10, 2)}
    records = {r.inputs["failoverRoutingPolicies"][0]["type"]: r for r in of_type(run, "aws:route53/record:Record")}
    assert set(records) == {"PRIMARY", "SECONDARY"}
    assert records["PRIMARY"].inputs["aliases"][0]["name"] == "a.elb.us-east-1.amazonaws.com"
    assert records["SECONDARY"].inputs["aliases"][0]["zoneId"] == "ZB"
    for r in records.values():
        assert r.inputs["name"] == "mpic.example.com" and r.inputs["type"] == "A"
        assert r.inputs["aliases"][0]["evaluateTargetHealth"] is True
        assert checks[r.inputs["healthCheckId"]].inputs["fqdn"] == r.inputs["aliases"][0]["name"]


def test_failover_without_standby_has_only_a_primary_record():
    def build():
        FailoverEndpoint("fo", {"region": "us-east-1", "domain": "mpic.example.com", "zone_id": "Z", "standby": None,
                                "primary": {"region": "us-east-1", "alb_dns_name": "a", "alb_zone_id": "ZA"},
                                "check": FailoverPlan("mpic.example.com", 30, 3, 60)},
                         opts=pulumi.ResourceOptions(providers=[provider("us-east-1")]))

    run = run_component(build)
    assert [r.inputs["failoverRoutingPolicies"][0]["type"] for r in of_type(run, "aws:route53/record:Record")] == [
        "PRIMARY"]


def test_inter_region_peering_routes_only_peer_cidrs_on_each_side():
    link = planners.plan_hosts(fleet()).peerings[1]  # us-east-1 <-> eu-west-1

    def build():
        c, p = provider("us-east-1"), provider("eu-west-1")
        InterRegionNetwork(link.name, {
            "plan": link,
            "coordinator": {"vpc_id": "vpc-c", "route_table_id": "rtb-c", "provider": c},
            "perspective": {"vpc_id": "vpc-p", "route_table_id": "rtb-p", "provider": p},
        })

    run = run_component(build)
    pcx = one(run, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
    assert provider_region(run, pcx) == "us-east-1" and pcx.inputs["peerRegion"] == "eu-west-1"
    assert (pcx.inputs["vpcId"], pcx.inputs["peerVpcId"]) == ("vpc-c", "vpc-p")
    accept = one(run, "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")
    assert provider_region(run, accept) == "eu-west-1" and accept.inputs["autoAccept"] is True
    routes = {provider_region(run, r): r.inputs for r in of_type(run, "aws:ec2/route:Route")}
    assert routes["us-east-1"]["routeTableId"] == "rtb-c"
    assert routes["us-east-1"]["destinationCidrBlock"] == link.perspective_cidr
    assert routes["eu-west-1"]["routeTableId"] == "rtb-p"
    assert routes["eu-west-1"]["destinationCidrBlock"] == link.coordinator_cidr
    assert all("0.0.0.0/0" != r["destinationCidrBlock"] and "vpcPeeringConnectionId" in r for r in routes.values())


def _function_run(**aws):
    f = fleet("aws-lambda", aws=aws)
    plan = planners.plan_lambda(f).perspectives[3]
    spec = {"package": "dist/x.zip", "handler": "service.lambda_handler.perspective_handler",
            "architecture": f.aws.architecture, "memory_mb": 512, "timeout_s": 30,
            "cold_start": {"mode": f.aws.cold_start, "warmup_minutes": f.aws.warmup_minutes,
                           "provisioned_concurrency": f.aws.provisioned_concurrency}}

    def build():
        fn = PerspectiveFunction(plan.name, {"plan": plan, "stack": "t", "env": planners.lambda_perspective_env(
            f, plan), "function": spec, "dnssec_vpc": f.aws.dnssec_vpc, "audit": _audit(plan.code)},
            opts=pulumi.ResourceOptions(providers=[provider(plan.code)]))
        pulumi.export("arn", fn.function_arn)

    return plan, run_component(build)


def _writes_audit(region: str) -> dict:
    group = f"arn:aws:logs:{region}:000000000000:log-group:/mpic/t/audit"
    return {"Sid": "WriteAuditLines", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group, f"{group}:log-stream:*"]}


def test_perspective_function_with_warmup():
    plan, run = _function_run()
    fn = one(run, "aws:lambda/function:Function")
    # its output (the audit lines) goes to the region's audit group, and that is all it may write
    assert fn.inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": "/mpic/t/audit"}
    assert of_type(run, "aws:cloudwatch/logGroup:LogGroup") == []
    assert of_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert json.loads(one(run, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"] == [
        _writes_audit("sa-east-1")]
    assert fn.inputs["handler"] == "service.lambda_handler.perspective_handler"
    assert fn.inputs["environment"]["variables"]["MPIC_CODE"] == "sa-east-1"
    assert "vpcConfig" not in fn.inputs
    rule = one(run, "aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    target = one(run, "aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == fn.outputs["arn"] and json.loads(target.inputs["input"]) == {"warmup": True}
    assert one(run, "aws:lambda/permission:Permission").inputs["principal"] == "events.amazonaws.com"
    assert {provider_region(run, r) for r in run.resources if r.custom and r.type.startswith("aws:")} == {"sa-east-1"}
    assert run.outputs["arn"] == fn.outputs["arn"]


def test_perspective_function_with_provisioned_concurrency_is_invoked_through_its_alias():
    _, run = _function_run(coldStart="provisioned", provisionedConcurrency=2)
    fn = one(run, "aws:lambda/function:Function")
    assert fn.inputs["publish"] is True
    alias = one(run, "aws:lambda/alias:Alias")
    pc = one(run, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert pc.inputs["provisionedConcurrentExecutions"] == 2 and pc.inputs["qualifier"] == "live"
    assert run.outputs["arn"] == alias.outputs["arn"] and run.outputs["arn"].endswith(":live")
    assert of_type(run, "aws:cloudwatch/eventRule:EventRule") == []


def test_perspective_function_without_mitigation_and_one_minute_warmup():
    _, run = _function_run(coldStart="none")
    assert of_type(run, "aws:cloudwatch/eventRule:EventRule") == [] and of_type(run, "aws:lambda/alias:Alias") == []
    _, run = _function_run(warmupMinutes=1)
    assert one(run, "aws:cloudwatch/eventRule:EventRule").inputs["scheduleExpression"] == "rate(1 minute)"


def test_perspective_function_in_a_dnssec_validating_vpc_leaves_through_its_own_nat():
    plan, run = _function_run(dnssecVpc=True)
    vpc = one(run, "aws:ec2/vpc:Vpc")
    dnssec = one(run, "aws:route53/resolverDnsSecConfig:ResolverDnsSecConfig")
    assert dnssec.inputs["resourceId"] == vpc.outputs["id"]
    nat = one(run, "aws:ec2/natGateway:NatGateway")
    igw = one(run, "aws:ec2/internetGateway:InternetGateway")
    defaults = {r.name: r.inputs for r in of_type(run, "aws:ec2/route:Route")}
    assert defaults[f"{plan.name}-private-default-route"]["natGatewayId"] == nat.outputs["id"]
    assert defaults[f"{plan.name}-public-default-route"]["gatewayId"] == igw.outputs["id"]
    fn = one(run, "aws:lambda/function:Function")
    private = [s for s in of_type(run, "aws:ec2/subnet:Subnet") if "private" in s.name]
    assert sorted(fn.inputs["vpcConfig"]["subnetIds"]) == sorted(s.outputs["id"] for s in private)
    assert {provider_region(run, r) for r in run.resources if r.custom and r.type.startswith("aws:")} == {"sa-east-1"}


def test_lambda_coordinator_api_gateway_key_and_exact_invoke_permissions():
    f = fleet("aws-lambda")
    perspectives = planners.plan_lambda(f).perspectives
    arns = [f"arn:aws:lambda:{p.code}:000000000000:function:mpic-t-persp-{p.code}" for p in perspectives]

    def build():
        c = LambdaCoordinator("coord-us-east-1", {
            "stack": "t", "region": "us-east-1", "env": planners.LambdaCoordinatorEnv(f, perspectives),
            "perspective_arns": [pulumi.Output.from_input(a) for a in arns],  # outputs of the perspective functions
            "api_keys": pulumi.Output.secret(["key-a", "key-b"]),
            "hash_secret": pulumi.Output.secret("h"),
            "function": {"package": "x.zip", "handler": "service.lambda_handler.coordinator_handler",
                         "architecture": "arm64", "memory_mb": 1024, "timeout_s": 60,
                         "cold_start": {"mode": "warmup", "warmup_minutes": 5, "provisioned_concurrency": 1}},
            "audit": _audit("us-east-1"),
        }, opts=pulumi.ResourceOptions(providers=[provider("us-east-1")]))
        pulumi.export("url", c.url)

    run = run_component(build)
    policies = {p.name: json.loads(p.inputs["policy"]) for p in of_type(run, "aws:iam/rolePolicy:RolePolicy")}
    assert policies["coord-us-east-1-write-audit"]["Statement"] == [_writes_audit("us-east-1")]
    doc = policies["coord-us-east-1-invoke-perspectives"]
    assert doc["Statement"] == [{"Sid": "InvokePerspectives", "Effect": "Allow",
                                 "Action": ["lambda:InvokeFunction"], "Resource": sorted(arns)}]
    fn = one(run, "aws:lambda/function:Function")
    env = fn.inputs["environment"]["variables"]
    assert fn.inputs["handler"] == "service.lambda_handler.coordinator_handler"
    # the component only fills the renderer's slots with the engine's values: nothing added, nothing dropped
    assert env == planners.LambdaCoordinatorEnv(f, perspectives).fill(function_arns=arns, api_keys=["key-a", "key-b"],
                                                                      hash_secret="h")
    assert json.loads(env["MPIC_API_KEYS"]) == ["key-a", "key-b"] and env["MPIC_HASH_SECRET"] == "h"
    assert [p["url"] for p in json.loads(env["MPIC_PERSPECTIVES"])] == [f"lambda:{a}" for a in arns]
    assert set(fn.public_inputs["environment"]["variables"].values()) == {"[secret]"}  # keys, hash secret: secrets
    assert one(run, "aws:apigateway/resource:Resource").inputs["pathPart"] == "mpic"
    method = one(run, "aws:apigateway/method:Method")
    assert (method.inputs["httpMethod"], method.inputs["apiKeyRequired"]) == ("POST", True)
    assert one(run, "aws:apigateway/integration:Integration").inputs["type"] == "AWS_PROXY"
    assert one(run, "aws:apigateway/stage:Stage").inputs["stageName"] == "v1"
    assert one(run, "aws:apigateway/apiKey:ApiKey").inputs["value"] == "key-a"
    plan = one(run, "aws:apigateway/usagePlan:UsagePlan")
    assert plan.inputs["apiStages"][0]["stage"] == "v1" and plan.inputs["throttleSettings"]["rateLimit"] == 100
    assert one(run, "aws:apigateway/usagePlanKey:UsagePlanKey").inputs["keyType"] == "API_KEY"
    perms = {p.inputs["principal"]: p for p in of_type(run, "aws:lambda/permission:Permission")}
    assert perms["apigateway.amazonaws.com"].inputs["sourceArn"].endswith("/*/POST/mpic")
    assert run.outputs["url"].endswith(".execute-api.us-east-1.amazonaws.com/v1/mpic")


def test_strict_mocks_fail_a_resource_on_a_default_provider():
    def build():
        PerspectiveFunction("persp-x", {"plan": planners.plan_lambda(fleet("aws-lambda")).perspectives[0],
                                        "stack": "t", "env": {}, "dnssec_vpc": False, "audit": _audit("x"),
                                        "function": {"package": "x", "handler": "h.h", "architecture": "x86_64",
                                                     "memory_mb": 128, "timeout_s": 5,
                                                     "cold_start": {"mode": "none", "warmup_minutes": 5,
                                                                    "provisioned_concurrency": 1}}})

    mocks = strict_mocks()
    run_callable(build, mocks=mocks)
    assert "aws:iam/role:Role persp-x-role" in mocks.default_provider_uses
    assert "invoke aws:index/getAvailabilityZones:getAvailabilityZones" not in mocks.default_provider_uses
    with pytest.raises(AssertionError, match="on a default provider"):
        assert_no_default_provider(mocks)
