"""The perspective: its mTLS listener, its isolation (resolver, proxy, TLS), its error results."""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
from typing import Any

import dns.asyncresolver
import dns.entropy
import pytest

from open_mpic_core import CheckType
from open_mpic_core.common_util.domain_encoder import DomainEncoder
from service import names, query_ids
from service.telemetry import QUIET_TRACER
from service.perspective import PerspectiveRuntime, RequestInvalid
from tests.service import infra
from tests.service.conftest import ALPN_HASH, Env, http, read_audit


@pytest.fixture(scope="module")
def p_url(env: Env) -> str:
    return env.perspectives["eu-west-1"]


def ctx(env: Env) -> ssl.SSLContext:
    return env.client_context(env.pki.client)


def website(target: str = "web.mpic.test", scheme: str = "http") -> dict[str, Any]:
    return {"domain_or_ip_target": target, "dcv_check_parameters": {
        "validation_method": "website-change", "challenge_value": "web-challenge-0123456789", "http_token_path": "tok1",
        "url_scheme": scheme}}


def run(runtime: PerspectiveRuntime, check_type: CheckType, payload: dict[str, Any]) -> Any:
    return asyncio.run(runtime.check(check_type, payload))


# ---------------------------------------------------------------------------------- listener
def test_healthz_and_readyz_over_mtls(env: Env, p_url: str) -> None:
    status, body, _ = http("GET", p_url + "/healthz", context=ctx(env))
    assert status == 200
    assert body["status"] == "ok" and body["role"] == "perspective" and body["perspective_code"] == "eu-west-1"
    assert body["rir"] == "RIPE NCC" and body["version"] and body["core_version"] == "6.5.0"
    status, body, _ = http("GET", p_url + "/readyz", context=ctx(env))
    assert (status, body["status"], body["resolver"]) == (200, "ready", "NOERROR")


@pytest.mark.parametrize("which", ["none", "rogue"])
def test_clients_without_a_kit_certificate_are_rejected(env: Env, p_url: str, which: str) -> None:
    client = None if which == "none" else env.pki.rogue_client
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        http("GET", p_url + "/healthz", context=env.client_context(client))


def test_readyz_is_503_when_the_resolver_does_not_answer(env: Env) -> None:
    ip = env.ip(23)
    settings = env.perspective_settings("us-west-2", ip, resolver={"nameservers": [env.ip(24)], "port": 5399,
                                                                   "timeout": 0.2, "lifetime": 0.4})
    from service.server import perspective_config

    config = perspective_config(settings)
    assert config.proxy_headers is False  # a caller is its client certificate, never an X-Forwarded-For
    server = infra.ThreadServer(config).start()
    try:
        status, body, _ = http("GET", f"https://{ip}:8443/readyz", context=ctx(env))
    finally:
        server.stop()
    assert status == 503 and body["status"] == "not-ready" and "Timeout" in body["resolver"]


def test_check_endpoints_validate_their_input(env: Env, p_url: str) -> None:
    status, body, _ = http("POST", p_url + "/caa", b"nope", context=ctx(env))
    assert status == 400 and body["validation_issues"][0]["issue_type"] == "invalid-json"
    status, body, _ = http("POST", p_url + "/dcv", {"domain_or_ip_target": "a.test"}, context=ctx(env))
    assert status == 400 and body["error"] == "request-validation-failed"
    assert body["validation_issues"][0]["message"].startswith("dcv_check_parameters")
    assert http("GET", p_url + "/dcv", context=ctx(env))[:2] == (405, {"error": "method-not-allowed"})
    assert http("GET", p_url + "/x", context=ctx(env))[0] == 404


def test_a_malformed_dcv_target_is_a_parameter_error(env: Env, p_url: str) -> None:
    body = {"domain_or_ip_target": "xn--a.test", "dcv_check_parameters": {
        "validation_method": "acme-dns-01", "key_authorization_hash": "k"}}
    status, resp, _ = http("POST", p_url + "/dcv", body, context=ctx(env))
    assert status == 200
    assert resp["check_completed"] is False and resp["check_passed"] is False
    assert resp["errors"][0]["error_type"] == "mpic_error:dcv_checker:parameter"
    assert "xn--a.test" in resp["errors"][0]["error_message"]
    assert resp["details"]["validation_method"] == "acme-dns-01"


def test_caa_check_direct_and_metrics(env: Env, p_url: str) -> None:
    status, resp, _ = http("POST", p_url + "/caa", {"domain_or_ip_target": "caa-permit.mpic.test"},
                           headers={"x-mpic-trace-id": "direct-1"}, context=ctx(env))
    assert status == 200 and resp["check_passed"] is True and resp["check_type"] == "caa"
    status, text, _ = http("GET", p_url + "/metrics", context=ctx(env))
    assert 'mpic_checks_total{check_type="caa",method="caa",outcome="pass"}' in text
    line = [r for r in read_audit(env.audit_files["eu-west-1"]) if r.get("trace_id") == "direct-1"]
    assert line and line[0]["outcome"] == "pass" and line[0]["perspective"] == "eu-west-1"


