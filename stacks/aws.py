"""The AWS targets' stack programs: plans -> one explicit provider per region -> components.

Called by :func:`stacks.program.main` (the Pulumi program) with the validated, compliance-checked config and the secrets; returns
the stack outputs. Default providers are disabled (``pulumi:disable-default-providers``): every
resource reaches its region's provider through its component's ``providers``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from components.aws.hosts import (
    Coordinator,
    CoordinatorArgs,
    InterRegionNetwork,
    PerspectiveRegion,
    RuntimeArgs,
)
from components.aws.audit import AuditLogs
from components.failover import FailoverEndpoint
from components.aws.canary import Canary
from components.aws.runtime import RuntimeBucket
from plan.aws.fleet import (
    AMAZON_ROOT_CA_1,
    LambdaCoordinatorEnv,
    default_tags,
    host_coordinator_settings,
    host_perspective_settings,
    lambda_perspective_env,
    plan_hosts,
    plan_lambda,
    runtime_prefix,
)
from components.aws.serverless import LambdaCoordinator, PerspectiveFunction
from components.inputs import StackSecrets
from components.pki import CA_COMMON_NAME, KitCa
from config.model import StackConfig
from plan import audit as audit_plan
from plan import outputs
from plan.artifacts import PLATFORMS, Built, lambda_name, wheelhouse_name
from plan.aws.canary import AwsCanaryEnv, AwsCanaryPlan, plan_aws_canary
from plan.failover import plan_failover
from plan.outputs import STATUS_KEYS


def region_providers(fleet: StackConfig, regions: tuple[str, ...]) -> dict[str, aws.Provider]:
    """One explicit ``aws.Provider`` per region, named ``aws-<region>``, with default tags."""
    return {r: aws.Provider(f"aws-{r}", region=r,
                            default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(fleet, r)))
            for r in regions}


def status_outputs(status: pulumi.Input[dict], secrets: StackSecrets) -> dict[str, Any]:
    """The outputs every target exports (:mod:`plan.outputs`), the API key as a secret."""
    status = pulumi.Output.from_input(status)
    out: dict[str, Any] = {k: status.apply(lambda s, k=k: s[k]) for k in STATUS_KEYS if k != "api_key"}
    out["api_key"] = pulumi.Output.secret(secrets.api_keys).apply(lambda ks: ks[0])
    return out


def _function_spec(fleet: StackConfig, built: Built, role: str) -> dict:
    a = fleet.aws
    artifact = built.get("lambda", lambda_name(role, a.architecture))
    return {"package": str(built.path(artifact)), "handler": artifact.handler, "architecture": a.architecture,
            "memory_mb": a.lambda_memory_mb, "timeout_s": a.lambda_timeout_s,
            "cold_start": {"mode": a.cold_start, "warmup_minutes": a.warmup_minutes,
                           "provisioned_concurrency": a.provisioned_concurrency}}


def runtime_bucket(fleet: StackConfig, built: Built, provider: aws.Provider) -> RuntimeArgs:
    """The built wheelhouse, uploaded to the kit's private bucket in the coordinator's region."""
    house = built.get("wheelhouse", wheelhouse_name(PLATFORMS[fleet.aws.architecture]))
    folder = built.path(house)
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    prefix = runtime_prefix(house.sha256)
    bucket = RuntimeBucket("runtime", {"region": fleet.aws.coordinator_region, "wheelhouse": str(folder),
                                       "prefix": prefix, "files": files},
                           opts=pulumi.ResourceOptions(providers=[provider]))
    return {"bucket": bucket.bucket, "read_arn": bucket.read_arn, "region": fleet.aws.coordinator_region,
            "prefix": prefix, "files": files}


def archives(fleet: StackConfig) -> dict[str, str | None]:
    """Each writing region's archive bucket (None without ``mpic:audit.archiveBucket``): checked
    before any resource exists."""
    return {r: audit_plan.archive_bucket(fleet, r) for r in audit_plan.log_regions(fleet)}


def audit_logs(fleet: StackConfig, providers: dict[str, aws.Provider], canary_p: AwsCanaryPlan | None,
               archive: dict[str, str | None]) -> dict[str, AuditLogs]:
    """The audit log group and its KMS key in every region that writes audit lines (:mod:`plan.audit`),
    with ``mpic:audit.archiveBucket`` an S3 copy under Object Lock; the coordinator region's key
    also encrypts the canary's run log."""
    group = audit_plan.log_group(fleet)
    return {r: AuditLogs(f"audit-{r}", {
        "region": r, "group": group, "retention_days": fleet.audit.retention_days,
        "also_encrypts": [canary_p.log_group] if canary_p is not None and canary_p.region == r else [],
        "archive_bucket": archive[r], "stack": fleet.name,
    }, opts=pulumi.ResourceOptions(providers=[providers[r]])) for r in archive}


