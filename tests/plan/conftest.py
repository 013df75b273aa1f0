"""One plan per example stack, shared by the plan tests."""

from __future__ import annotations

import pytest

from cli.planner import PlanResult, plan_stack


@pytest.fixture(scope="session")
def planned() -> dict[str, PlanResult]:
    return {name: plan_stack(name) for name in ("aws-hosts", "aws-lambda", "k8s")}
