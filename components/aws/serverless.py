"""Components of the ``aws-lambda`` target: a perspective function per region and the
coordinator function behind API Gateway (``POST /v1/mpic``, API key + usage plan).

The coordinator calls each perspective with ``lambda:Invoke`` (IAM-authenticated and TLS-encrypted,
as BR 3.2.2.9 requires) and its role may invoke exactly those functions. Cold starts (~8 s
upstream) are mitigated by scheduled warm-up invokes or provisioned concurrency.
"""

from __future__ import annotations

import json
from typing import NotRequired, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws.audit import AuditTarget
from components.aws.network import availability_zones
from plan.audit import writer_policy
from plan.aws.fleet import LambdaCoordinatorEnv, PerspectivePlan, assume_role_policy, name_tags

PYTHON_RUNTIME = "python3.11"
VPC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
WARMUP_EVENT = json.dumps({"warmup": True})


class ColdStart(TypedDict):
    mode: str
    """"warmup" | "provisioned" | "none" (``mpic:aws.coldStart``)."""
    warmup_minutes: int
    """Minutes between warm-up invokes in ``warmup`` mode (``mpic:aws.warmupMinutes``)."""
    provisioned_concurrency: int
    """Execution environments kept initialised in ``provisioned`` mode (``mpic:aws.provisionedConcurrency``)."""


class FunctionSpec(TypedDict):
    package: str
    """Path of the built deployment zip (``dist/lambda/mpic-<role>-<arch>.zip``, ``mpic build lambda``)."""
    handler: str
    """``module.function`` in the zip (the manifest's ``handler``)."""
    architecture: str
    """``x86_64`` | ``arm64`` (the zip was built for it)."""
    memory_mb: int
    """The function's memory (``mpic:aws.lambdaMemoryMb``; CPU scales with it)."""
    timeout_s: int
    """The function's timeout in seconds (``mpic:aws.lambdaTimeoutS``)."""
    cold_start: ColdStart
    """How cold starts are mitigated."""


def write_audit(owner: pulumi.Resource, name: str, role: aws.iam.Role, audit: AuditTarget) -> aws.iam.RolePolicy:
    """The function's only log permission: its streams of the region's audit group (no
    AWSLambdaBasicExecutionRole, which may create and write every log group of the account)."""
    return aws.iam.RolePolicy(
        f"{name}-write-audit", role=role.id,
        policy=pulumi.Output.from_input(audit["group_arn"]).apply(lambda arn: json.dumps(
            {"Version": "2012-10-17", "Statement": [writer_policy(arn)]})),
        opts=pulumi.ResourceOptions(parent=owner))


def _function(owner: pulumi.Resource, name: str, region: str, role_tag: str, *, function_name: str,
              role: aws.iam.Role, spec: FunctionSpec, env: pulumi.Input[dict[str, str]], audit: AuditTarget,
              vpc_config: aws.lambda_.FunctionVpcConfigArgs | None = None,
              depends_on: Sequence[pulumi.Resource] = ()) -> tuple[aws.lambda_.Function, pulumi.Output[str]]:
    """The function (its output, audit lines included, to the region's audit log group: one stream
    per execution environment, the writer's replica) and its cold-start mitigation; returns
    (function, invoke ARN)."""
    child = pulumi.ResourceOptions(parent=owner)
    mode = spec["cold_start"]["mode"]
    fn = aws.lambda_.Function(
        f"{name}-fn", name=function_name, role=role.arn, runtime=PYTHON_RUNTIME, handler=spec["handler"],
        code=pulumi.FileArchive(spec["package"]), memory_size=spec["memory_mb"], timeout=spec["timeout_s"],
        architectures=[spec["architecture"]], publish=mode == "provisioned",
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=env), vpc_config=vpc_config,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=audit["group_name"]),
        tags=name_tags(f"{name}-fn", role_tag, region),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=list(depends_on)))
    invoke_arn: pulumi.Output[str] = fn.arn
    if mode == "provisioned":
        alias = aws.lambda_.Alias(f"{name}-live", name="live", function_name=fn.name, function_version=fn.version,
                                  opts=child)
        aws.lambda_.ProvisionedConcurrencyConfig(
            f"{name}-provisioned", function_name=fn.name, qualifier=alias.name,
            provisioned_concurrent_executions=spec["cold_start"]["provisioned_concurrency"], opts=child)
        invoke_arn = alias.arn
    elif mode == "warmup":
        minutes = spec["cold_start"]["warmup_minutes"]
        rule = aws.cloudwatch.EventRule(
            f"{name}-warmup", schedule_expression=f"rate({minutes} minute{'s' if minutes > 1 else ''})",
            description=f"keep {function_name} warm", tags=name_tags(f"{name}-warmup", role_tag, region), opts=child)
        aws.cloudwatch.EventTarget(f"{name}-warmup-target", rule=rule.name, arn=fn.arn, input=WARMUP_EVENT,
                                   opts=child)
        aws.lambda_.Permission(f"{name}-warmup-permission", action="lambda:InvokeFunction", function=fn.name,
                               principal="events.amazonaws.com", source_arn=rule.arn, opts=child)
    return fn, invoke_arn


