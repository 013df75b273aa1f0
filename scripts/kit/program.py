"""Run the real Pulumi program (``__main__.py``) offline, under Pulumi's unit-test mocks.

No Pulumi CLI, no engine, no cloud credentials: the SDK's mock monitor stands in for the engine
and records every resource the program registers (type token, name, parent, provider, inputs).
Used by ``mpic plan`` and by the tests. Nothing in the product depends on it.

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
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

KIT_ROOT = Path(__file__).resolve().parents[2]
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
        self.output_hooks: dict[str, Callable[[pulumi_mocks.MockResourceArgs], dict]] = {}
        self.call_hooks: dict[str, Callable[[pulumi_mocks.MockCallArgs], dict]] = {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        rid = args.resource_id or f"{args.name}-{_fake_id(args.typ, args.name)}"
        outputs = dict(args.inputs)
        outputs.setdefault("id", rid)
        outputs.setdefault("arn", f"arn:mock:{args.typ.split(':')[0]}::000000000000:{args.name}")
        hook = self.output_hooks.get(args.typ)
        if hook is not None:
            outputs.update(hook(args))
        return rid, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        self.calls.append(PlannedCall(args.token, dict(args.args), args.provider or None))
        hook = self.call_hooks.get(args.token)
        return (hook(args) if hook else {}), None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also recording parent and provider of every registration."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[PlannedResource] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            reg = self.resources.get(response.urn)
            from pulumi.runtime import rpc

            inputs = rpc.deserialize_properties(request.object)
            self.registrations.append(PlannedResource(
                type=request.type, name=request.name, urn=response.urn,
                parent=request.parent or None, provider=request.provider or None,
                custom=bool(request.custom), inputs=_plain(inputs),
                outputs=_plain(reg.state) if reg is not None else {}))
        return response


def _plain(value: Any) -> Any:
    """Inputs as JSON-able data (secrets unwrapped, resource refs as URNs)."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return _plain(value.get("value"))
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    urn = getattr(value, "urn", None)
    if urn is not None:
        return f"<resource {type(value).__name__}>"
    return str(value)


def _config_strings(config: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_program(config: dict[str, Any], *, stack: str, secret_keys: list[str] | None = None,
                mocks: RecordingMocks | None = None, program: Path = PROGRAM) -> ProgramRun:
    """Run ``program`` with the stack ``config`` map (``{"mpic:target": ..., ...}``) under mocks.

    Returns every registered resource, invoke and stack output; a RunError of the program is
    returned as ``error`` (with the resources registered before it, which must be none).
    """
    mocks = mocks or RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)  # a fresh stack for every run
    pulumi.runtime.set_all_config(_config_strings(config), secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    error: str | None = None
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
    except pulumi.RunError as exc:
        error = str(exc)
    root = pulumi_settings.get_root_resource()
    outputs: dict[str, Any] = {}
    if error is None and root is not None:
        for key, value in getattr(root, "outputs", {}).items():
            outputs[key] = _plain(_sync_await(pulumi.Output.from_input(value).future()))
    return ProgramRun(resources=list(monitor.registrations), calls=list(mocks.calls), outputs=outputs, error=error)
