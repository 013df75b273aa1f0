"""The MPIC policy rules, as pure functions over planned/deployed resources.

One implementation, two callers: the pulumi-policy pack (``policy/__main__.py``, run by
``pulumi preview --policy-pack policy``) and ``mpic plan`` (over the resources recorded under
mocks). The BR 3.2.2.9 policies live in :mod:`policy.br`; the security baseline (load balancers,
ingress, IMDSv2, encryption, explicit providers, routes, least privilege) here.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Callable, Iterable

from plan.aws.fleet import COORDINATOR_LISTENER_ROLE, TAG_ROLE
from policy.br import (
    audit_records_kept,
    br_compliance,
    br_compliance_lab,
    one_perspective_per_region,
    runtime_artifacts,
)
from policy.resources import (
    HOST_COMPONENTS,
    OPEN_V4,
    OPEN_V6,
    PERSPECTIVE_COMPONENTS,
    UNKNOWN,
    Res,
    Violation,
    _ancestors,
    _descendants,
    _int,
    _known,
    _tags,
    component_regions,
    is_default_provider,
    provider_name,
)

__all__ = ["POLICIES", "UNKNOWN", "Res", "Rule", "Violation", "component_regions", "evaluate", "provider_name"]


def health_checked_lb(items: list[Res]) -> list[Violation]:
    """Every perspective region (and coordinator) has a load balancer with a listener, a target
    group health-checked on /readyz (/healthz for the coordinator), and an Auto Scaling group of
    >= 2 instances over >= 2 subnets registered in that target group."""
    out = []
    for comp in items:
        if comp.type not in HOST_COMPONENTS:
            continue
        path = "/readyz" if comp.type == "mpic:aws:PerspectiveRegion" else "/healthz"
        kids = _descendants(comp, items)
        lbs = [r for r in kids if r.type == "aws:lb/loadBalancer:LoadBalancer"]
        listeners = [r for r in kids if r.type == "aws:lb/listener:Listener"]
        tgs = [r for r in kids if r.type == "aws:lb/targetGroup:TargetGroup"]
        asgs = [r for r in kids if r.type == "aws:autoscaling/group:Group"]
        checked = [t for t in tgs if isinstance(t.props.get("healthCheck"), dict)
                   and t.props["healthCheck"].get("enabled", True) in (True, "true")
                   and t.props["healthCheck"].get("path") == path]
        if not lbs or not listeners:
            out.append(Violation("health-checked-load-balancer", comp.name,
                                 f"{comp.name}: no load balancer with a listener in front of the hosts.", comp.urn))
        if not checked:
            out.append(Violation("health-checked-load-balancer", comp.name,
                                 f"{comp.name}: no target group health-checked on {path}.", comp.urn))
        if not asgs:
            out.append(Violation("health-checked-load-balancer", comp.name,
                                 f"{comp.name}: no Auto Scaling group.", comp.urn))
        for g in asgs:
            low = min(_int(g.props.get("minSize")), _int(g.props.get("desiredCapacity"), 2))
            subnets = g.props.get("vpcZoneIdentifiers") or []
            if low < 2:
                out.append(Violation("health-checked-load-balancer", g.name,
                                     f"{g.name}: minSize {g.props.get('minSize')}; a region needs >= 2 instances so "
                                     "one failure does not take the perspective down.", g.urn))
            if isinstance(subnets, list) and len(subnets) < 2:
                out.append(Violation("health-checked-load-balancer", g.name,
                                     f"{g.name}: {len(subnets)} subnet(s); spread the instances over >= 2 AZs.", g.urn))
            if not g.props.get("targetGroupArns"):
                out.append(Violation("health-checked-load-balancer", g.name,
                                     f"{g.name}: not registered in the load balancer's target group.", g.urn))
    return out


def _open(cidrs: Any) -> bool:
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    return isinstance(cidrs, list) and any(c in (OPEN_V4, OPEN_V6) for c in cidrs)


def _listener_exception(tags: dict, protocol: Any, low: Any, high: Any) -> bool:
    return (tags.get(TAG_ROLE) == COORDINATOR_LISTENER_ROLE and str(protocol) in ("tcp", "6")
            and _int(low) == 443 and _int(high) == 443)


def no_open_ingress(items: list[Res]) -> list[Violation]:
    """No ingress from 0.0.0.0/0 or ::/0, except HTTPS 443 on the coordinator's public listener
    (security group tagged ``mpic:role=coordinator-public-listener``)."""
    groups = {r.props.get("id"): r for r in items if r.type == "aws:ec2/securityGroup:SecurityGroup"}
    out = []
    for r in items:
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            if _open([r.props.get("cidrIpv4"), r.props.get("cidrIpv6")]):
                group = groups.get(r.props.get("securityGroupId"))
                tags = {**(_tags(group) if group else {}), **_tags(r)}
                if not _listener_exception(tags, r.props.get("ipProtocol"), r.props.get("fromPort"),
                                           r.props.get("toPort")):
                    out.append(Violation("no-open-ingress", r.name,
                                         f"{r.name}: ingress from the whole Internet on {r.props.get('ipProtocol')} "
                                         f"{r.props.get('fromPort')}-{r.props.get('toPort')}; only the coordinator's "
                                         "HTTPS listener may be public.", r.urn))
        elif r.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and r.props.get("type") == "ingress":
            if _open((r.props.get("cidrBlocks") or []) + (r.props.get("ipv6CidrBlocks") or [])):
                group = groups.get(r.props.get("securityGroupId"))
                if not _listener_exception(_tags(group) if group else {}, r.props.get("protocol"),
                                           r.props.get("fromPort"), r.props.get("toPort")):
                    out.append(Violation("no-open-ingress", r.name,
                                         f"{r.name}: ingress rule open to the whole Internet.", r.urn))
        elif r.type == "aws:ec2/securityGroup:SecurityGroup":
            for rule in r.props.get("ingress") or []:
                if isinstance(rule, dict) and _open((rule.get("cidrBlocks") or []) + (rule.get("ipv6CidrBlocks") or [])):
                    if not _listener_exception(_tags(r), rule.get("protocol"), rule.get("fromPort"),
                                               rule.get("toPort")):
                        out.append(Violation("no-open-ingress", r.name,
                                             f"{r.name}: inline ingress open to the whole Internet.", r.urn))
    return out


def imdsv2_required(items: list[Res]) -> list[Violation]:
    """Instances and launch templates require IMDSv2 (session tokens)."""
    out = []
    for r in items:
        if r.type in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
            meta = r.props.get("metadataOptions")
            tokens = meta.get("httpTokens") if isinstance(meta, dict) else None
            if tokens != "required":
                out.append(Violation("imdsv2-required", r.name,
                                     f"{r.name}: metadataOptions.httpTokens is {tokens!r}; set it to 'required' "
                                     "(IMDSv2).", r.urn))
    return out


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


SSE_CONFIG = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def _sse_configured(bucket: Res, items: list[Res]) -> bool:
    """A bucket's encryption set by its own configuration resource (naming the bucket's id; during a
    preview, when the id is not known yet, the one of the same component)."""
    for r in items:
        if r.type == SSE_CONFIG and isinstance(r.props.get("rules"), list) and r.props["rules"]:
            target = r.props.get("bucket")
            if (_known(target) and target == bucket.props.get("id")) or (not _known(target) and r.parent == bucket.parent):
                return True
    return False


def encryption_at_rest(items: list[Res]) -> list[Violation]:
    """Encrypted EBS volumes (launch templates, instances, volumes) and SecureString parameters."""
    out = []
    for r in items:
        bad = None
        if r.type == "aws:ec2/launchTemplate:LaunchTemplate":
            maps = r.props.get("blockDeviceMappings") or []
            if not maps:
                bad = "no block device mapping: the root volume's encryption is left to the account default"
            elif not all(isinstance(m, dict) and isinstance(m.get("ebs"), dict) and _true(m["ebs"].get("encrypted"))
                         for m in maps):
                bad = "a block device mapping is not encrypted (ebs.encrypted = 'true')"
        elif r.type == "aws:ec2/instance:Instance":
            root = r.props.get("rootBlockDevice")
            if not (isinstance(root, dict) and _true(root.get("encrypted"))):
                bad = "rootBlockDevice.encrypted is not true"
        elif r.type == "aws:ebs/volume:Volume" and not _true(r.props.get("encrypted")):
            bad = "encrypted is not true"
        elif r.type == "aws:ssm/parameter:Parameter" and r.props.get("type") != "SecureString":
            bad = f"type {r.props.get('type')!r}; store kit material as SecureString"
        elif r.type == "aws:s3/bucket:Bucket" and r.props.get("serverSideEncryptionConfiguration") is None \
                and not _sse_configured(r, items):
            bad = "no server-side encryption configuration"
        if bad:
            out.append(Violation("encryption-at-rest", r.name, f"{r.name}: {bad}.", r.urn))
    return out


def no_default_provider(items: list[Res]) -> list[Violation]:
    """Every resource names its region's explicit provider (default providers are disabled)."""
    return [Violation("no-default-provider", r.name,
                      f"{r.name} ({r.type}) uses a default provider; pass the region's explicit provider.", r.urn)
            for r in items
            if r.custom and not r.type.startswith("pulumi:providers:") and is_default_provider(r.provider)]