# ------------------------------------------------------------------------ PerspectiveFunction
class PerspectiveFunctionArgs(TypedDict):
    plan: PerspectivePlan
    """The perspective's plan (:func:`plan.aws.fleet.plan_lambda`): its region code, name and, in DNSSEC
    VPC mode, its VPC's CIDR blocks."""
    stack: str
    """The stack's name, part of the function's name (``mpic-<stack>-persp-<region>``)."""
    env: dict[str, str]
    """Its complete environment (:func:`plan.aws.fleet.lambda_perspective_env`: no slots, nothing secret)."""
    function: FunctionSpec
    """The built perspective zip and how it runs."""
    dnssec_vpc: bool
    """Run in a VPC whose Route53 Resolver validates DNSSEC (private subnets, a NAT gateway)."""
    audit: AuditTarget
    """The region's audit log group (:class:`components.aws.audit.AuditLogs`)."""


class PerspectiveFunction(pulumi.ComponentResource):
    """A remote perspective as a Lambda function in its own region. Outside a VPC it resolves
    through the region's Lambda resolver; in DNSSEC VPC mode through the VPC's validating Route53
    Resolver, and its traffic leaves through the region's own NAT gateway and internet gateway."""

    function_arn: pulumi.Output[str]
    """The ARN the coordinator invokes (the ``live`` alias with provisioned concurrency)."""

    def __init__(self, name: str, args: PerspectiveFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:PerspectiveFunction", name, None, opts)
        plan = args["plan"]
        region, role_tag = plan.code, "perspective"
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                            tags=name_tags(f"{name}-role", role_tag, region), opts=child)
        deps: list[pulumi.Resource] = [write_audit(self, name, role, args["audit"])]
        vpc_config = None
        if args["dnssec_vpc"]:
            vpc_config, vpc_deps = self._dnssec_vpc(name, plan, role)
            deps += vpc_deps
        _, self.function_arn = _function(
            self, name, region, role_tag, function_name=f"mpic-{args['stack']}-persp-{region}",
            role=role, spec=args["function"], env=args["env"], audit=args["audit"],
            vpc_config=vpc_config, depends_on=deps)
        self.register_outputs({"functionArn": self.function_arn})

    def _dnssec_vpc(self, name: str, plan: PerspectivePlan, role: aws.iam.Role
                    ) -> tuple[aws.lambda_.FunctionVpcConfigArgs, list[pulumi.Resource]]:
        region, role_tag = plan.code, "perspective"
        child = pulumi.ResourceOptions(parent=self)
        azs = availability_zones(self)
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=plan.vpc_cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags=name_tags(f"{name}-vpc", role_tag, region), opts=child)
        dnssec = aws.route53.ResolverDnsSecConfig(f"{name}-dnssec", resource_id=vpc.id, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=name_tags(f"{name}-igw", role_tag, region),
                                      opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                       tags=name_tags(f"{name}-public-rt", role_tag, region), opts=child)
        aws.ec2.Route(f"{name}-public-default-route", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)
        public = aws.ec2.Subnet(f"{name}-public-0", vpc_id=vpc.id, cidr_block=plan.public_subnets[0],
                                availability_zone=azs[0], tags=name_tags(f"{name}-public-0", role_tag, region),
                                opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-public-0-rta", subnet_id=public.id, route_table_id=public_rt.id,
                                      opts=child)
        eip = aws.ec2.Eip(f"{name}-nat-eip", domain="vpc", tags=name_tags(f"{name}-nat-eip", role_tag, region),
                          opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=public.id,
                                 tags=name_tags(f"{name}-nat", role_tag, region),
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id,
                                        tags=name_tags(f"{name}-private-rt", role_tag, region), opts=child)
        aws.ec2.Route(f"{name}-private-default-route", route_table_id=private_rt.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
        subnets = []
        for i, block in enumerate(plan.private_subnets):
            subnet = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=block, availability_zone=azs[i],
                                    tags=name_tags(f"{name}-private-{i}", role_tag, region), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}-rta", subnet_id=subnet.id,
                                          route_table_id=private_rt.id, opts=child)
            subnets.append(subnet)
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=vpc.id, description=f"MPIC perspective function {region}",
                                   tags=name_tags(f"{name}-sg", role_tag, region), opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-out-all", security_group_id=sg.id, ip_protocol="-1",
                                        cidr_ipv4="0.0.0.0/0", description="validation traffic leaves from this region",
                                        opts=child)
        attach = aws.iam.RolePolicyAttachment(f"{name}-vpc-access", role=role.name, policy_arn=VPC_EXECUTION,
                                              opts=child)
        config = aws.lambda_.FunctionVpcConfigArgs(subnet_ids=[s.id for s in subnets], security_group_ids=[sg.id])
        return config, [attach, dnssec, nat]


