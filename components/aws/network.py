"""Shared building blocks of the host components: a public two-AZ VPC and an EC2 host role.

Helpers, not components: they register children of the component that calls them
(``parent=owner``), named ``f"{name}-<role>"``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Sequence

import pulumi
import pulumi_aws as aws

from plan.audit import writer_policy
from plan.aws.fleet import assume_role_policy, host_entries, name_tags


@dataclasses.dataclass
class PublicNetwork:
    vpc: aws.ec2.Vpc
    igw: aws.ec2.InternetGateway
    route_table: aws.ec2.RouteTable
    default_route: aws.ec2.Route
    subnets: list[aws.ec2.Subnet]


def availability_zones(owner: pulumi.Resource) -> pulumi.Output[list[str]]:
    """The region's available AZ names (invoke on the owner's provider, via ``parent``)."""
    result = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=owner))
    return result.names


def public_network(owner: pulumi.Resource, name: str, region: str, role: str, cidr: str,
                   subnet_cidrs: Sequence[str]) -> PublicNetwork:
    """VPC over ``len(subnet_cidrs)`` AZs, public subnets, an internet gateway and the subnets'
    default route on that gateway: outbound traffic is handed to the Internet in ``region``."""
    child = pulumi.ResourceOptions(parent=owner)
    azs = availability_zones(owner)
    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_support=True, enable_dns_hostnames=True,
                      tags=name_tags(f"{name}-vpc", role, region), opts=child)
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=name_tags(f"{name}-igw", role, region),
                                  opts=child)
    table = aws.ec2.RouteTable(f"{name}-rt", vpc_id=vpc.id, tags=name_tags(f"{name}-rt", role, region), opts=child)
    default_route = aws.ec2.Route(f"{name}-default-route", route_table_id=table.id,
                                  destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child)
    subnets = []
    for i, block in enumerate(subnet_cidrs):
        subnet = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=block,
                                availability_zone=azs[i], map_public_ip_on_launch=True,
                                tags=name_tags(f"{name}-public-{i}", role, region), opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-public-{i}-rta", subnet_id=subnet.id, route_table_id=table.id,
                                      opts=child)
        subnets.append(subnet)
    return PublicNetwork(vpc=vpc, igw=igw, route_table=table, default_route=default_route, subnets=subnets)


SESSION_MANAGER_STATEMENT = {
    "Sid": "SessionManager", "Effect": "Allow", "Resource": "*",
    "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
               "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
               "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
               "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"],
}
"""What the SSM agent needs for Session Manager: the managed AmazonSSMManagedInstanceCore policy
would also grant ssm:GetParameter(s) on every parameter, i.e. other perspectives' keys."""


def host_role(owner: pulumi.Resource, name: str, region: str, role: str,
              read_parameters: Sequence[pulumi.Output[str]], read_runtime: pulumi.Input[str],
              write_audit: pulumi.Input[str], read_secrets: Sequence[pulumi.Output[str]] = ()
              ) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
    """Instance role: SSM Session Manager (no SSH), read access to exactly the given SSM
    parameters and Secrets Manager secrets (its own; nothing else), ``s3:GetObject`` on the
    runtime's prefix ``read_runtime`` only, and its streams of the audit log group ``write_audit``
    (an ARN). No managed policy: the SSM core policy would let every host read every parameter."""
    child = pulumi.ResourceOptions(parent=owner)
    iam_role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
                            tags=name_tags(f"{name}-role", role, region), opts=child)
    def document(args: list) -> str:
        runtime, group = args[0], args[1]
        params, secrets = args[2:len(read_parameters) + 2], args[len(read_parameters) + 2:]
        statements = [SESSION_MANAGER_STATEMENT,
                      {"Sid": "ReadOwnParameters", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                       "Resource": sorted(params)},
                      {"Sid": "ReadRuntime", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [runtime]},
                      writer_policy(group)]
        if secrets:
            statements.append({"Sid": "ReadOwnSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                               "Resource": sorted(secrets)})
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    aws.iam.RolePolicy(f"{name}-read-own", role=iam_role.id,
                       policy=pulumi.Output.all(read_runtime, write_audit, *read_parameters, *read_secrets).apply(document),
                       opts=child)
    profile = aws.iam.InstanceProfile(f"{name}-profile", role=iam_role.name,
                                      tags=name_tags(f"{name}-profile", role, region), opts=child)
    return iam_role, profile


def launch_template(owner: pulumi.Resource, name: str, region: str, role: str, *, image_id: str,
                    instance_type: str, volume_size_gb: int, profile: aws.iam.InstanceProfile,
                    security_group: aws.ec2.SecurityGroup, user_data: pulumi.Input[str]) -> aws.ec2.LaunchTemplate:
    """IMDSv2 required (hop limit 1), encrypted gp3 root volume, no key pair (no SSH), SSM access."""
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        image_id=image_id,
        instance_type=instance_type,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            instance_metadata_tags="disabled"),
        block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda",
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                encrypted="true", volume_size=volume_size_gb, volume_type="gp3", delete_on_termination="true"))],
        network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
            associate_public_ip_address="true", security_groups=[security_group.id], delete_on_termination="true")],
        user_data=pulumi.Output.from_input(user_data).apply(_b64),
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance",
                                                       tags=name_tags(f"{name}-host", role, region)),
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume",
                                                       tags=name_tags(f"{name}-volume", role, region)),
        ],
        tags=name_tags(f"{name}-lt", role, region),
        opts=pulumi.ResourceOptions(parent=owner))


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auto_scaling_group(owner: pulumi.Resource, name: str, region: str, role: str, *, replicas: int,
                       template: aws.ec2.LaunchTemplate, subnets: Sequence[aws.ec2.Subnet],
                       target_group: aws.lb.TargetGroup) -> aws.autoscaling.Group:
    """``replicas`` (>= 2) hosts spread over the subnets' AZs, replaced when the LB marks them unhealthy."""
    return aws.autoscaling.Group(
        f"{name}-asg",
        min_size=replicas, max_size=replicas * 2, desired_capacity=replicas,
        vpc_zone_identifiers=[s.id for s in subnets],
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version=template.latest_version),
        target_group_arns=[target_group.arn],
        health_check_type="ELB", health_check_grace_period=300,
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling", preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                min_healthy_percentage=50)),
        tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
              for k, v in name_tags(f"{name}-host", role, region).items()],
        opts=pulumi.ResourceOptions(parent=owner))


def asg_hosts(owner: pulumi.Resource, group: aws.autoscaling.Group, role: str, region: str
              ) -> pulumi.Output[list[dict]]:
    """The group's running instances as smoke-suite host entries (invoke on the owner's provider,
    after the group reached its capacity)."""
    found = aws.ec2.get_instances_output(
        filters=[aws.ec2.GetInstancesFilterArgs(name="tag:aws:autoscaling:groupName", values=[group.name])],
        instance_state_names=["running"], opts=pulumi.InvokeOptions(parent=owner))
    return pulumi.Output.all(found.ids, found.public_ips, found.private_ips).apply(
        lambda a: host_entries({"ids": a[0], "publicIps": a[1], "privateIps": a[2]}, role, region))