_FOREIGN_TARGETS = ("vpcPeeringConnectionId", "transitGatewayId", "networkInterfaceId", "vpcEndpointId",
                    "carrierGatewayId", "coreNetworkArn", "egressOnlyGatewayId", "localGatewayId")


def perspective_default_route_local(items: list[Res]) -> list[Violation]:
    """A perspective's default route ends on an internet (or NAT) gateway in its own region,
    never on a peering/transit path: its location is where its traffic is first handed off
    (BR 3.2.2.9). Inter-region links carry routes for peer CIDRs only."""
    by_urn = {r.urn: r for r in items}
    gateways = {r.props.get("id"): r for r in items
                if r.type in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway")
                and _known(r.props.get("id"))}
    out = []
    for comp in items:
        if comp.type == "mpic:aws:PerspectiveRegion":
            kids = _descendants(comp, items)
            if not any(r.type == "aws:ec2/route:Route" and r.props.get("destinationCidrBlock") == OPEN_V4
                       and r.props.get("gatewayId") for r in kids):
                out.append(Violation("perspective-default-route-local", comp.name,
                                     f"{comp.name}: no default route on its own internet gateway.", comp.urn))
    for r in items:
        if r.type != "aws:ec2/route:Route":
            continue
        default = r.props.get("destinationCidrBlock") == OPEN_V4 or r.props.get("destinationIpv6CidrBlock") == OPEN_V6
        kinds = {a.type for a in _ancestors(r, by_urn)}
        if "mpic:aws:InterRegionNetwork" in kinds:
            if default:
                out.append(Violation("perspective-default-route-local", r.name,
                                     f"{r.name}: an inter-region link carries a default route; route only the peer's "
                                     "CIDR.", r.urn))
            continue
        if not default or not kinds & set(PERSPECTIVE_COMPONENTS):
            continue
        foreign = [k for k in _FOREIGN_TARGETS if r.props.get(k)]
        target = r.props.get("gatewayId") or r.props.get("natGatewayId")
        if foreign or not target:
            out.append(Violation("perspective-default-route-local", r.name,
                                 f"{r.name}: the perspective's default route goes to {', '.join(foreign) or 'nothing'}; "
                                 "it must use the region's own internet gateway.", r.urn))
            continue
        gw = gateways.get(target)
        if gw is not None and gw.region != r.region:
            out.append(Violation("perspective-default-route-local", r.name,
                                 f"{r.name}: default route in {r.region} ends on {gw.name} in {gw.region}; a "
                                 "perspective's traffic must leave from its own region.", r.urn))
    return out