# -------------------------------------------------------------------------- LambdaCoordinator
class LambdaCoordinatorArgs(TypedDict):
    stack: str
    """The stack's name, part of the function's, API's and keys' names (``mpic-<stack>-coordinator``)."""
    region: str
    """The coordinator's region (``mpic:aws.coordinatorRegion``)."""
    env: LambdaCoordinatorEnv
    """Its complete environment but for the slots this component fills with the engine's values
    (``perspective_arns``, ``api_keys``, ``hash_secret``): :class:`plan.aws.fleet.LambdaCoordinatorEnv`."""
    perspective_arns: Sequence[pulumi.Input[str]]
    """The perspective functions' invoke ARNs, in the order of ``env.perspectives``: exactly the
    functions the coordinator may invoke and calls."""
    api_keys: pulumi.Input[Sequence[str]]
    """``mpic:apiKeys`` (a secret): the keys the coordinator accepts; the first ``api_gateway_keys``
    also API Gateway's."""
    hash_secret: pulumi.Input[str]
    """``mpic:hashSecret`` (a secret): seeds the per-domain cohort shuffle."""
    function: FunctionSpec
    """The built coordinator zip and how it runs."""
    audit: AuditTarget
    """The region's audit log group."""
    api_gateway_keys: NotRequired[int]
    """How many of ``api_keys`` (from the first) API Gateway admits (default 1)."""


def _nth_key(keys: Sequence[str], index: int) -> str:
    if index >= len(keys):
        raise ValueError(f"mpic:aws.apiGatewayKeys asks for {index + 1} API keys but mpic:apiKeys holds "
                         f"{len(keys)}. Add keys (pulumi config set --secret --path 'mpic:apiKeys[{index}]' ...) "
                         "or lower mpic:aws.apiGatewayKeys.")
    return keys[index]


