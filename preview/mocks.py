"""Run the real Pulumi program (``__main__.py``) offline, under Pulumi's unit-test mocks.

No Pulumi CLI, no engine, no cloud credentials: the SDK's mock monitor stands in for the engine
and records every resource the program registers (type token, name, parent, provider, inputs).
Used by ``mpic plan`` (:mod:`preview.engine`) and by the tests. Nothing the kit deploys depends
on it. Pulumi's public testing API where it can; the SDK internals it needs are in
:mod:`preview.sdk`, and only there.

The mocks invent the computed outputs real providers would return (ids, ARNs, DNS names) and
answer the few invokes the components use; a custom resource or invoke without an explicit
provider is recorded as a *default provider use* (the kit disables default providers).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import runpy
from pathlib import Path
from typing import Any, Callable

import pulumi

from preview import sdk

KIT_ROOT = Path(__file__).resolve().parents[1]
PROGRAM = KIT_ROOT / "__main__.py"
PROJECT = "mpic"


@dataclasses.dataclass
class PlannedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    provider: str | None
    """Provider reference ``<provider urn>::<id>``; None for components and default providers."""
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    public_inputs: dict[str, Any] | None = None
    """``inputs`` with every Pulumi secret replaced by ``"[secret]"`` (what a plan may print)."""
    ignore_changes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PlannedCall:
    token: str
    args: dict[str, Any]
    provider: str | None


@dataclasses.dataclass
class ProgramRun:
    resources: list[PlannedResource]
    calls: list[PlannedCall]
    outputs: dict[str, Any]
    error: str | None
    """The program's RunError/ConfigError message, when it refused to run."""
    public_outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """``outputs`` as a plan prints them: secrets ``[secret]`` (shape kept), unknowns ``[unknown]``."""

    def by_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def default_provider_uses(self) -> list[str]:
        """Custom resources and invokes that did not name an explicit provider."""
        bad = [f"{r.type} {r.name}" for r in self.resources
               if r.custom and not r.type.startswith("pulumi:providers:") and not r.provider]
        bad += [f"invoke {c.token}" for c in self.calls if not c.provider]
        return bad


def _fake_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that invent plausible computed outputs and answer common invokes.

    ``output_hooks`` / ``call_hooks`` (by type token or invoke token) let targets add what their
    resources need, e.g. ``dnsName`` for a load balancer.
    """

    def __init__(self) -> None:
        self.calls: list[PlannedCall] = []
        self.output_hooks: dict[str, Callable[[sdk.MockResourceArgs], dict]] = {}
        self.call_hooks: dict[str, Callable[[sdk.MockCallArgs], dict]] = {}
        self.provider_inputs: dict[str, dict] = {}
        """Inputs of every provider registered so far, by the provider's logical name."""

    def region_of(self, provider_ref: str | None) -> str | None:
        """The ``region`` input of the provider behind a ``<urn>::<id>`` reference."""
        if not provider_ref:
            return None
        name = provider_ref.split("::")[-2] if provider_ref.count("::") >= 2 else provider_ref
        return (self.provider_inputs.get(name) or {}).get("region")

    def new_resource(self, args: sdk.MockResourceArgs) -> tuple[str, dict]:
        rid = args.resource_id or f"{args.name}-{_fake_id(args.typ, args.name)}"
        if args.typ.startswith("pulumi:providers:"):
            self.provider_inputs[args.name] = dict(args.inputs)
        outputs = dict(args.inputs)
        outputs.setdefault("id", rid)
        outputs.setdefault("arn", f"arn:mock:{args.typ.split(':')[0]}::000000000000:{args.name}")
        hook = self.output_hooks.get(args.typ)
        if hook is not None:
            outputs.update(hook(args))
        return rid, outputs

    def call(self, args: sdk.MockCallArgs) -> tuple[dict, list]:
        self.calls.append(PlannedCall(args.token, dict(args.args), args.provider or None))
        hook = self.call_hooks.get(args.token)
        return (hook(args) if hook else {}), []