def _statements(doc: Any) -> list[dict]:
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return []
    if not isinstance(doc, dict):
        return []
    st = doc.get("Statement") or []
    return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, dict)]


SCOPED_ACTIONS = ("lambda:InvokeFunction", "ssm:GetParameter", "ssm:GetParameters", "secretsmanager:GetSecretValue")
BROAD_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": "ssm:GetParameter(s) on every parameter",
    "arn:aws:iam::aws:policy/AdministratorAccess": "everything",
    "arn:aws:iam::aws:policy/AmazonSSMFullAccess": "every SSM parameter",
    "arn:aws:iam::aws:policy/SecretsManagerReadWrite": "every secret",
    "arn:aws:iam::aws:policy/AWSLambda_FullAccess": "invoking every function",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole":
        "creating and writing every log group of the account (the audit group's writers need their streams only)",
}


ROUTE53_CHANGE = "route53:ChangeResourceRecordSets"
ROUTE53_NAMES_CONDITION = "route53:ChangeResourceRecordSetsNormalizedRecordNames"


def _covers(action: str, wanted: str) -> bool:
    """IAM action ``action`` (``*`` and ``?`` wildcards, case-insensitive) grants ``wanted``."""
    return fnmatch.fnmatchcase(wanted.lower(), str(action).lower())


