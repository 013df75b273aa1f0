"""Issue "Hardening" #9: coordinator answers follow the Open MPIC API spec 3.5 schemas.

Every answer of the coordinator's API paths seen anywhere in tests/service is validated by the
autouse fixture in conftest.py; the tests here provoke the shapes that used to break the schema
(nulls where the spec wants a value or absence, an extra field) and check the validator itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import ALPN_HASH, API_KEY, Env, http
from tests.service.openapi import raw_spec, response_validator, violations

KEY = {"x-api-key": API_KEY}


def _ok(status: int, body: Any) -> None:
    assert status == 200, body
    assert violations(200, body) == []


def test_the_copied_spec_is_3_5_and_cited() -> None:
    from tests.service.openapi import SPEC_FILE

    assert raw_spec()["info"]["version"] == "3.5.0"
    head = SPEC_FILE.read_text(encoding="utf-8")[:3000]
    assert "65f7409f102995747b966e4cb0c86bfd7f621211" in head and "MIT License" in head


def test_the_validator_catches_what_the_core_used_to_emit() -> None:
    """A test that cannot fail is a defect: the validator rejects the old serialisation."""
    perspective = {"perspective_code": "us-east-1", "check_response": {
        "check_completed": False, "check_passed": False, "errors": None, "timestamp_ns": 1, "check_type": "caa",
        "details": {"caa_record_present": None, "found_at": None, "records_seen": None}}}
    old = {"mpic_completed": True, "request_orchestration_parameters": {
        "perspective_count": None, "quorum_count": 4, "max_attempts": None, "cohort_for_single_attempt": None},
        "actual_orchestration_parameters": {"perspective_count": 5, "quorum_count": 4, "attempt_count": 1},
        "check_type": "caa", "domain_or_ip_target": "a.test", "is_valid": False, "trace_identifier": None,
        "perspectives": [perspective], "caa_check_parameters": None, "previous_attempt_results": None}
    found = " ".join(violations(200, old))
    for problem in ("errors: None is not of type 'array'", "trace_identifier: None is not of type 'string'",
                    "caa_record_present: None is not of type 'boolean'", "perspective_count: None",
                    "cohort_for_single_attempt"):
        assert problem in found, found
    assert violations(400, {"error": "request-validation-failed", "validation_issues": []})
    assert violations(401, {"error": "unauthorized", "detail": "x"})
    assert response_validator(500).is_valid({"error": "internal-error"})


def test_a_failing_caa_check_conforms(env: Env, coordinator: Any) -> None:
    """Incomplete CAA checks used to carry caa_record_present: null and errors: null."""
    pool = [{"code": c, "url": u} for c, u in env.perspectives.items() if c != "af-south-1"]
    pool.append({"code": "af-south-1", "url": env.down_url})
    base = coordinator(env.coordinator_settings(listen_port=8201, perspectives=pool, early_quorum=False))
    status, body, _ = http("POST", base + "/mpic", {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test",
                                                    "orchestration_parameters": {"quorum_count": 4}}, headers=KEY)
    _ok(status, body)
    down = next(p for p in body["perspectives"] if p["perspective_code"] == "af-south-1")["check_response"]
    assert down["check_completed"] is False and down["details"]["caa_record_present"] is False
    assert body["request_orchestration_parameters"] == {"quorum_count": 4}  # no nulls, no extra field
    assert "trace_identifier" not in body
    passed = next(p for p in body["perspectives"] if p["perspective_code"] == "us-east-1")["check_response"]
    assert "errors" not in passed and passed["details"]["records_seen"] == ['0 issue "ca.mpic.test"']


@pytest.mark.parametrize("params", [
    {"validation_method": "acme-tls-alpn-01", "key_authorization_hash": "b" * 64},  # common_name: null before
    {"validation_method": "website-change", "challenge_value": "x-0123456789abcdefghij", "http_token_path": "tok1"},
    {"validation_method": "dns-persistent", "issuer_domain_names": ["ca.mpic.test"],
     "expected_account_uri": "https://ca.mpic.test/acct/1"},
])
def test_dcv_answers_conform(env: Env, coordinator: Any, params: dict[str, Any]) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8202))
    target = "nothing-here.mpic.test" if params["validation_method"] == "acme-tls-alpn-01" else "dcv.mpic.test"
    status, body, _ = http("POST", base + "/mpic", {"check_type": "dcv", "domain_or_ip_target": target,
                                                    "trace_identifier": "spec-1", "dcv_check_parameters": params},
                           headers=KEY)
    _ok(status, body)
    assert body["trace_identifier"] == "spec-1"


def test_tls_alpn_success_conforms(env: Env, coordinator: Any) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8203))
    status, body, _ = http("POST", base + "/mpic", {"check_type": "dcv", "domain_or_ip_target": "alpn.mpic.test",
                                                    "dcv_check_parameters": {"validation_method": "acme-tls-alpn-01",
                                                                             "key_authorization_hash": ALPN_HASH}},
                           headers=KEY)
    _ok(status, body)
    assert body["is_valid"] is True


def test_405_carries_allow(env: Env, coordinator: Any) -> None:
    base = coordinator(env.coordinator_settings(listen_port=8204))
    status, body, headers = http("GET", base + "/mpic")
    assert (status, body) == (405, {"error": "method-not-allowed"})
    assert headers.get("allow") == "POST" or headers.get("Allow") == "POST", headers

