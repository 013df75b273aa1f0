"""Components of the ``aws-hosts`` target: perspective regions, coordinators, peering.

Every component gets its region's ``aws.Provider`` (and the ``tls`` provider where it issues
certificates) through ``opts.providers`` from the program root; children inherit it via
``parent=self``. Components only create resources from the planners' plans.
"""

from __future__ import annotations

from typing import Any, NotRequired, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from plan.aws import cloud_init
from components.aws.audit import AuditTarget
from components.aws.network import asg_hosts, auto_scaling_group, host_role, launch_template, public_network
from plan.aws.fleet import (
    COORDINATOR_INTERNAL_PORT,
    COORDINATOR_LISTENER_ROLE,
    PUBLIC_API,
    CoordinatorPlan,
    PeeringPlan,
    PerspectivePlan,
    WheelhouseSource,
    name_tags,
    perspective_url,
)
from components.pki import issue_leaf
from plan.pki import perspective_cert_name


def _ssm_secure(owner: pulumi.Resource, name: str, region: str, role: str, path: str,
                value: pulumi.Input[str]) -> aws.ssm.Parameter:
    return aws.ssm.Parameter(f"{name}", name=path, type="SecureString", value=value,
                             tags=name_tags(name, role, region), opts=pulumi.ResourceOptions(parent=owner))


class RuntimeArgs(TypedDict):
    """The built wheelhouse in the kit's bucket (:class:`components.aws.runtime.RuntimeBucket`)."""

    bucket: pulumi.Input[str]
    """The bucket's name (:attr:`RuntimeBucket.bucket <components.aws.runtime.RuntimeBucket.bucket>`)."""
    read_arn: pulumi.Input[str]
    """``arn:aws:s3:::<bucket>/<prefix>/*``: the only objects a host's role may read."""
    region: str
    """AWS region code of the bucket: the primary coordinator's (``mpic:aws.coordinatorRegion``)."""
    prefix: str
    """Key prefix of the wheelhouse, ``runtime/<wheelhouse sha256 (16 hex)>`` (:func:`plan.aws.fleet.runtime_prefix`)."""
    files: Sequence[str]
    """The wheelhouse's file names under ``prefix`` (the wheels and ``requirements.txt``), sorted."""


def _source(runtime: RuntimeArgs, bucket: str) -> WheelhouseSource:
    return WheelhouseSource(bucket=bucket, region=runtime["region"], prefix=runtime["prefix"],
                            files=tuple(runtime["files"]))


# --------------------------------------------------------------------------- PerspectiveRegion
class PerspectiveRegionArgs(TypedDict):
    plan: PerspectivePlan
    """The planner's plan of this perspective (region code, CIDRs, replicas, SSM path)."""
    coordinator_cidrs: Sequence[str]
    """The coordinators' VPC CIDRs: the only sources admitted on the perspective port."""
    perspective_port: int
    """TCP port of the perspective's mTLS listener and of its NLB (``mpic:aws.perspectivePort``)."""
    health_port: int
    """TCP port of the plain-HTTP ``/readyz`` relay the NLB checks, own VPC only (``mpic:aws.healthPort``)."""
    instance_type: str
    """EC2 instance type of the hosts, e.g. ``t3.small`` (``mpic:aws.instanceType``)."""
    image_id: str
    """AMI id or ``resolve:ssm:`` parameter of the hosts (``mpic:aws.imageId``; default Amazon Linux 2023
    for ``mpic:aws.architecture``: :attr:`config.target_aws.AwsSettings.ami`)."""
    volume_size_gb: int
    """Size of each host's encrypted gp3 root volume, GiB (``mpic:aws.volumeSizeGb``)."""
    runtime: RuntimeArgs
    """The built wheelhouse the hosts install from (the program's :class:`~components.aws.runtime.RuntimeBucket`)."""
    settings: dict[str, Any]
    """``/etc/mpic/perspective.yaml`` from :func:`plan.aws.fleet.host_perspective_settings`."""
    ca_cert_pem: pulumi.Input[str]
    """The kit CA's certificate, PEM (:attr:`components.pki.KitCa.cert_pem`): signs the perspective's
    certificate; the hosts read it from SSM (``<ssm_prefix>/ca-cert``) to check the coordinator's."""
    ca_private_key_pem: pulumi.Input[str]
    """The kit CA's private key, PEM, a Pulumi secret (:attr:`components.pki.KitCa.private_key_pem`):
    signs the perspective's certificate; never stored in AWS."""
    audit: AuditTarget
    """The region's audit log group (:class:`components.aws.audit.AuditLogs`): the hosts ship their lines there."""


