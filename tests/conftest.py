"""Session fixtures shared by every suite."""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest

from config.errors import PlanError
from config.stackfile import load_stack
from artifacts.dist import dist_dir, require_artifacts
from plan.artifacts import Built


def ensure_built() -> Built:
    """The runtime artifacts of this working tree in dist/ (built once when missing or stale),
    as `./scripts/mpic build` makes them: the programs and the local fleet refuse to run without."""
    from artifacts.builder import build

    try:
        for stack in ("aws-hosts", "aws-lambda", "local", "k8s"):
            require_artifacts(load_stack(stack))
    except PlanError:
        build(["wheel", "lambda", "image-context"], dist_dir())
    return require_artifacts(load_stack("aws-lambda"))


@pytest.fixture(scope="session")
def artifacts() -> Built:
    return ensure_built()


@pytest.fixture(autouse=True)
def _fresh_event_loop_policy() -> Iterator[None]:
    """asyncio.run() ends with set_event_loop(None), after which get_event_loop() raises in the
    main thread; the Pulumi mocks (tests/aws, tests/k8s, tests/plan, tests/program) need it, so
    every test leaves a fresh policy behind, whatever order the suites run in."""
    yield
    asyncio.set_event_loop_policy(None)
