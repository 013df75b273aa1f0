"""The price table of ``mpic plan``: AWS on-demand list prices (USD) per service AND region, as data.

Where the numbers come from: AWS's published price lists (the pages of :data:`SOURCES`), as known on
each source's ``as_of`` month. They are typed in, not fetched: ``mpic plan`` is offline and stays so.
Check them against the AWS Price List API (``aws pricing get-products``) before quoting a figure.

How to read :data:`LIST_PRICES`: ``key -> {region: USD per unit}``.

- ``ANY`` (``"*"``) is the price of every region the entry does not list: AWS lists the same price
  in all of them (Lambda, public IPv4, KMS, EKS's control plane...).
- An entry without ``ANY`` knows only the regions it lists; any other region is priced at
  :data:`FALLBACK_REGION`'s price and its cost line says so (``REGION not in the price table``).
- ``None`` for a region: AWS lists a different price there that this table does not hold; it is
  priced like an unlisted region (and said so).

Lambda costs the same GB-second and request in every region except those listed; load balancers,
NAT gateways, instances, volumes, logs and data transfer differ by region. Free tiers, savings
plans, taxes and support are ignored.

The table also says which resource types cost nothing by themselves (:data:`FREE`,
:data:`FREE_PREFIXES`) and which cost money by use the estimate does not model
(:data:`USAGE_PRICED`), so that a "not priced" line means something.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Source:
    """An AWS pricing page and the month of its list this table's prices were taken from."""

    page: str
    as_of: str


SOURCES: dict[str, Source] = {
    "ec2": Source("https://aws.amazon.com/ec2/pricing/on-demand/", "2025-01"),
    "ebs": Source("https://aws.amazon.com/ebs/pricing/", "2025-01"),
    "elb": Source("https://aws.amazon.com/elasticloadbalancing/pricing/", "2025-01"),
    "vpc": Source("https://aws.amazon.com/vpc/pricing/", "2025-01"),  # NAT gateways, public IPv4 addresses
    "transfer": Source("https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer", "2025-01"),
    "lambda": Source("https://aws.amazon.com/lambda/pricing/", "2025-01"),
    "apigateway": Source("https://aws.amazon.com/api-gateway/pricing/", "2025-01"),
    "route53": Source("https://aws.amazon.com/route53/pricing/", "2025-01"),
    "cloudwatch": Source("https://aws.amazon.com/cloudwatch/pricing/", "2025-01"),
    "kms": Source("https://aws.amazon.com/kms/pricing/", "2025-01"),
    "secretsmanager": Source("https://aws.amazon.com/secrets-manager/pricing/", "2025-01"),
    "eks": Source("https://aws.amazon.com/eks/pricing/", "2025-01"),
}
"""Service -> its pricing page; a price key ``<service>.<what>`` takes its date from its service."""
ANY = "*"
FALLBACK_REGION = "us-east-1"
"""Whose price a region gets when an entry does not list it (the cost line says so)."""
US3 = ("us-east-1", "us-east-2", "us-west-2")
"""The three regions that share us-east-1's price for nearly everything."""


def _us(usd: float) -> dict[str, float | None]:
    return dict.fromkeys(US3, usd)


