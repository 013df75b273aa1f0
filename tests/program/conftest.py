"""The program tests run the real Pulumi program, which deploys the built runtime."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _runtime_built(artifacts):
    return artifacts