# --------------------------------------------------------------------------------- isolation
def test_each_perspective_has_its_own_resolver(env: Env, tmp_path: Any) -> None:
    a = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(60), audit_log=str(tmp_path / "a")))
    b = PerspectiveRuntime(env.perspective_settings("eu-west-1", env.ip(61), audit_log=str(tmp_path / "b"),
                                                    resolver={"nameservers": ["192.0.2.53"], "port": 53}))
    assert a.resolver is not b.resolver
    assert a.dcv_checker.resolver is a.caa_checker.resolver is a.resolver
    assert [(type(ns).__name__, ns.address, ns.port) for ns in a.resolver.nameservers] == \
        [("LoopbackUdpNameserver", env.knot.addr, env.knot.port)]  # loopback: one shared socket
    assert [(type(ns).__name__, ns.address, ns.port) for ns in b.resolver.nameservers] == \
        [("Do53Nameserver", "192.0.2.53", 53)]  # across a network: a fresh socket and port per query
    assert a.resolver.cache is None and b.resolver.cache is None
    assert a.caa_checker._tracer is QUIET_TRACER and a.dcv_checker._tracer is QUIET_TRACER  # no span bookkeeping
    default = dns.asyncresolver.get_default_resolver()
    assert default is not a.resolver and default.nameservers == []  # the process default is disarmed


def test_the_runtime_installs_the_fast_target_and_query_id_paths(env: Env, tmp_path: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DomainEncoder, "prepare_target_for_lookup", staticmethod(names._CORE))
    monkeypatch.setattr(dns.entropy, "random_16", dns.entropy.random_16)
    PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(70), audit_log=str(tmp_path / "a")))
    assert DomainEncoder.prepare_target_for_lookup is names.prepare_target_for_lookup
    assert dns.entropy.random_16 is query_ids.random_16


def test_ambient_proxy_variables_are_ignored(env: Env, tmp_path: Any, monkeypatch: Any) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, f"http://{env.ip(99)}:9")  # nothing listens there
    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(62), audit_log=str(tmp_path / "a")))
    assert run(runtime, CheckType.DCV, website()).check_passed is True


def test_explicit_proxy_is_used(env: Env, tmp_path: Any) -> None:
    proxy = f"http://{env.ip(82)}:{env.nginx.proxy_port}"
    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(63), proxy_url=proxy,
                                                          audit_log=str(tmp_path / "a")))
    before = env.nginx.proxy_log.read_text() if env.nginx.proxy_log.exists() else ""
    resp = run(runtime, CheckType.DCV, website())
    assert resp.check_passed is True
    after = env.nginx.proxy_log.read_text()
    assert after[len(before):].count("/.well-known/pki-validation/tok1") == 1
    dead = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(64), proxy_url=f"http://{env.ip(99)}:9",
                                                       audit_log=str(tmp_path / "b")))
    resp = run(dead, CheckType.DCV, website())
    assert resp.check_passed is False and resp.check_completed is False


def test_https_targets_are_verified_by_default(env: Env, tmp_path: Any) -> None:
    strict = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(65), http_ca_file=None,
                                                         audit_log=str(tmp_path / "a")))
    resp = run(strict, CheckType.DCV, website(scheme="https"))
    assert resp.check_completed is False and "certificate" in resp.errors[0].error_message.lower()
    lax = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(66), http_ca_file=None, verify_ssl=False,
                                                      audit_log=str(tmp_path / "b")))
    assert run(lax, CheckType.DCV, website(scheme="https")).check_passed is True


def test_http_names_resolve_through_the_perspective_resolver(env: Env, tmp_path: Any) -> None:
    """web.mpic.test exists only in the test's Knot: the host resolver could not find it."""
    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(67), audit_log=str(tmp_path / "a")))
    assert run(runtime, CheckType.DCV, website()).check_passed is True
    resp = run(runtime, CheckType.DCV, website("missing.mpic.test"))
    assert resp.check_completed is False and "ClientConnectorDNSError" in resp.errors[0].error_message
    alpn = {"domain_or_ip_target": "blackhole-none.mpic.test", "dcv_check_parameters": {
        "validation_method": "acme-tls-alpn-01", "key_authorization_hash": ALPN_HASH}}
    resp = run(runtime, CheckType.DCV, alpn)
    assert resp.check_completed is False and "perspective's resolver" in resp.errors[0].error_message


def test_check_timeout_and_internal_errors_are_results(env: Env, tmp_path: Any, monkeypatch: Any) -> None:
    slow = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(68), check_timeout=0.000001,
                                                       audit_log=str(tmp_path / "a")))
    resp = run(slow, CheckType.CAA, {"domain_or_ip_target": "caa-permit.mpic.test"})
    assert resp.check_completed is False and resp.errors[0].error_type == "mpic_error:perspective:timeout"

    async def boom(request: Any) -> Any:
        raise RuntimeError("kaboom")

    fresh = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(69), audit_log=str(tmp_path / "b")))
    monkeypatch.setattr(fresh.caa_checker, "check_caa", boom)
    resp = run(fresh, CheckType.CAA, {"domain_or_ip_target": "caa-permit.mpic.test"})
    assert resp.check_completed is False and resp.errors[0].error_type == "mpic_error:perspective:internal"
    assert "kaboom" in resp.errors[0].error_message
    with pytest.raises(RequestInvalid):
        run(fresh, CheckType.CAA, {"nope": 1})
    lines = read_audit(tmp_path / "b")
    assert [line["event"] for line in lines] == ["chain_start", "check"] and lines[1]["outcome"] == "error"