# ------------------------------------------------------------------------------- EC2 instances
# Linux, shared tenancy, USD/hour. Within t3 and t4g every size is a multiple of the micro's price
# (small 2x, medium 4x, large 8x) in every region, so the families are kept as their micro price.
T3_MICRO: dict[str, float | None] = {
    **_us(0.0104), "us-west-1": 0.0124, "ca-central-1": 0.0116, "sa-east-1": 0.0168,
    "eu-west-1": 0.0114, "eu-west-2": 0.0118, "eu-west-3": 0.0118, "eu-central-1": 0.012, "eu-north-1": 0.0108,
    "ap-south-1": 0.0112, "ap-northeast-1": 0.0136, "ap-northeast-2": 0.013, "ap-northeast-3": 0.0136,
    "ap-southeast-1": 0.0132, "ap-southeast-2": 0.0132, "ap-east-1": 0.0146,
}
T4G_MICRO: dict[str, float | None] = {
    **_us(0.0084), "us-west-1": 0.01, "ca-central-1": 0.0094, "sa-east-1": 0.0134,
    "eu-west-1": 0.0092, "eu-west-2": 0.0094, "eu-west-3": 0.0094, "eu-central-1": 0.0096, "eu-north-1": 0.0086,
    "ap-northeast-1": 0.0108, "ap-northeast-2": 0.0104, "ap-southeast-1": 0.0106, "ap-southeast-2": 0.0106,
}
BURSTABLE_SIZES: dict[str, int] = {"micro": 1, "small": 2, "medium": 4, "large": 8}
LARGE_HOURLY: dict[str, dict[str, float | None]] = {
    "m6i.large": {**_us(0.096), "eu-west-1": 0.107, "eu-central-1": 0.115, "ap-northeast-1": 0.124,
                  "ap-southeast-1": 0.12, "ap-southeast-2": 0.12, "sa-east-1": 0.153},
    "m7i.large": _us(0.1008),
    "m7g.large": _us(0.0816),
    "c7i.large": _us(0.08925),
    "c7g.large": _us(0.0725),
}
EC2_HOURLY: dict[str, dict[str, float | None]] = {
    **{f"{family}.{size}": {r: None if p is None else round(p * n, 6) for r, p in micro.items()}
       for family, micro in (("t3", T3_MICRO), ("t4g", T4G_MICRO)) for size, n in BURSTABLE_SIZES.items()},
    **LARGE_HOURLY,
}
"""Instance type -> region -> USD/hour."""

# ------------------------------------------------------------------------------------ the rest
NAT: dict[str, float | None] = {  # the hour and the GB processed cost the same in each region
    **_us(0.045), "us-west-1": 0.048, "ca-central-1": 0.05, "sa-east-1": 0.093,
    "eu-west-1": 0.048, "eu-west-2": 0.05, "eu-west-3": 0.05, "eu-central-1": 0.052, "eu-north-1": 0.046,
    "ap-south-1": 0.056, "ap-northeast-1": 0.062, "ap-northeast-2": 0.059, "ap-northeast-3": 0.062,
    "ap-southeast-1": 0.059, "ap-southeast-2": 0.059, "ap-east-1": 0.065,
}
LB_HOUR: dict[str, float | None] = {  # ALB and NLB: the same hourly price in each region
    **_us(0.0225), "us-west-1": 0.0252, "ca-central-1": 0.02475, "sa-east-1": 0.034,
    "eu-west-1": 0.0252, "eu-central-1": 0.027, "ap-northeast-1": 0.0243, "ap-northeast-2": 0.0225,
    "ap-southeast-1": 0.0252, "ap-southeast-2": 0.0252,
}
_LCU_REGIONS = (*US3, "us-west-1", "ca-central-1", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-northeast-2",
                "ap-southeast-1", "ap-southeast-2")
LAMBDA_DIFFERENT = ("af-south-1", "ap-east-1", "eu-south-1", "me-south-1", "me-central-1")
"""The regions whose Lambda GB-second is not us-east-1's (their request price is not in the table)."""

