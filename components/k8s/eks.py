"""``EksCluster``: an EKS cluster the stack creates for one region (optional, pulumi-aws).

For regions without a cluster of their own: an EKS control plane in the region's existing VPC
subnets (>= 2 zones) and a managed node group of >= 2 nodes. Its kubeconfig (an ``aws eks
get-token`` exec plugin, no static credential) feeds the region's explicit Kubernetes provider,
which the component creates as its child and exposes as :attr:`EksCluster.provider`.
"""

from __future__ import annotations

import json
from typing import TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from config.target_k8s import EksCluster as EksSpec
from plan.aws.fleet import assume_role_policy
from plan.manifest import cluster_identifier

CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")


def kubeconfig(cluster_name: str, region: str, endpoint: str | None, ca_data: str | None) -> str:
    """A kubeconfig for the EKS cluster: exec ``aws eks get-token`` (short-lived tokens)."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster_name,
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint or "",
                                                        "certificate-authority-data": ca_data or ""}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region]}}}],
    })


class EksClusterArgs(TypedDict):
    region: str
    """AWS region code of the cluster, e.g. ``sa-east-1``: its key in ``mpic:k8s.clusters``
    (``ClusterPlan.region`` of :func:`plan.k8s.fleet.plan_fleet`); the cluster is named ``mpic-<region>``."""
    spec: EksSpec
    """``mpic:k8s.clusters.<region>.eks`` (``ClusterPlan.eks``): subnet ids (>= 2 zones), Kubernetes
    version, node instance type and count, and the CIDRs that may reach the public API endpoint."""
    provider_name: str
    """Logical name of the cluster's Kubernetes provider, ``k8s-<region>`` (``ClusterPlan.provider_name``,
    :func:`plan.k8s.fleet.provider_name`): the name every cluster's provider has."""


class EksCluster(pulumi.ComponentResource):
    """An EKS control plane, its managed node group and the explicit Kubernetes provider of the
    cluster (:attr:`provider`, a child of this component): the region's workloads take it through
    ``opts.providers``."""

    kubeconfig: pulumi.Output[str]
    """The cluster's kubeconfig (a secret): an ``aws eks get-token`` exec plugin, no static credential."""
    provider: k8s.Provider
    """The cluster's Kubernetes provider, made from :attr:`kubeconfig`."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:EksCluster", name, None, opts)
        spec, region = args["spec"], args["region"]
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-cluster-role", assume_role_policy=assume_role_policy("eks.amazonaws.com"), opts=child)
        attached = [aws.iam.RolePolicyAttachment(f"{name}-cluster-{p.lower()}", role=role.name,
                                                 policy_arn=f"arn:aws:iam::aws:policy/{p}", opts=child)
                    for p in CLUSTER_POLICIES]
        cluster_name = cluster_identifier(region)  # the EKS name, and how the policy pack knows the region
        cluster = aws.eks.Cluster(
            f"{name}-cluster", name=cluster_name, role_arn=role.arn, version=spec.version,
            vpc_config={"subnet_ids": list(spec.subnet_ids), "endpoint_private_access": True,
                        "endpoint_public_access": bool(spec.public_access_cidrs),
                        **({"public_access_cidrs": list(spec.public_access_cidrs)} if spec.public_access_cidrs else {})},
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            tags={"Name": cluster_name, "mpic-fleet": "k8s"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=attached))
        node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=child)
        node_attached = [aws.iam.RolePolicyAttachment(f"{name}-node-{p.lower()}", role=node_role.name,
                                                      policy_arn=f"arn:aws:iam::aws:policy/{p}", opts=child)
                         for p in NODE_POLICIES]
        aws.eks.NodeGroup(
            f"{name}-nodes", cluster_name=cluster.name, node_role_arn=node_role.arn, subnet_ids=list(spec.subnet_ids),
            instance_types=[spec.node_instance_type],
            scaling_config={"desired_size": spec.node_count, "min_size": spec.node_count,
                            "max_size": spec.node_count * 2},
            update_config={"max_unavailable": 1}, tags={"Name": f"{cluster_name}-nodes", "mpic-fleet": "k8s"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_attached))
        ca_data = cluster.certificate_authority.apply(lambda ca: ca.data if ca is not None else None)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(cluster.endpoint, ca_data).apply(
            lambda v: kubeconfig(cluster_name, region, v[0], v[1])))
        # Until this component owned it, the provider lived at the program root under the same
        # name: the alias keeps an existing stack's provider, and so every workload on it, in place.
        self.provider = k8s.Provider(
            args["provider_name"], kubeconfig=self.kubeconfig, cluster_identifier=cluster_name,
            enable_server_side_apply=True, delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]))
        self.register_outputs({"kubeconfig": self.kubeconfig})
