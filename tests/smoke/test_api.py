"""API checks through the coordinator URL: every DCV method family, CAA, auth, bad input, EJBCA."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from tests.smoke.conftest import unique

PEER = Path(__file__).resolve().parents[3] / "shared" / "peer-conformance"
if not PEER.is_dir():
    PEER = Path("/work/shared/peer-conformance")


NOT_AWAITED = "mpic_error:coordinator:early_quorum_cancelled"


def _passed(resp: dict) -> dict[str, bool]:
    return {p["perspective_code"]: p["check_response"]["check_passed"] for p in resp["perspectives"]}


def _corroborated(target, resp: dict) -> None:
    """What holds on any correct deployment, early quorum on or off: valid; at least the quorum of
    the cohort passed, spanning >= 2 RIRs; every other perspective of the cohort was not awaited
    (early quorum) and says so."""
    assert resp["is_valid"] is True, json.dumps(resp)[:1500]
    rir = {p["code"]: p["rir"] for p in target.status["perspectives"]}
    passed = _passed(resp)
    assert set(passed) <= set(rir), passed
    quorum = resp["actual_orchestration_parameters"]["quorum_count"]
    winners = [code for code, ok in passed.items() if ok]
    assert len(winners) >= quorum and len({rir[c] for c in winners}) >= 2, (quorum, passed)
    for p in resp["perspectives"]:
        if not p["check_response"]["check_passed"]:
            errors = [e["error_type"] for e in p["check_response"].get("errors") or []]
            assert errors == [NOT_AWAITED] and p["check_response"]["check_completed"] is False, p


def _dns_change(domain: str, prefix: str, value: str, rtype: str = "TXT") -> dict:
    return {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "dns-change", "dns_name_prefix": prefix,
                                     "dns_record_type": rtype, "challenge_value": value}}


def _settle() -> None:
    time.sleep(0.05)


def test_caa_valid_and_invalid(target):
    ok, deny = f"{unique('caa-ok')}.{target.test_domain}", f"{unique('caa-deny')}.{target.test_domain}"
    target.challenges.set_caa(ok, '0 issue "ca.fleet.example"')
    target.challenges.set_caa(deny, '0 issue "other-ca.example"')
    _settle()
    body = {"check_type": "caa", "caa_check_parameters": {"caa_domains": ["ca.fleet.example"]}}
    _corroborated(target, target.mpic({**body, "domain_or_ip_target": ok}))
    resp = target.mpic({**body, "domain_or_ip_target": deny})
    assert resp["is_valid"] is False
    assert not any(_passed(resp).values())


def test_caa_without_records_is_valid(target):
    resp = target.mpic({"check_type": "caa", "domain_or_ip_target": f"{unique('nocaa')}.{target.test_domain}"})
    _corroborated(target, resp)


def test_caa_wildcard(target):
    base = f"{unique('wild')}.{target.test_domain}"
    target.challenges.set_caa(base, '0 issue ";"')
    target.challenges.set_caa(base, '0 issuewild "ca.fleet.example"')
    _settle()
    params = {"caa_check_parameters": {"caa_domains": ["ca.fleet.example"]}, "check_type": "caa"}
    _corroborated(target, target.mpic({**params, "domain_or_ip_target": f"*.{base}"}))
    assert target.mpic({**params, "domain_or_ip_target": base})["is_valid"] is False


def test_dns_change_every_perspective_passes(target):
    domain = f"{unique('dc')}.{target.test_domain}"
    value = secrets.token_hex(12)
    target.challenges.set_txt(f"_acme-challenge.{domain}", value)
    _settle()
    _corroborated(target, target.mpic(_dns_change(domain, "_acme-challenge", value)))
    wrong = target.mpic(_dns_change(domain, "_acme-challenge", value + "x"))
    assert wrong["is_valid"] is False


def test_dns_change_cname(target):
    domain = f"{unique('dcc')}.{target.test_domain}"
    target.challenges.set_cname(f"_dnsauth.{domain}", f"landing.{domain}")
    target.challenges.set_txt(f"landing.{domain}", "the CNAME target exists")
    _settle()
    _corroborated(target, target.mpic(_dns_change(domain, "_dnsauth", f"landing.{domain}", "CNAME")))


def test_acme_dns_01(target):
    domain = f"{unique('dns01')}.{target.test_domain}"
    key_auth_hash = secrets.token_urlsafe(32)[:43]
    target.challenges.set_txt(f"_acme-challenge.{domain}", key_auth_hash)
    _settle()
    body = {"check_type": "dcv", "domain_or_ip_target": domain,
            "dcv_check_parameters": {"validation_method": "acme-dns-01", "key_authorization_hash": key_auth_hash}}
    _corroborated(target, target.mpic(body))


def test_website_change(local_target):
    host = f"{unique('web')}.{local_target.test_domain}"
    value = secrets.token_hex(10)
    local_target.challenges.set_http(host, ".well-known/pki-validation/fleet.txt", value)
    _settle()
    for scheme in ("http", "https"):
        body = {"check_type": "dcv", "domain_or_ip_target": host,
                "dcv_check_parameters": {"validation_method": "website-change", "http_token_path": "fleet.txt",
                                         "challenge_value": value, "url_scheme": scheme}}
        _corroborated(local_target, local_target.mpic(body))
    body["dcv_check_parameters"]["challenge_value"] = "not-" + value
    assert local_target.mpic(body)["is_valid"] is False


def test_acme_http_01(local_target):
    host = f"{unique('http01')}.{local_target.test_domain}"
    token = secrets.token_urlsafe(32)
    key_auth = f"{token}.{secrets.token_urlsafe(32)}"
    local_target.challenges.set_http(host, f".well-known/acme-challenge/{token}", key_auth)
    _settle()
    body = {"check_type": "dcv", "domain_or_ip_target": host,
            "dcv_check_parameters": {"validation_method": "acme-http-01", "token": token, "key_authorization": key_auth}}
    _corroborated(local_target, local_target.mpic(body))
    body["dcv_check_parameters"]["token"] = token + "x"
    assert local_target.mpic(body)["is_valid"] is False


def test_missing_or_wrong_key_is_refused(target):
    body = {"check_type": "caa", "domain_or_ip_target": target.test_domain}
    for path in target.api_paths:
        assert target.request(path, body, api_key=False)[0] == target.auth_failure_status
        assert target.request(path, body, api_key="wrong-key")[0] == target.auth_failure_status
    if target.auth_failure_status == 401:  # the kit's own coordinator also takes `Authorization: Bearer`
        assert target.request(target.api_paths[0], body, bearer=True)[0] == 200


def test_only_the_api_is_public(target):
    """/healthz and /metrics live on each coordinator's internal listener: never answered outside."""
    for path in ("/healthz", "/metrics"):
        status, body = target.request(path, api_key=False)
        assert status in (403, 404), (path, status)  # 404 (kit, ALB), 403 (API Gateway: no such route)
        assert "mpic_requests_total" not in str(body)