class PerspectiveRegion(pulumi.ComponentResource):
    """One remote perspective: a two-AZ VPC whose default route is its own internet gateway,
    an Auto Scaling group of >= 2 hosts (IMDSv2, encrypted volumes, SSM, no SSH) running the
    perspective and its own validating Unbound, behind an internal NLB health-checked on /readyz."""

    endpoint: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    route_table_id: pulumi.Output[str]
    hosts: pulumi.Output[list]
    """The running hosts (smoke-suite entries: name, role, address, instance_id, connection)."""

    def __init__(self, name: str, args: PerspectiveRegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:PerspectiveRegion", name, None, opts)
        plan = args["plan"]
        region, role = plan.code, "perspective"
        child = pulumi.ResourceOptions(parent=self)
        net = public_network(self, name, region, role, plan.vpc_cidr, plan.public_subnets)

        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=net.vpc.id,
                                   description=f"MPIC perspective {region}: coordinator network only",
                                   tags=name_tags(f"{name}-sg", role, region), opts=child)
        for i, cidr in enumerate(args["coordinator_cidrs"]):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-in-coordinator-{i}", security_group_id=sg.id, ip_protocol="tcp", cidr_ipv4=cidr,
                from_port=args["perspective_port"], to_port=args["perspective_port"],
                description="mTLS from the coordinator's VPC (peering)",
                tags=name_tags(f"{name}-in-coordinator-{i}", role, region), opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-in-health", security_group_id=sg.id, ip_protocol="tcp", cidr_ipv4=plan.vpc_cidr,
            from_port=args["health_port"], to_port=args["health_port"],
            description="/readyz relay: load balancer health checks from this VPC",
            tags=name_tags(f"{name}-in-health", role, region), opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-all", security_group_id=sg.id, ip_protocol="-1", cidr_ipv4="0.0.0.0/0",
            description="validation traffic (DNS, HTTP, TLS) leaves from this region",
            tags=name_tags(f"{name}-out-all", role, region), opts=child)

        lb = aws.lb.LoadBalancer(f"{name}-nlb", load_balancer_type="network", internal=True,
                                 subnets=[s.id for s in net.subnets], enable_cross_zone_load_balancing=True,
                                 tags=name_tags(f"{name}-nlb", role, region), opts=child)
        tg = aws.lb.TargetGroup(
            f"{name}-tg", port=args["perspective_port"], protocol="TCP", vpc_id=net.vpc.id, target_type="instance",
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", port=str(args["health_port"]), path="/readyz", matcher="200",
                interval=10, healthy_threshold=2, unhealthy_threshold=2, timeout=5),
            tags=name_tags(f"{name}-tg", role, region), opts=child)
        aws.lb.Listener(f"{name}-listener", load_balancer_arn=lb.arn, port=args["perspective_port"], protocol="TCP",
                        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=tg.arn)],
                        tags=name_tags(f"{name}-listener", role, region), opts=child)

        cert_pem, key_pem = issue_leaf(self, f"{name}-tls", perspective_cert_name(region), [lb.dns_name],
                                       args["ca_cert_pem"], args["ca_private_key_pem"],
                                       uses=["server_auth", "client_auth"])
        params = [
            _ssm_secure(self, f"{name}-param-cert", region, role, f"{plan.ssm_prefix}/tls-cert", cert_pem),
            _ssm_secure(self, f"{name}-param-key", region, role, f"{plan.ssm_prefix}/tls-key", key_pem),
            _ssm_secure(self, f"{name}-param-ca", region, role, f"{plan.ssm_prefix}/ca-cert", args["ca_cert_pem"]),
        ]
        _, profile = host_role(self, name, region, role, [p.arn for p in params], args["runtime"]["read_arn"],
                               args["audit"]["group_arn"])
        user_data = pulumi.Output.all(args["runtime"]["bucket"], args["audit"]["group_name"]).apply(
            lambda a: cloud_init.perspective_cloud_init(
                region=region, settings=args["settings"], ssm_prefix=plan.ssm_prefix,
                runtime=_source(args["runtime"], a[0]), health_port=args["health_port"], audit_group=a[1]))
        template = launch_template(self, name, region, role, image_id=args["image_id"],
                                   instance_type=args["instance_type"], volume_size_gb=args["volume_size_gb"],
                                   profile=profile, security_group=sg, user_data=user_data)
        self.asg = auto_scaling_group(self, name, region, role, replicas=plan.replicas, template=template,
                                      subnets=net.subnets, target_group=tg)

        self.endpoint = lb.dns_name.apply(lambda d: perspective_url(d, args["perspective_port"]))
        self.vpc_id = net.vpc.id
        self.route_table_id = net.route_table.id
        self.hosts = asg_hosts(self, self.asg, role, region)
        self.register_outputs({"endpoint": self.endpoint, "vpcId": self.vpc_id, "routeTableId": self.route_table_id,
                               "hosts": self.hosts})