LIST_PRICES: dict[str, dict[str, float | None]] = {
    **{f"ec2.{itype}": hourly for itype, hourly in EC2_HOURLY.items()},
    "ebs.gp3_gb_month": {
        **_us(0.08), "us-west-1": 0.096, "ca-central-1": 0.088, "sa-east-1": 0.152,
        "eu-west-1": 0.088, "eu-west-2": 0.0928, "eu-west-3": 0.0928, "eu-central-1": 0.0952, "eu-north-1": 0.0836,
        "ap-south-1": 0.0912, "ap-northeast-1": 0.096, "ap-northeast-2": 0.0912, "ap-northeast-3": 0.096,
        "ap-southeast-1": 0.096, "ap-southeast-2": 0.096,
    },
    "elb.alb_hour": LB_HOUR,
    "elb.alb_lcu_hour": {**dict.fromkeys(_LCU_REGIONS, 0.008), "sa-east-1": 0.011},
    "elb.nlb_hour": LB_HOUR,
    "elb.nlb_lcu_hour": dict.fromkeys(_LCU_REGIONS, 0.006),
    "vpc.nat_hour": NAT,
    "vpc.nat_gb": NAT,
    "vpc.public_ipv4_hour": {ANY: 0.005},  # every in-use public IPv4 address (an EIP, an instance's, an ALB's)
    "transfer.internet_gb": {  # out to the Internet, the first 10 TB a month
        **_us(0.09), "us-west-1": 0.09, "ca-central-1": 0.09, "sa-east-1": 0.15,
        "eu-west-1": 0.09, "eu-west-2": 0.09, "eu-west-3": 0.09, "eu-central-1": 0.09, "eu-north-1": 0.09,
        "ap-south-1": 0.1093, "ap-northeast-1": 0.114, "ap-northeast-2": 0.126, "ap-northeast-3": 0.114,
        "ap-southeast-1": 0.12, "ap-southeast-2": 0.114, "ap-east-1": 0.12,
    },
    "transfer.inter_region_gb": {  # out to another AWS region
        **_us(0.02), "us-west-1": 0.02, "ca-central-1": 0.02, "sa-east-1": 0.138,
        "eu-west-1": 0.02, "eu-west-2": 0.02, "eu-west-3": 0.02, "eu-central-1": 0.02, "eu-north-1": 0.02,
        "ap-south-1": 0.086, "ap-northeast-1": 0.09, "ap-northeast-2": 0.08, "ap-southeast-1": 0.09,
        "ap-southeast-2": 0.098,
    },
    "lambda.request": {ANY: 0.0000002,  # 0.20 per million
                       **dict.fromkeys(LAMBDA_DIFFERENT)},
    "lambda.gb_second_x86_64": {ANY: 0.0000166667, "af-south-1": 0.0000221, "ap-east-1": 0.00002292,
                                "eu-south-1": 0.0000195172, "me-south-1": 0.0000206667, "me-central-1": 0.0000206667},
    "lambda.gb_second_arm64": {ANY: 0.0000133334, "af-south-1": 0.00001768, "ap-east-1": 0.0000183,
                               "eu-south-1": 0.0000156138, "me-south-1": 0.0000165334, "me-central-1": 0.0000165334},
    "lambda.provisioned_gb_second_x86_64": {ANY: 0.0000041667, **dict.fromkeys(LAMBDA_DIFFERENT)},
    "lambda.provisioned_gb_second_arm64": {ANY: 0.0000033334, **dict.fromkeys(LAMBDA_DIFFERENT)},
    "apigateway.rest_request": {**_us(0.0000035), "eu-west-1": 0.0000035,  # 3.50 per million
                                "ap-northeast-1": 0.00000425},
    "route53.health_check_month": {ANY: 0.50},          # an AWS endpoint
    "route53.health_check_feature_month": {ANY: 1.00},  # each optional feature (HTTPS, string match, ...)
    "cloudwatch.logs_ingest_gb": {**_us(0.50), "eu-west-1": 0.57, "eu-central-1": 0.63, "ap-northeast-1": 0.76,
                                  "ap-southeast-2": 0.57, "sa-east-1": 0.90},
    "cloudwatch.logs_storage_gb_month": {**_us(0.03), "eu-west-1": 0.03, "eu-central-1": 0.0324,
                                         "ap-northeast-1": 0.033, "ap-southeast-2": 0.033, "sa-east-1": 0.0408},
    "cloudwatch.alarm_month": _us(0.10),  # a standard-resolution metric alarm
    "kms.key_month": {ANY: 1.00},         # a customer managed key (its requests: not priced)
    "secretsmanager.secret_month": {ANY: 0.40},
    "eks.cluster_hour": {ANY: 0.10},      # the control plane, standard support
}
"""Price key -> region -> USD per unit (see the module docstring for ``ANY``, unlisted regions and None)."""