class LambdaCoordinator(pulumi.ComponentResource):
    """The coordinator function behind an API Gateway REST API: ``POST /v1/mpic`` requires an
    API key (usage plan with throttling); its role may invoke exactly the perspective functions."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: LambdaCoordinatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:LambdaCoordinator", name, None, opts)
        region, role_tag = args["region"], "coordinator"
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                            tags=name_tags(f"{name}-role", role_tag, region), opts=child)
        basic = write_audit(self, name, role, args["audit"])
        invoke = aws.iam.RolePolicy(
            f"{name}-invoke-perspectives", role=role.id,
            policy=pulumi.Output.all(*args["perspective_arns"]).apply(lambda arns: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Sid": "InvokePerspectives", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                               "Resource": sorted(arns)}]})),
            opts=child)
        template = args["env"]
        env = pulumi.Output.all(pulumi.Output.all(*args["perspective_arns"]), args["api_keys"], args["hash_secret"]
                                ).apply(lambda a: template.fill(function_arns=a[0], api_keys=a[1], hash_secret=a[2]))
        fn, invoke_arn = _function(
            self, name, region, role_tag, function_name=f"mpic-{args['stack']}-coordinator",
            role=role, spec=args["function"], audit=args["audit"],
            env=pulumi.Output.secret(env), depends_on=[basic, invoke])

        api = aws.apigateway.RestApi(
            f"{name}-api", name=f"mpic-{args['stack']}", description="Open MPIC API (POST /v1/mpic)",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            tags=name_tags(f"{name}-api", role_tag, region), opts=child)
        resource = aws.apigateway.Resource(f"{name}-mpic", rest_api=api.id, parent_id=api.root_resource_id,
                                           path_part="mpic", opts=child)
        method = aws.apigateway.Method(f"{name}-post", rest_api=api.id, resource_id=resource.id, http_method="POST",
                                       authorization="NONE", api_key_required=True, opts=child)
        integration = aws.apigateway.Integration(
            f"{name}-integration", rest_api=api.id, resource_id=resource.id, http_method=method.http_method,
            integration_http_method="POST", type="AWS_PROXY", uri=fn.invoke_arn, opts=child)
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment", rest_api=api.id, triggers={"redeploy": "post-mpic-v1"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[method, integration]))
        stage = aws.apigateway.Stage(f"{name}-stage", rest_api=api.id, deployment=deployment.id, stage_name="v1",
                                     tags=name_tags(f"{name}-stage", role_tag, region), opts=child)
        aws.lambda_.Permission(f"{name}-apigw-permission", action="lambda:InvokeFunction", function=fn.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=api.execution_arn.apply(lambda a: f"{a}/*/POST/mpic"), opts=child)
        plan = aws.apigateway.UsagePlan(
            f"{name}-usage-plan", name=f"mpic-{args['stack']}",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=api.id, stage=stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(burst_limit=200, rate_limit=100),
            tags=name_tags(f"{name}-usage-plan", role_tag, region), opts=child)
        keys = pulumi.Output.from_input(args["api_keys"])
        for index in range(args.get("api_gateway_keys", 1)):
            suffix = "" if index == 0 else f"-{index}"
            key = aws.apigateway.ApiKey(
                f"{name}-key{suffix}", name=f"mpic-{args['stack']}-ejbca{suffix}", enabled=True,
                value=pulumi.Output.secret(keys.apply(lambda ks, i=index: _nth_key(ks, i))),
                tags=name_tags(f"{name}-key{suffix}", role_tag, region), opts=child)
            aws.apigateway.UsagePlanKey(f"{name}-usage-plan-key{suffix}", key_id=key.id, key_type="API_KEY",
                                        usage_plan_id=plan.id, opts=child)
        self.function_arn = invoke_arn
        self.url = stage.invoke_url.apply(lambda u: f"{u.rstrip('/')}/mpic")
        self.register_outputs({"url": self.url, "functionArn": self.function_arn})
