"""``RuntimeBucket``: the built wheelhouse (``./scripts/mpic build wheel``) in a private S3 bucket.

Hosts install the runtime from it with ``pip install --no-index --require-hashes`` and never reach
a public package index at boot (a CA's supply chain): the bucket is private (public access
blocked, bucket-owner enforced), versioned, encrypted (SSE-S3 with a bucket key) and refuses
plain-HTTP requests. Objects live under a content-addressed prefix (``runtime/<wheelhouse
sha256>``); each host's role may read only that prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from plan.aws.fleet import name_tags


class RuntimeBucketArgs(TypedDict):
    region: str
    """AWS region code of the bucket: the primary coordinator's (``mpic:aws.coordinatorRegion``)."""
    wheelhouse: str
    """Path of the built wheelhouse folder (``dist/wheelhouse/<platform>``, ``./scripts/mpic build wheel``,
    the platform of ``mpic:aws.architecture``; :class:`plan.artifacts.Built` finds it)."""
    prefix: str
    """Key prefix of its files: ``runtime/<wheelhouse sha256 (16 hex)>`` (:func:`plan.aws.fleet.runtime_prefix`)."""
    files: Sequence[str]
    """The wheelhouse's file names (the wheels and ``requirements.txt``), sorted: one object each."""


class RuntimeBucket(pulumi.ComponentResource):
    bucket: pulumi.Output[str]
    """The bucket's name."""
    read_arn: pulumi.Output[str]
    """``arn:aws:s3:::<bucket>/<prefix>/*``: what a host's role may read."""

    def __init__(self, name: str, args: RuntimeBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:aws:RuntimeBucket", name, None, opts)
        region, role = args["region"], "runtime-artifacts"
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(name, force_destroy=True, tags=name_tags(name, role, region), opts=child)
        blocked = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256"),
                bucket_key_enabled=True)], opts=child)
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
        aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[blocked]))
        folder = Path(args["wheelhouse"])
        for file in args["files"]:
            aws.s3.BucketObjectv2(f"{name}-{file}", bucket=bucket.id, key=f"{args['prefix']}/{file}",
                                  source=pulumi.FileAsset(str(folder / file)), opts=child)
        self.bucket = bucket.id
        self.read_arn = bucket.arn.apply(lambda arn: f"{arn}/{args['prefix']}/*")
        self.register_outputs({"bucket": self.bucket, "readArn": self.read_arn})
