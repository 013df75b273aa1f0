"""One plan per example stack, shared by the plan tests."""

from __future__ import annotations

import pytest

from preview.engine import PlanResult, plan_stack


@pytest.fixture(scope="session")
def planned(artifacts) -> dict[str, PlanResult]:
    return {name: plan_stack(name) for name in ("aws-hosts", "aws-lambda", "k8s")}


@pytest.fixture(scope="session", autouse=True)
def _runtime_built(artifacts):
    """The AWS programs deploy the built runtime: dist/ must hold it (built once per session)."""
    return artifacts