# -------------------------------------------------------------------------------- Coordinator
class CoordinatorArgs(TypedDict):
    plan: CoordinatorPlan
    """The planner's plan of this coordinator (:func:`plan.aws.fleet.plan_hosts`: region, role, CIDRs,
    replicas, SSM path, Secrets Manager name)."""
    domain: str
    """The coordinator's public name, e.g. ``mpic.ca.example`` (``mpic:aws.domain``): its ACM certificate."""
    zone_id: pulumi.Input[str]
    """Id of the Route53 public hosted zone ``mpic:aws.hostedZone`` (looked up by the program): ACM's
    validation record goes there."""
    coordinator_port: int
    """TCP port of the coordinator's plain-HTTP listener behind the ALB (``mpic:aws.coordinatorPort``)."""
    instance_type: str
    """EC2 instance type of the hosts, e.g. ``t3.small`` (``mpic:aws.coordinatorInstanceType``)."""
    image_id: str
    """AMI id or ``resolve:ssm:`` parameter of the hosts (:attr:`config.target_aws.AwsSettings.ami`)."""
    volume_size_gb: int
    """Size of each host's encrypted gp3 root volume, GiB (``mpic:aws.volumeSizeGb``)."""
    runtime: RuntimeArgs
    """The built wheelhouse the hosts install from (the program's :class:`~components.aws.runtime.RuntimeBucket`)."""
    settings: pulumi.Input[dict[str, Any]]
    """``/etc/mpic/coordinator.yaml`` (:func:`plan.aws.fleet.host_coordinator_settings`; the perspective URLs are
    outputs of the perspective regions)."""
    api_keys: pulumi.Input[Sequence[str]]
    """``mpic:apiKeys`` (a secret): the API keys the coordinator accepts, the first the current one;
    stored in its Secrets Manager secret."""
    hash_secret: pulumi.Input[str]
    """``mpic:hashSecret`` (a secret): seeds the per-domain cohort shuffle; stored beside the API keys."""
    ca_cert_pem: pulumi.Input[str]
    """The kit CA's certificate, PEM (:attr:`components.pki.KitCa.cert_pem`): the only issuer the
    coordinator trusts for its perspectives (SSM ``<ssm_prefix>/ca-cert``)."""
    client_cert_pem: pulumi.Input[str]
    """The coordinator's mTLS client certificate towards the perspectives, PEM (``KitCa.client``;
    SSM ``<ssm_prefix>/tls-cert``)."""
    client_private_key_pem: pulumi.Input[str]
    """Its private key, PEM, a Pulumi secret (``KitCa.client``; SSM SecureString ``<ssm_prefix>/tls-key``)."""
    audit: AuditTarget
    """The region's audit log group: the hosts ship their lines there."""
    validation_record_fqdn: NotRequired[pulumi.Input[str]]
    """ACM's DNS validation record of ``domain``, made by another coordinator (ACM gives a domain the
    same CNAME in every region of an account): the standby reuses it instead of managing a second
    copy of the same record, which would delete the primary's when destroyed."""