# ------------------------------------------------------------------ what costs nothing, what is not priced
FREE: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "no charge", "aws:ec2/subnet:Subnet": "no charge",
    "aws:ec2/routeTable:RouteTable": "no charge", "aws:ec2/route:Route": "no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no charge",
    "aws:ec2/securityGroup:SecurityGroup": "no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "no charge",
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": "the transfer is priced on the peering",
    "aws:ec2/launchTemplate:LaunchTemplate": "its instances are priced on the Auto Scaling group",
    "aws:iam/role:Role": "no charge", "aws:iam/rolePolicy:RolePolicy": "no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "no charge",
    "aws:iam/instanceProfile:InstanceProfile": "no charge",
    "aws:lb/listener:Listener": "part of the load balancer's price",
    "aws:lb/listenerRule:ListenerRule": "part of the load balancer's price",
    "aws:lb/targetGroup:TargetGroup": "part of the load balancer's price",
    "aws:acm/certificate:Certificate": "public ACM certificates cost nothing",
    "aws:acm/certificateValidation:CertificateValidation": "no charge",
    "aws:route53/record:Record": "no charge per record (the hosted zone is yours)",
    "aws:route53/resolverDnsSecConfig:ResolverDnsSecConfig": "DNSSEC validation costs nothing",
    "aws:ssm/parameter:Parameter": "standard parameters cost nothing",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced on the secret",
    "aws:lambda/permission:Permission": "no charge", "aws:lambda/alias:Alias": "no charge",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "no charge",
    "aws:cloudwatch/eventTarget:EventTarget": "priced on its rule",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": "its delivery stream is the cost",
    "aws:apigateway/deployment:Deployment": "priced per request on the REST API",
    "aws:apigateway/stage:Stage": "priced per request on the REST API",
    "aws:apigateway/resource:Resource": "priced per request on the REST API",
    "aws:apigateway/method:Method": "priced per request on the REST API",
    "aws:apigateway/integration:Integration": "priced per request on the REST API",
    "aws:apigateway/apiKey:ApiKey": "no charge", "aws:apigateway/usagePlan:UsagePlan": "no charge",
    "aws:apigateway/usagePlanKey:UsagePlanKey": "no charge",
    "aws:sns/topic:Topic": "a topic costs nothing; the alarms' few notifications are in the free tier",
    "aws:sns/topicSubscription:TopicSubscription": "no charge",
    "aws:s3/bucketObjectv2:BucketObjectv2": "its bytes are the bucket's storage",
    "aws:s3/bucketPolicy:BucketPolicy": "no charge", "aws:s3/bucketVersioning:BucketVersioning": "no charge",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "no charge",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "no charge",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "no charge",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "no charge",
}
"""Types AWS charges nothing for by themselves (what they cause is priced on another line, or nowhere)."""
FREE_PREFIXES: dict[str, str] = {
    "pulumi:providers:": "a provider, not a cloud resource",
    "kubernetes:": "an object inside a cluster (the cluster is priced, or is yours)",
    "tls:": "computed where Pulumi runs", "random:": "computed where Pulumi runs",
    "mpic:": "the kit's own type (a component, the fleet manifest): its children are priced",
}
USAGE_PRICED: dict[str, str] = {
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": "priced per GB delivered (the audit archive's lines)",
    "aws:s3/bucket:Bucket": "priced per GB stored and per request",
}
"""Types that cost money by use the estimate does not model: listed as not priced, with the reason."""


@dataclasses.dataclass(frozen=True)
class UnitPrice:
    """One looked-up price: USD per unit, the month of its list and whether the region is listed."""

    usd: float
    as_of: str
    listed: bool
    """False: the region is not in the table (or its price is not); :data:`FALLBACK_REGION`'s price stands in."""


def unit_price(key: str, region: str | None) -> UnitPrice:
    """The list price ``key`` (``<service>.<what>``) in ``region`` (None: a resource without a
    region, priced where every region is listed alike or at :data:`FALLBACK_REGION`'s)."""
    entry, as_of = LIST_PRICES[key], SOURCES[key.split(".", 1)[0]].as_of
    usd = entry.get(region or "", ...)
    if isinstance(usd, float):
        return UnitPrice(usd, as_of, True)
    if usd is ... and ANY in entry:
        return UnitPrice(entry[ANY], as_of, True)  # type: ignore[arg-type]
    fallback = entry.get(FALLBACK_REGION, entry.get(ANY))
    assert fallback is not None, key  # every entry lists us-east-1 or ANY (a test checks)
    return UnitPrice(fallback, as_of, False)
