"""What the BR does not accept as evidence, refused by the running fleet (issue #20's probes).

- an empty or too short challenge value: 400 for every DCV method, before any perspective runs;
- ``allow_lookup_failure`` (BR 3.2.2.8): a DNSSEC-bogus zone and the perspectives' own resolvers
  down stay invalid; an unsigned zone whose authority is unreachable is valid only where the
  stack key ``mpic:caa.allowLookupFailure`` is on, and 400 where it is off;
- reverse-address-lookup with an IP target (tests/smoke/test_methods.py, with the PTR method).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from tests.challenge_bodies import EMPTY_BODIES
from tests.smoke.conftest import answered, corroborated, refused, unique

PERMITTED = "mpic_error:caa_checker:lookup_failure_permitted"
NOT_PERMITTED = "mpic_error:caa_checker:lookup_failure_not_permitted"


def _dcv(domain: str, method: str, **params) -> dict:
    return {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": method, **params}}


def _issues(target, body: dict) -> list[str]:
    status, resp = target.request("/v1/mpic", body)
    assert status == 400, (status, resp)
    return [i["issue_type"] for i in resp["validation_issues"]]


@pytest.mark.parametrize("method", sorted(EMPTY_BODIES))
def test_an_empty_challenge_value_is_400_for_every_method(target, method):
    assert _issues(target, _dcv(target.test_domain, method, **EMPTY_BODIES[method])) == ["empty-challenge-value"]


def test_a_random_value_too_short_is_400(target):
    short = _dcv(target.test_domain, "dns-change", challenge_value="x" * 18, dns_record_type="TXT")
    assert _issues(target, short) == ["challenge-value-too-short"]


# -------------------------------------------------------------------------- CAA lookup failure
def _caa(domain: str, allow: bool = True) -> dict:
    return {"check_type": "caa", "domain_or_ip_target": domain,
            "caa_check_parameters": {"caa_domains": ["ca.fleet.example"], "allow_lookup_failure": allow}}


def _zone(folder: Path, origin: str) -> str:
    path = folder / f"{origin}zone"
    path.write_text(f"$ORIGIN {origin}\n@ 60 SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 1\n"
                    f"@ 60 NS ns.{origin}\nns 60 A @INTERNET_IP@\n@ 1 CAA 0 issue \"other-ca.example\"\n")
    return str(path)


def test_a_dnssec_bogus_zone_is_never_a_lookup_failure(local_target, tmp_path):
    origin = f"{unique('bogus-caa')}.{local_target.test_domain}."
    local_target.challenges.load_zone(_zone(tmp_path, origin), break_dnssec=True)
    time.sleep(1.1)
    try:
        checks = refused(local_target.mpic(_caa(origin.rstrip("."))), completed=False)
        for r in checks:
            assert r["errors"][-1]["error_type"] == NOT_PERMITTED, r
            assert "a DNSSEC validation failure is never a lookup failure" in r["errors"][-1]["error_message"], r
    finally:
        local_target.challenges.clear(origin.rstrip("."))


def test_the_cas_own_resolvers_down_are_never_a_lookup_failure(local_target):
    """Every perspective's resolver killed (``mpic fault kill-resolver`` on each region), the
    domain denying issuance: invalid, each perspective saying its own resolver did not answer."""
    from local.actions import faults

    domain = f"{unique('caa-deny')}.{local_target.test_domain}"
    local_target.challenges.set_caa(domain, '0 issue "other.example"')
    try:
        for p in local_target.status["perspectives"]:
            faults.kill_resolver(local_target.status["stack"], p["code"])
        checks = refused(local_target.mpic(_caa(domain)), completed=False)
    finally:
        faults.heal(local_target.status["stack"])
    for r in checks:
        text = r["errors"][-1]["error_message"]
        assert r["errors"][-1]["error_type"] == NOT_PERMITTED and "outside the CA's infrastructure: no" in text, r


def test_an_unsigned_zone_whose_authority_is_unreachable(local_target, tmp_path):
    """Key on (the local stack): valid, every perspective showing the three conditions; the same
    zone signed (a DS at the parent) stays invalid; key off (a coordinator rendered with
    ``mpic:caa.allowLookupFailure: false``): 400 naming the key."""
    from tests.fleetsession import ExtraCoordinator

    insecure = f"{unique('gone')}.{local_target.test_domain}."
    signed = f"{unique('gone-signed')}.{local_target.test_domain}."
    local_target.challenges.load_zone(_zone(tmp_path, insecure), insecure=True, unreachable=True)
    local_target.challenges.load_zone(_zone(tmp_path, signed), unreachable=True)
    time.sleep(1.1)
    off = ExtraCoordinator(local_target.status["stack"], 8101, lambda s: {**s, "caa_allow_lookup_failure": False})
    try:
        resp = local_target.mpic(_caa("www." + insecure.rstrip(".")))
        corroborated(local_target, resp)
        for r in answered(resp):
            assert r["check_passed"] and r["errors"][-1]["error_type"] == PERMITTED, r
            text = r["errors"][-1]["error_message"]
            for held in ("outside the CA's infrastructure: yes", "retried at least once: yes",
                         "zone without a DNSSEC chain to the root: yes"):
                assert held in text, text
        assert local_target.mpic(_caa("www." + insecure.rstrip("."), allow=False))["is_valid"] is False
        checks = refused(local_target.mpic(_caa(signed.rstrip("."))), completed=False)
        assert all("zone without a DNSSEC chain to the root: no" in r["errors"][-1]["error_message"] for r in checks)
        status, body = off.post(_caa("www." + insecure.rstrip(".")))
        assert status == 400 and body["validation_issues"][0]["issue_type"] == "lookup-failure-not-allowed", body
        assert "mpic:caa.allowLookupFailure" in body["validation_issues"][0]["message"]
    finally:
        off.stop()
        local_target.challenges.clear(insecure.rstrip("."))
        local_target.challenges.clear(signed.rstrip("."))


def test_reverse_address_lookup_of_an_ip_target(local_target):
    """The IP itself as the target: its reverse name's PTR is looked up (pass and fail)."""
    address = f"45.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    host = f"{unique('ptr-ip')}.{local_target.test_domain}."
    local_target.challenges.set_reverse(address, host)
    time.sleep(0.05)
    ok = local_target.mpic(_dcv(address, "reverse-address-lookup", challenge_value=host))
    corroborated(local_target, ok)
    reverse = ".".join(reversed(address.split("."))) + ".in-addr.arpa"
    assert {r["details"]["found_at"] for r in answered(ok)} == {reverse}
    refused(local_target.mpic(_dcv(address, "reverse-address-lookup", challenge_value="other." + host)), seen=host)
