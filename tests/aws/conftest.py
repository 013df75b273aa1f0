"""Shared fixtures of the AWS tests: fleets, strict mocks and a component harness."""

from __future__ import annotations

from typing import Any, Callable

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls
import pytest

from components.inputs import StackSecrets
from config.model import StackConfig
from preview.mocks import PlannedResource, ProgramRun, RecordingMocks, install_default_hooks, run_callable

PERSPECTIVES = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]
PRIMARY = {"name": "ca-dc-newark", "lat": 40.74, "lon": -74.17, "rir": "ARIN"}


class StrictMocks(RecordingMocks):
    """Records every custom resource or invoke that does not name an explicit provider; the
    harnesses below fail the test when there is any. (Raising inside the mock would leave the
    SDK's pending registrations to leak into the next mocked run.)"""

    def __init__(self) -> None:
        super().__init__()
        self.default_provider_uses: list[str] = []

    def new_resource(self, args):
        if args.custom and not args.typ.startswith("pulumi:providers:") and not args.provider:
            self.default_provider_uses.append(f"{args.typ} {args.name}")
        return super().new_resource(args)

    def call(self, args):
        if not args.provider:
            self.default_provider_uses.append(f"invoke {args.token}")
        return super().call(args)


def strict_mocks() -> StrictMocks:
    return install_default_hooks(StrictMocks())  # type: ignore[return-value]


def fleet(target: str = "aws-hosts", **overrides: Any) -> StackConfig:
    raw: dict[str, Any] = {"target": target, "primary": PRIMARY, "perspectives": PERSPECTIVES, "maxAttempts": 2}
    raw.update(overrides)
    return StackConfig.from_config(raw, name="t")


def secrets() -> StackSecrets:
    return StackSecrets(api_keys=pulumi.Output.secret(["key-one", "key-two"]),
                        hash_secret=pulumi.Output.secret("hash-secret"))


def assert_no_default_provider(mocks: StrictMocks) -> None:
    assert mocks.default_provider_uses == [], f"on a default provider: {mocks.default_provider_uses}"


def run_component(build: Callable[[], Any]) -> ProgramRun:
    """Run ``build`` (which creates providers and components) under strict mocks; fail the test
    if anything was registered or invoked on a default provider."""
    mocks = strict_mocks()
    run = run_callable(build, mocks=mocks)
    assert_no_default_provider(mocks)
    return run


def provider(region: str) -> aws.Provider:
    return aws.Provider(f"aws-{region}", region=region)


def tls_provider() -> tls.Provider:
    return tls.Provider("tls")


# ------------------------------------------------------------------------- resource queries
def of_type(run: ProgramRun, token: str) -> list[PlannedResource]:
    return run.by_type(token)


def one(run: ProgramRun, token: str, name_contains: str = "") -> PlannedResource:
    found = [r for r in run.by_type(token) if name_contains in r.name]
    assert len(found) == 1, f"{token} {name_contains!r}: {[r.name for r in found]}"
    return found[0]


def provider_region(run: ProgramRun, r: PlannedResource) -> str | None:
    urn = r.provider.rsplit("::", 1)[0] if r.provider else None
    prov = run.by_urn().get(urn or "")
    return prov.inputs.get("region") if prov else None


def children_of(run: ProgramRun, parent: PlannedResource) -> list[PlannedResource]:
    kids = {parent.urn}
    out = []
    changed = True
    while changed:
        changed = False
        for r in run.resources:
            if r.parent in kids and r.urn not in kids:
                kids.add(r.urn)
                out.append(r)
                changed = True
    return out


@pytest.fixture
def hosts_fleet() -> StackConfig:
    return fleet()


@pytest.fixture(scope="session", autouse=True)
def _runtime_built(artifacts):
    """The AWS programs deploy the built runtime: dist/ must hold it (built once per session)."""
    return artifacts
