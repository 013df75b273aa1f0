"""Issue "Hardening" #5: a perspective runs checks only for the coordinator's client certificate.

Any certificate of the kit CA still opens the TLS connection (the load balancers' health checks
hold one); ``/healthz``, ``/readyz`` and ``/metrics`` answer it, while ``/dcv`` and ``/caa``
need a client whose certificate names (CN or DNS SAN) are in ``allowed_clients``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import API_KEY, Env, http

CAA = {"domain_or_ip_target": "caa-permit.mpic.test"}


@pytest.fixture(scope="module")
def health_cert(env: Env) -> Any:
    """Another region's load-balancer health-check certificate, as the local fleet issues it."""
    return env.pki.ca.issue_client("lb-check-ap-northeast-1")


@pytest.mark.parametrize("path", ["/caa", "/dcv"])
def test_a_health_check_certificate_cannot_run_checks(env: Env, health_cert: Any, path: str) -> None:
    ctx = env.client_context(health_cert)
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + path, CAA, context=ctx)
    assert status == 403, body
    assert body["error"] == "forbidden"
    assert "lb-check-ap-northeast-1" in body["message"] and "allowed_clients" in body["message"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_a_health_check_certificate_may_probe(env: Env, health_cert: Any, path: str) -> None:
    status, _, _ = http("GET", env.perspectives["eu-west-1"] + path, context=env.client_context(health_cert))
    assert status == 200


def test_the_coordinator_certificate_runs_checks(env: Env) -> None:
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + "/caa", CAA,
                           context=env.client_context(env.pki.client))
    assert status == 200 and body["check_passed"] is True


def test_a_coordinator_with_another_kit_certificate_gets_incomplete_results(env: Env, coordinator: Any,
                                                                         health_cert: Any) -> None:
    settings = env.coordinator_settings(listen_port=8240, early_quorum=False, client_tls={
        "cert": health_cert[0], "key": health_cert[1], "ca": env.pki.ca.cert_path})
    base = coordinator(settings)
    status, body, _ = http("POST", base + "/mpic", {"check_type": "caa", **CAA}, headers={"x-api-key": API_KEY})
    assert status == 200 and body["is_valid"] is False and body["mpic_completed"] is False
    for p in body["perspectives"]:
        assert "HTTP 403" in p["check_response"]["errors"][0]["error_message"]


def test_names_of_a_certificate(env: Env, health_cert: Any) -> None:
    from service.peer import certificate_names

    pem = health_cert[0].read_text()
    assert certificate_names(pem) == ("lb-check-ap-northeast-1", ("lb-check-ap-northeast-1",))
    server_pem = env.pki.server("names-test", env.ip(5))[0].read_text()
    assert certificate_names(server_pem) == ("names-test", ("localhost",))
    assert certificate_names("not a certificate") == (None, ())


def test_allowed_clients_may_not_be_empty(env: Env) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="allowed_clients"):
        env.perspective_settings("us-east-1", env.ip(5), allowed_clients=[])