class Coordinator(pulumi.ComponentResource):
    """A coordinator region: >= 2 hosts behind a public ALB (HTTPS 443, ACM certificate for the
    operator's domain); API keys and hash secret from Pulumi secrets via Secrets Manager."""

    alb_dns_name: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    route_table_id: pulumi.Output[str]
    hosts: pulumi.Output[list]
    validation_record_fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: CoordinatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:Coordinator", name, None, opts)
        plan = args["plan"]
        region, role = plan.region, "coordinator"
        child = pulumi.ResourceOptions(parent=self)
        net = public_network(self, name, region, role, plan.vpc_cidr, plan.public_subnets)

        alb_sg = aws.ec2.SecurityGroup(f"{name}-alb-sg", vpc_id=net.vpc.id,
                                       description=f"MPIC coordinator {region}: public HTTPS listener",
                                       tags=name_tags(f"{name}-alb-sg", COORDINATOR_LISTENER_ROLE, region), opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-alb-in-https", security_group_id=alb_sg.id, ip_protocol="tcp",
                                         cidr_ipv4="0.0.0.0/0", from_port=443, to_port=443,
                                         description="the coordinator's public API (HTTPS, API key)",
                                         tags=name_tags(f"{name}-alb-in-https", COORDINATOR_LISTENER_ROLE, region),
                                         opts=child)
        host_sg = aws.ec2.SecurityGroup(f"{name}-host-sg", vpc_id=net.vpc.id,
                                        description=f"MPIC coordinator {region}: hosts, from the ALB only",
                                        tags=name_tags(f"{name}-host-sg", role, region), opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-hosts", security_group_id=alb_sg.id, ip_protocol="tcp",
                                        referenced_security_group_id=host_sg.id, from_port=args["coordinator_port"],
                                        to_port=args["coordinator_port"], description="to the coordinator hosts",
                                        tags=name_tags(f"{name}-alb-out-hosts", role, region), opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-host-in-alb", security_group_id=host_sg.id, ip_protocol="tcp",
                                         referenced_security_group_id=alb_sg.id, from_port=args["coordinator_port"],
                                         to_port=args["coordinator_port"], description="from the ALB only",
                                         tags=name_tags(f"{name}-host-in-alb", role, region), opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-alb-out-health", security_group_id=alb_sg.id, ip_protocol="tcp",
                                        referenced_security_group_id=host_sg.id, from_port=COORDINATOR_INTERNAL_PORT,
                                        to_port=COORDINATOR_INTERNAL_PORT, description="health checks (internal listener)",
                                        tags=name_tags(f"{name}-alb-out-health", role, region), opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-host-in-health", security_group_id=host_sg.id, ip_protocol="tcp",
                                         referenced_security_group_id=alb_sg.id, from_port=COORDINATOR_INTERNAL_PORT,
                                         to_port=COORDINATOR_INTERNAL_PORT,
                                         description="/healthz from the ALB's health checks only",
                                         tags=name_tags(f"{name}-host-in-health", role, region), opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-host-out-all", security_group_id=host_sg.id, ip_protocol="-1",
                                        cidr_ipv4="0.0.0.0/0", description="perspectives (peering), SSM, packages",
                                        tags=name_tags(f"{name}-host-out-all", role, region), opts=child)

        cert = aws.acm.Certificate(f"{name}-cert", domain_name=args["domain"], validation_method="DNS",
                                   tags=name_tags(f"{name}-cert", role, region), opts=child)
        fqdn = args.get("validation_record_fqdn")
        if fqdn is None:
            option = cert.domain_validation_options[0]
            fqdn = aws.route53.Record(f"{name}-cert-validation", zone_id=args["zone_id"],
                                      name=option.resource_record_name, type=option.resource_record_type,
                                      records=[option.resource_record_value], ttl=300, allow_overwrite=True,
                                      opts=child).fqdn
        self.validation_record_fqdn = pulumi.Output.from_input(fqdn)
        validation = aws.acm.CertificateValidation(f"{name}-cert-validated", certificate_arn=cert.arn,
                                                   validation_record_fqdns=[self.validation_record_fqdn],
                                                   opts=child)

        alb = aws.lb.LoadBalancer(f"{name}-alb", load_balancer_type="application", internal=False,
                                  subnets=[s.id for s in net.subnets], security_groups=[alb_sg.id],
                                  drop_invalid_header_fields=True,
                                  tags=name_tags(f"{name}-alb", role, region), opts=child)
        tg = aws.lb.TargetGroup(
            f"{name}-tg", port=args["coordinator_port"], protocol="HTTP", vpc_id=net.vpc.id, target_type="instance",
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", path="/healthz", port=str(COORDINATOR_INTERNAL_PORT), matcher="200",
                interval=10, healthy_threshold=2, unhealthy_threshold=2, timeout=5),
            tags=name_tags(f"{name}-tg", role, region), opts=child)
        listener = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
            ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificate_arn=validation.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="fixed-response", fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="application/json", status_code="404", message_body='{"error":"not-found"}'))],
            tags=name_tags(f"{name}-https", role, region), opts=child)
        for i, (method, path) in enumerate(PUBLIC_API):  # only the API is public (not /healthz, /metrics)
            aws.lb.ListenerRule(
                f"{name}-https-{path.strip('/').replace('/', '-')}", listener_arn=listener.arn, priority=10 + i,
                conditions=[aws.lb.ListenerRuleConditionArgs(
                                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[path])),
                            aws.lb.ListenerRuleConditionArgs(
                                http_request_method=aws.lb.ListenerRuleConditionHttpRequestMethodArgs(values=[method]))],
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=tg.arn)],
                tags=name_tags(f"{name}-https-{path.strip('/').replace('/', '-')}", role, region), opts=child)

        params = [
            _ssm_secure(self, f"{name}-param-cert", region, role, f"{plan.ssm_prefix}/tls-cert",
                        args["client_cert_pem"]),
            _ssm_secure(self, f"{name}-param-key", region, role, f"{plan.ssm_prefix}/tls-key",
                        args["client_private_key_pem"]),
            _ssm_secure(self, f"{name}-param-ca", region, role, f"{plan.ssm_prefix}/ca-cert", args["ca_cert_pem"]),
        ]
        secret = aws.secretsmanager.Secret(f"{name}-secret", name=plan.secret_name,
                                           description="MPIC coordinator API keys and hash secret",
                                           recovery_window_in_days=7,
                                           tags=name_tags(f"{name}-secret", role, region), opts=child)
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-value", secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({"api_keys": args["api_keys"], "hash_secret": args["hash_secret"]}),
            opts=child)
        _, profile = host_role(self, name, region, role, [p.arn for p in params], args["runtime"]["read_arn"],
                               args["audit"]["group_arn"], [secret.arn])
        user_data = pulumi.Output.all(args["settings"], secret.arn, args["runtime"]["bucket"],
                                      args["audit"]["group_name"]).apply(
            lambda a: cloud_init.coordinator_cloud_init(region=region, settings=a[0], ssm_prefix=plan.ssm_prefix,
                                                        secret_arn=a[1], runtime=_source(args["runtime"], a[2]),
                                                        audit_group=a[3]))
        template = launch_template(self, name, region, role, image_id=args["image_id"],
                                   instance_type=args["instance_type"], volume_size_gb=args["volume_size_gb"],
                                   profile=profile, security_group=host_sg, user_data=user_data)
        self.asg = auto_scaling_group(self, name, region, role, replicas=plan.replicas, template=template,
                                      subnets=net.subnets, target_group=tg)

        self.alb_dns_name = alb.dns_name
        self.alb_zone_id = alb.zone_id
        self.vpc_id = net.vpc.id
        self.route_table_id = net.route_table.id
        self.hosts = asg_hosts(self, self.asg, role, region)
        self.register_outputs({"albDnsName": self.alb_dns_name, "vpcId": self.vpc_id, "hosts": self.hosts})