def canary_plan(fleet: StackConfig, built: Built) -> AwsCanaryPlan | None:
    """The canary's plan (None when ``mpic:canary.enabled`` is false): validated before any
    resource exists; it runs the coordinator's built Lambda zip."""
    if not fleet.canary.enabled:
        return None
    zip_ = built.get("lambda", lambda_name("coordinator", fleet.aws.architecture))
    return plan_aws_canary(fleet, str(built.path(zip_)))


def canary(fleet: StackConfig, plan: AwsCanaryPlan | None, provider: aws.Provider,
           coordinator_url: pulumi.Input[str], secrets: StackSecrets, audit: dict[str, AuditLogs]) -> dict[str, Any]:
    """The canary in the coordinator's region, watching ``coordinator_url`` (the public base URL);
    returns its stack outputs (none when it is off)."""
    if plan is None:
        return {}
    # Only the canary's own zone, looked up by name through the coordinator region's provider.
    zone = aws.route53.get_zone_output(name=plan.hosted_zone, private_zone=False,
                                       opts=pulumi.InvokeOptions(provider=provider))
    component = Canary(plan.name, {
        "plan": plan, "zone_id": zone.zone_id, "coordinator_url": coordinator_url, "env": AwsCanaryEnv(fleet, plan),
        "api_key": pulumi.Output.secret(secrets.api_keys).apply(lambda ks: ks[0]),
        "log_key_arn": audit[plan.region].key_arn,
    }, opts=pulumi.ResourceOptions(providers=[provider]))
    return {"canary_function": component.function_name, "canary_alarms": component.alarm_names,
            "canary_alarm_topic": component.topic_arn}


def deploy_hosts(fleet: StackConfig, secrets: StackSecrets, built: Built) -> dict[str, Any]:
    """Target ``aws-hosts``: perspective regions, coordinators (primary + standby), peering, failover,
    the canary."""
    plan = plan_hosts(fleet)
    canary_p = canary_plan(fleet, built)
    archive = archives(fleet)
    a = fleet.aws
    providers = region_providers(fleet, plan.regions)
    audit = audit_logs(fleet, providers, canary_p, archive)
    runtime = runtime_bucket(fleet, built, providers[plan.coordinators[0].region])
    tls_provider = tls.Provider("tls")
    ca = KitCa("kit-ca", {"common_name": f"{CA_COMMON_NAME} ({fleet.name})"},
               opts=pulumi.ResourceOptions(providers=[tls_provider]))

    regions: dict[str, PerspectiveRegion] = {}
    for p in plan.perspectives:
        regions[p.code] = PerspectiveRegion(p.name, {
            "plan": p, "coordinator_cidrs": list(plan.coordinator_cidrs), "perspective_port": a.perspective_port,
            "health_port": a.health_port, "instance_type": a.instance_type, "image_id": a.ami,
            "volume_size_gb": a.volume_size_gb, "runtime": runtime,
            "settings": host_perspective_settings(fleet, p),
            "ca_cert_pem": ca.cert_pem, "ca_private_key_pem": ca.private_key_pem, "audit": audit[p.code].target,
        }, opts=pulumi.ResourceOptions(providers=[providers[p.code], tls_provider]))

    targets = pulumi.Output.all(*[regions[p.code].endpoint for p in plan.perspectives]).apply(
        lambda urls: [{"code": p.code, "rir": p.rir, "url": u} for p, u in zip(plan.perspectives, urls)])
    primary_provider = providers[plan.coordinators[0].region]
    zone = aws.route53.get_zone_output(name=a.hosted_zone, private_zone=False,
                                       opts=pulumi.InvokeOptions(provider=primary_provider))

    coordinators: dict[str, Coordinator] = {}
    for c in plan.coordinators:
        args: CoordinatorArgs = {
            "plan": c, "domain": a.domain, "zone_id": zone.zone_id, "coordinator_port": a.coordinator_port,
            "instance_type": a.coordinator_instance_type, "image_id": a.ami, "volume_size_gb": a.volume_size_gb,
            "runtime": runtime,
            "settings": targets.apply(lambda t, site=c.role: host_coordinator_settings(fleet, t, site)),
            "api_keys": secrets.api_keys, "audit": audit[c.region].target,
            "hash_secret": secrets.hash_secret, "ca_cert_pem": ca.cert_pem,
            "client_cert_pem": ca.client.cert_pem, "client_private_key_pem": ca.client.key_pem,
        }
        if coordinators:  # the standby reuses the primary's ACM validation record (one record per domain)
            args["validation_record_fqdn"] = next(iter(coordinators.values())).validation_record_fqdn
        coordinators[c.region] = Coordinator(c.name, args, opts=pulumi.ResourceOptions(providers=[providers[c.region]]))

    for link in plan.peerings:
        coord, persp = coordinators[link.coordinator_region], regions[link.perspective_region]
        InterRegionNetwork(link.name, {
            "plan": link,
            "coordinator": {"vpc_id": coord.vpc_id, "route_table_id": coord.route_table_id,
                            "provider": providers[link.coordinator_region]},
            "perspective": {"vpc_id": persp.vpc_id, "route_table_id": persp.route_table_id,
                            "provider": providers[link.perspective_region]},
        })

    def target(c) -> dict:
        return {"region": c.region, "alb_dns_name": coordinators[c.region].alb_dns_name,
                "alb_zone_id": coordinators[c.region].alb_zone_id}

    FailoverEndpoint("coordinator-failover", {
        "region": plan.coordinators[0].region, "domain": a.domain, "zone_id": zone.zone_id,
        "primary": target(plan.coordinators[0]),
        "standby": target(plan.coordinators[1]) if len(plan.coordinators) > 1 else None,
        "check": plan_failover(fleet, a.domain, alias=True),
    }, opts=pulumi.ResourceOptions(providers=[primary_provider]))

    all_hosts = pulumi.Output.all(*[regions[p.code].hosts for p in plan.perspectives],
                                  *[coordinators[c.region].hosts for c in plan.coordinators])

    def status(groups: list) -> dict:
        perspectives = [{"code": p.code, "rir": p.rir, "hosts": [h["name"] for h in hosts]}
                        for p, hosts in zip(plan.perspectives, groups)]
        return outputs.status(stack=fleet.name, coordinator_url=f"https://{a.domain}", ca_cert=AMAZON_ROOT_CA_1,
                              test_domain=fleet.test_domain, perspectives=perspectives,
                              hosts=[h for hosts in groups for h in hosts], auth_failure_status=401,
                              api_paths=outputs.KIT_API_PATHS)

    return {
        **status_outputs(all_hosts.apply(status), secrets),
        "perspective_endpoints": {p.code: regions[p.code].endpoint for p in plan.perspectives},
        "coordinator_regions": {c.role: c.region for c in plan.coordinators},
        "coordinator_albs": {c.region: coordinators[c.region].alb_dns_name for c in plan.coordinators},
        "kit_ca_cert": ca.cert_pem,
        **canary(fleet, canary_p, primary_provider, f"https://{a.domain}", secrets, audit),
    }