def test_400_on_bad_input(target):
    status, resp = target.request("/v1/mpic", {"check_type": "nope", "domain_or_ip_target": target.test_domain})
    assert status == 400 and resp["error"] == "request-validation-failed", resp
    status, _ = target.request("/v1/mpic", raw=b"{not json")
    assert status == 400
    status, _ = target.request("/v1/mpic", {"check_type": "dcv", "domain_or_ip_target": target.test_domain})
    assert status == 400


def test_ejbca_minimal_request_on_v1(target):
    """EJBCA's MPIC Validator: POST /v1/mpic, x-api-key, no orchestration parameters."""
    status, resp = target.request("/v1/mpic", {"check_type": "caa", "domain_or_ip_target": target.test_domain})
    assert status == 200, resp
    _corroborated(target, resp)


def test_peer_conformance_cases(local_target):
    """The public Open MPIC API compliance suite's cases, on zones rebuilt for the mini-internet."""
    if not PEER.is_dir():
        pytest.skip(f"peer conformance data not found at {PEER}")
    for zone in sorted((PEER / "zones").glob("*.zone")):
        local_target.challenges.load_zone(str(zone))
    for item in json.loads((PEER / "http.json").read_text()):
        local_target.challenges.set_http(item["host"], item["path"], item["content"])
    time.sleep(1.1)  # negative answers cached before the load expire (TTL 1)
    cases = json.loads((PEER / "cases.json").read_text())["cases"]
    failures = []
    for case in cases:
        status, resp = local_target.request("/mpic", case["request"])
        valid = resp.get("is_valid") if isinstance(resp, dict) else None
        if status != case["expect_status"] or (case["expect_is_valid"] is not None and valid != case["expect_is_valid"]):
            failures.append(f"{case['name']}: HTTP {status}, is_valid={valid}")
    assert not failures, f"{len(failures)}/{len(cases)} peer cases differ:\n" + "\n".join(failures)
