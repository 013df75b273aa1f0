"""The local fleet for the fault and lifecycle tests: started once per session, torn down at the end."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture(scope="session")
def fleet():
    from tests import fleetsession as testing

    reason = testing.skip_reason()
    if reason:
        pytest.skip(f"local fleet tests: {reason}")
    status = testing.acquire("local")
    try:
        yield status
    finally:
        testing.release()


@pytest.fixture
def healed(fleet):
    """Heal every fault after the test, whatever happened."""
    from local.actions import faults

    yield fleet
    faults.heal(fleet["stack"])


@pytest.fixture
def dns_change(fleet):
    """A fresh dns-change challenge (set in Knot) and the request body that validates it."""
    from local.actions import challenges

    domain = f"ft-{secrets.token_hex(4)}.{fleet['test_domain']}"
    value = secrets.token_hex(10)
    challenges.set_txt(fleet["stack"], f"_acme-challenge.{domain}", value)
    return {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "dns-change", "dns_name_prefix": "_acme-challenge",
                                     "dns_record_type": "TXT", "challenge_value": value}}