class RecordingMonitor(sdk.MockMonitor):
    """The SDK's mock monitor, also recording parent and provider of every registration."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[PlannedResource] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            reg = self.resources.get(response.urn)
            inputs = sdk.deserialize(request.object)
            self.registrations.append(PlannedResource(
                type=request.type, name=request.name, urn=response.urn,
                parent=request.parent or None, provider=request.provider or None,
                custom=bool(request.custom), inputs=_plain(inputs), public_inputs=_plain(inputs, redact=True),
                ignore_changes=list(request.ignoreChanges),
                outputs=_plain(reg.state) if reg is not None else {}))
        return response


_PEM = "-----BEGIN {kind}-----\nTU9DSyBQRU0gKG1wbGFuKQ==\n-----END {kind}-----\n"
ACCOUNT = "000000000000"


def install_default_hooks(mocks: RecordingMocks) -> RecordingMocks:
    """Computed outputs of the AWS and TLS resources the kit uses, and the invokes it makes
    (availability zones, Route53 zone lookup, the caller's account). Values are plausible,
    region-aware and stable."""

    def region(args) -> str:
        return mocks.region_of(getattr(args, "provider", None)) or "us-east-1"

    def lb(args):
        r = region(args)
        kind = "net" if args.inputs.get("loadBalancerType") == "network" else "app"
        return {"dnsName": f"{args.name}-{_fake_id(args.name)[:8]}.elb.{r}.amazonaws.com",
                "zoneId": "Z26RNL4JYFTOTI" if kind == "net" else "Z35SXDOTRQ7X7K",
                "arn": f"arn:aws:elasticloadbalancing:{r}:{ACCOUNT}:loadbalancer/{kind}/{args.name}/1"}

    def cert(args):
        domain = args.inputs.get("domainName", "example.com")
        return {"arn": f"arn:aws:acm:{region(args)}:{ACCOUNT}:certificate/{_fake_id(args.name)}",
                "domainValidationOptions": [{"domainName": domain, "resourceRecordName": f"_mock.{domain}.",
                                             "resourceRecordType": "CNAME",
                                             "resourceRecordValue": "_mock.acm-validations.aws."}]}

    def function(args):
        arn = f"arn:aws:lambda:{region(args)}:{ACCOUNT}:function:{args.inputs.get('name', args.name)}"
        return {"arn": arn, "version": "1", "qualifiedArn": f"{arn}:1",
                "invokeArn": f"arn:aws:apigateway:{region(args)}:lambda:path/2015-03-31/functions/{arn}/invocations"}

    def alias(args):
        fn = args.inputs.get("functionName", args.name)
        return {"arn": f"arn:aws:lambda:{region(args)}:{ACCOUNT}:function:{fn}:{args.inputs.get('name', 'live')}"}

    def rest_api(args):
        api_id = _fake_id(args.name)[:10]
        return {"id": api_id, "rootResourceId": "root0000", "executionArn":
                f"arn:aws:execute-api:{region(args)}:{ACCOUNT}:{api_id}"}

    def stage(args):
        return {"invokeUrl": f"https://{args.inputs.get('restApi')}.execute-api.{region(args)}.amazonaws.com/"
                             f"{args.inputs.get('stageName')}"}

    def arn_of(service: str, kind: str):
        return lambda args: {"arn": f"arn:aws:{service}:{region(args)}:{ACCOUNT}:{kind}"
                                    f"{args.inputs.get('name', args.name)}"}

    hooks = {
        "aws:lb/loadBalancer:LoadBalancer": lb,
        "aws:lb/targetGroup:TargetGroup": lambda a: {"arn": f"arn:aws:elasticloadbalancing:{region(a)}:{ACCOUNT}:"
                                                            f"targetgroup/{a.name}/1"},
        "aws:acm/certificate:Certificate": cert,
        "aws:route53/record:Record": lambda a: {"fqdn": str(a.inputs.get("name", "")).rstrip(".")},
        "aws:ec2/launchTemplate:LaunchTemplate": lambda a: {"latestVersion": 1},
        "aws:lambda/function:Function": function,
        "aws:lambda/alias:Alias": alias,
        "aws:apigateway/restApi:RestApi": rest_api,
        "aws:apigateway/stage:Stage": stage,
        "aws:ssm/parameter:Parameter": lambda a: {"arn": f"arn:aws:ssm:{region(a)}:{ACCOUNT}:parameter"
                                                         f"{a.inputs.get('name', '/' + a.name)}"},
        "aws:secretsmanager/secret:Secret": arn_of("secretsmanager", "secret:"),
        "aws:iam/role:Role": lambda a: {"arn": f"arn:aws:iam::{ACCOUNT}:role/{a.name}", "name": a.name},
        "aws:iam/instanceProfile:InstanceProfile": lambda a: {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/"
                                                                     f"{a.name}"},
        "aws:cloudwatch/eventRule:EventRule": arn_of("events", "rule/"),
        "aws:cloudwatch/logGroup:LogGroup": arn_of("logs", "log-group:"),
        "aws:cloudwatch/metricAlarm:MetricAlarm": arn_of("cloudwatch", "alarm:"),
        "aws:scheduler/schedule:Schedule": arn_of("scheduler", "schedule/default/"),
        "aws:sns/topic:Topic": arn_of("sns", ""),
        "aws:kms/key:Key": lambda a: {"arn": f"arn:aws:kms:{region(a)}:{ACCOUNT}:key/{_fake_id(a.name)}",
                                      "keyId": _fake_id(a.name)},
        "tls:index/privateKey:PrivateKey": lambda a: {"privateKeyPem": _PEM.format(kind="PRIVATE KEY"),
                                                      "publicKeyPem": _PEM.format(kind="PUBLIC KEY")},
        "tls:index/selfSignedCert:SelfSignedCert": lambda a: {"certPem": _PEM.format(kind="CERTIFICATE")},
        "tls:index/certRequest:CertRequest": lambda a: {"certRequestPem": _PEM.format(kind="CERTIFICATE REQUEST")},
        "tls:index/locallySignedCert:LocallySignedCert": lambda a: {"certPem": _PEM.format(kind="CERTIFICATE")},
    }
    for token, hook in hooks.items():
        mocks.output_hooks.setdefault(token, hook)

    def zones(args):
        r = region(args)
        return {"names": [f"{r}a", f"{r}b", f"{r}c"], "zoneIds": [f"{r[:3]}-az1", f"{r[:3]}-az2", f"{r[:3]}-az3"],
                "id": r}

    def zone(args):
        name = str(args.args.get("name") or "example.com")
        zone_id = f"Z0MOCK{_fake_id('zone', name)[:9].upper()}"  # a fake id of its own per zone name
        return {"zoneId": zone_id, "id": zone_id, "name": name}

    def identity(args):
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/mpic-plan", "userId": "AIDAMPICPLAN",
                "id": ACCOUNT}

    mocks.call_hooks.setdefault("aws:index/getAvailabilityZones:getAvailabilityZones", zones)
    mocks.call_hooks.setdefault("aws:route53/getZone:getZone", zone)
    mocks.call_hooks.setdefault("aws:index/getCallerIdentity:getCallerIdentity", identity)

    def instances(args):
        r = region(args)
        group = str(((args.args.get("filters") or [{}])[0].get("values") or ["group"])[0])
        seed = int(_fake_id(r, group)[:4], 16)
        return {"ids": [f"i-{_fake_id(group, str(i))}" for i in range(2)],
                "publicIps": [f"198.51.{seed % 250}.{10 + i}" for i in range(2)],
                "privateIps": [f"10.0.{seed % 250}.{10 + i}" for i in range(2)]}

    mocks.call_hooks.setdefault("aws:ec2/getInstances:getInstances", instances)
    return mocks


SECRET_PLACEHOLDER = "[secret]"


def _plain(value: Any, redact: bool = False) -> Any:
    """Inputs as JSON-able data (secrets unwrapped, or ``[secret]`` with ``redact``; resource refs
    as a short description)."""
    if isinstance(value, dict):
        if sdk.is_secret_wire(value):
            return masked(_plain(value.get("value"))) if redact else _plain(value.get("value"))
        return {str(k): _plain(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, redact) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    urn = getattr(value, "urn", None)
    if urn is not None:
        return f"<resource {type(value).__name__}>"
    return str(value)


def masked(value: Any) -> Any:
    """A secret value with its shape kept and every leaf ``[secret]`` (a masked Kubernetes Secret's
    ``stringData`` stays a map, so the planned object still validates against its schema)."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return SECRET_PLACEHOLDER


UNKNOWN_PLACEHOLDER = "[unknown]"


def _public_output(value: Any) -> Any:
    """A stack output as a plan may print it: secrets masked (shape kept), unknowns marked."""
    output = pulumi.Output.from_input(value)
    if not sdk.wait(output.is_known()):
        return UNKNOWN_PLACEHOLDER
    plain = _plain(sdk.wait(output.future()))
    return masked(plain) if sdk.wait(output.is_secret()) else plain


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_callable(fn: Callable[[], Any], *, config: dict[str, Any] | None = None, stack: str = "test",
                 secret_keys: list[str] | None = None, mocks: RecordingMocks | None = None,
                 preview: bool = False) -> ProgramRun:
    """Run ``fn`` (e.g. a component under test) as a Pulumi program under the recording mocks
    (``preview``: as ``pulumi preview`` runs it, :func:`pulumi.runtime.is_dry_run` true; else as ``pulumi up``)."""
    mocks = mocks or RecordingMocks()
    monitor = RecordingMonitor(mocks)
    sdk.reset()
    sdk.fresh_root()  # a fresh stack for every run
    pulumi.runtime.set_all_config(_config_strings(config or {}), secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    error: str | None = None
    try:
        sdk.run(fn)
    except pulumi.RunError as exc:
        error = str(exc)
    finally:
        sdk.reset()
    outputs: dict[str, Any] = {}
    public: dict[str, Any] = {}
    if error is None:
        for key, value in sdk.root_outputs().items():
            output = pulumi.Output.from_input(value)  # once: an exported awaitable can be awaited only once
            outputs[key] = _plain(sdk.wait(output.future()))
            public[key] = _public_output(output)
    return ProgramRun(resources=list(monitor.registrations), calls=list(mocks.calls), outputs=outputs, error=error,
                      public_outputs=public)


def run_program(config: dict[str, Any], *, stack: str, secret_keys: list[str] | None = None,
                mocks: RecordingMocks | None = None, program: Path = PROGRAM, preview: bool = False) -> ProgramRun:
    """Run ``program`` with the stack ``config`` map (``{"mpic:target": ..., ...}``) under mocks, as
    ``pulumi up`` runs it (``preview``: as ``pulumi preview`` does).

    Returns every registered resource, invoke and stack output; a RunError of the program is
    returned as ``error`` (with the resources registered before it, which must be none).
    """
    return run_callable(lambda: runpy.run_path(str(program), run_name="__main__"), config=config, stack=stack,
                        secret_keys=secret_keys, mocks=mocks, preview=preview)