def _route53_change(s: dict, actions: list, resources: list) -> str | None:
    """Why a statement granting record changes is too broad (None when it is not): the one action,
    on named hosted zones, limited to named records (the canary may UPSERT its one TXT record)."""
    if s.get("Effect") != "Allow" or not any(_covers(a, ROUTE53_CHANGE) for a in actions):
        return None
    wide = [a for a in actions if _covers(a, ROUTE53_CHANGE) and a != ROUTE53_CHANGE]
    if wide:
        return f"allows {', '.join(wide)}; grant {ROUTE53_CHANGE} alone"
    if not resources or any("*" in str(x) for x in resources):
        return f"allows {ROUTE53_CHANGE} on {', '.join(map(str, resources)) or 'every zone'}; name the hosted zone ARN"
    cond = s.get("Condition")
    names = cond.get("ForAllValues:StringEquals", {}).get(ROUTE53_NAMES_CONDITION) if isinstance(cond, dict) else None
    if not names or any("*" in str(n) for n in ([names] if isinstance(names, str) else names)):
        return (f"allows {ROUTE53_CHANGE} on any record of the zone; limit it with ForAllValues:StringEquals on "
                f"{ROUTE53_NAMES_CONDITION}")
    return None


def least_privilege(items: list[Res]) -> list[Violation]:
    """Role policies grant invoke/read of secrets on named resources only (no ``*``, no broad
    managed policy): the coordinator invokes exactly its perspective functions; a host reads only
    its own material; DNS record changes name the zone and the records (the canary's one TXT)."""
    out = []
    for r in items:
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            arn = r.props.get("policyArn")
            if arn in BROAD_MANAGED_POLICIES:
                out.append(Violation("least-privilege", r.name,
                                     f"{r.name}: attaches {arn}, which grants {BROAD_MANAGED_POLICIES[arn]}; "
                                     "use an inline policy naming the exact ARNs.", r.urn))
            continue
        if r.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            continue
        for s in _statements(r.props.get("policy")):
            actions = s.get("Action") or []
            actions = [actions] if isinstance(actions, str) else actions
            resources = s.get("Resource") or []
            resources = [resources] if isinstance(resources, str) else resources
            why = _route53_change(s, actions, resources)
            if why:
                out.append(Violation("least-privilege", r.name, f"{r.name}: {why}.", r.urn))
            elif s.get("Effect") == "Allow" and any(a == "*" or a in SCOPED_ACTIONS or a.endswith(":*") for a in actions) \
                    and any("*" in str(x) for x in resources):
                out.append(Violation("least-privilege", r.name,
                                     f"{r.name}: allows {', '.join(actions)} on {', '.join(map(str, resources))}; "
                                     "name the exact ARNs.", r.urn))
    return out


Rule = Callable[[list[Res]], list[Violation]]
ADVISORY: frozenset[str] = frozenset({"br-3.2.2.9-lab"})
"""Policies that report without blocking (every other one is mandatory)."""
POLICIES: tuple[tuple[str, str, Rule], ...] = (
    ("br-3.2.2.9-compliance", br_compliance.__doc__ or "", br_compliance),
    ("br-3.2.2.9-lab", br_compliance_lab.__doc__ or "", br_compliance_lab),
    ("one-perspective-per-region", one_perspective_per_region.__doc__ or "", one_perspective_per_region),
    ("runtime-artifacts", runtime_artifacts.__doc__ or "", runtime_artifacts),
    ("health-checked-load-balancer", health_checked_lb.__doc__ or "", health_checked_lb),
    ("no-open-ingress", no_open_ingress.__doc__ or "", no_open_ingress),
    ("imdsv2-required", imdsv2_required.__doc__ or "", imdsv2_required),
    ("encryption-at-rest", encryption_at_rest.__doc__ or "", encryption_at_rest),
    ("no-default-provider", no_default_provider.__doc__ or "", no_default_provider),
    ("perspective-default-route-local", perspective_default_route_local.__doc__ or "",
     perspective_default_route_local),
    ("least-privilege", least_privilege.__doc__ or "", least_privilege),
    ("audit-records-kept", audit_records_kept.__doc__ or "", audit_records_kept),
)


def evaluate(items: Iterable[Res]) -> list[Violation]:
    """Every policy over ``items``."""
    items = list(items)
    out: list[Violation] = []
    for _, _, rule in POLICIES:
        out.extend(rule(items))
    return out