# ------------------------------------------------------------------------- InterRegionNetwork
class PeeringEnd(TypedDict):
    """One side of a peering: a region's VPC and the provider of that region."""

    vpc_id: pulumi.Input[str]
    """The VPC's id (``vpc_id`` of the region's :class:`Coordinator` or :class:`PerspectiveRegion`)."""
    route_table_id: pulumi.Input[str]
    """Its public route table (``route_table_id`` of the same component): gets the route to the peer's CIDR."""
    provider: aws.Provider
    """The ``aws-<region>`` provider of the program root: this side's resources are created through it."""


class InterRegionNetworkArgs(TypedDict):
    plan: PeeringPlan
    """The planner's peering (:func:`plan.aws.fleet.plan_hosts`): both regions and both VPC CIDRs."""
    coordinator: PeeringEnd
    """The coordinator's side: requests the peering."""
    perspective: PeeringEnd
    """The perspective's side: accepts it."""


class InterRegionNetwork(pulumi.ComponentResource):
    """A private path coordinator VPC <-> perspective VPC: an inter-region VPC peering (requested
    in the coordinator's region, accepted in the perspective's) and one route per side for the
    peer's CIDR only. The perspective's default route stays on its own internet gateway."""

    peering_id: pulumi.Output[str]

    def __init__(self, name: str, args: InterRegionNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:InterRegionNetwork", name, None, opts)
        plan = args["plan"]
        c, p = args["coordinator"], args["perspective"]
        on_c = pulumi.ResourceOptions(parent=self, provider=c["provider"])
        on_p = pulumi.ResourceOptions(parent=self, provider=p["provider"])
        role = "inter-region"
        peering = aws.ec2.VpcPeeringConnection(
            f"{name}-pcx", vpc_id=c["vpc_id"], peer_vpc_id=p["vpc_id"], peer_region=plan.perspective_region,
            auto_accept=False, tags=name_tags(f"{name}-pcx", role, plan.coordinator_region), opts=on_c)
        accepter = aws.ec2.VpcPeeringConnectionAccepter(
            f"{name}-accept", vpc_peering_connection_id=peering.id, auto_accept=True,
            tags=name_tags(f"{name}-accept", role, plan.perspective_region), opts=on_p)
        aws.ec2.Route(f"{name}-route-{plan.coordinator_region}", route_table_id=c["route_table_id"],
                      destination_cidr_block=plan.perspective_cidr, vpc_peering_connection_id=accepter.id,
                      opts=on_c)
        aws.ec2.Route(f"{name}-route-{plan.perspective_region}", route_table_id=p["route_table_id"],
                      destination_cidr_block=plan.coordinator_cidr, vpc_peering_connection_id=accepter.id,
                      opts=on_p)
        self.peering_id = peering.id
        self.register_outputs({"peeringId": self.peering_id})