def deploy_lambda(fleet: StackConfig, secrets: StackSecrets, built: Built) -> dict[str, Any]:
    """Target ``aws-lambda``: a perspective function per region, the coordinator behind API Gateway,
    the canary."""
    plan = plan_lambda(fleet)
    canary_p = canary_plan(fleet, built)
    archive = archives(fleet)
    a = fleet.aws
    providers = region_providers(fleet, plan.regions)
    audit = audit_logs(fleet, providers, canary_p, archive)
    spec = _function_spec(fleet, built, "perspective")

    functions = {p.code: PerspectiveFunction(p.name, {
        "plan": p, "stack": fleet.name, "env": lambda_perspective_env(fleet, p), "function": spec,
        "dnssec_vpc": a.dnssec_vpc, "audit": audit[p.code].target,
    }, opts=pulumi.ResourceOptions(providers=[providers[p.code]])) for p in plan.perspectives}

    arns = [functions[p.code].function_arn for p in plan.perspectives]
    coordinator = LambdaCoordinator(f"coord-{plan.coordinator_region}", {
        "stack": fleet.name, "region": plan.coordinator_region, "env": LambdaCoordinatorEnv(fleet, plan.perspectives),
        "perspective_arns": arns, "api_keys": secrets.api_keys,
        "hash_secret": secrets.hash_secret, "function": _function_spec(fleet, built, "coordinator"),
        "api_gateway_keys": fleet.aws.api_gateway_keys, "audit": audit[plan.coordinator_region].target,
    }, opts=pulumi.ResourceOptions(providers=[providers[plan.coordinator_region]]))

    base = coordinator.url.apply(lambda u: u.removesuffix("/mpic"))  # .../v1: the stage; status drops it
    status = base.apply(lambda url: outputs.status(
        stack=fleet.name, coordinator_url=url, ca_cert=AMAZON_ROOT_CA_1, test_domain=fleet.test_domain, hosts=[],
        perspectives=[{"code": p.code, "rir": p.rir, "hosts": []} for p in plan.perspectives],
        auth_failure_status=403, api_paths=outputs.GATEWAY_API_PATHS))
    return {
        **status_outputs(status, secrets),
        "perspective_endpoints": {p.code: functions[p.code].function_arn.apply(lambda arn: f"lambda:{arn}")
                                 for p in plan.perspectives},
        "coordinator_regions": {"primary": plan.coordinator_region},
        **canary(fleet, canary_p, providers[plan.coordinator_region], base.apply(lambda u: u.removesuffix("/v1")),
                 secrets, audit),
    }
