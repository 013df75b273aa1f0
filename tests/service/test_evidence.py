"""What the BR does not accept as evidence, refused by the runtime whatever the caller says.

Challenge values (service.challenge), a CAA lookup failure as permission without the operator's
setting (BR 3.2.2.8; the conditions themselves: test_caa_lookup.py), answers from another
perspective than the one called (service.identity), reverse-address-lookup of an IP target, and
the echo of the request's check parameters (spec 3.9, 3.5 clients unchanged)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from service import challenge, identity
from service.settings import CoordinatorSettings, SettingsError, load_settings
from tests.challenge_bodies import EMPTY_BODIES
from tests.service.conftest import API_KEY, FLEET, PERSPECTIVE_PORT, Env, http, read_audit
from tests.service.test_e2e import caa, completed, dcv

KEY = {"x-api-key": API_KEY}


def test_every_method_is_covered() -> None:
    from open_mpic_core import DcvValidationMethod

    usable = {m.value for m in DcvValidationMethod} - {"dns-account-01"}  # in the core's enum, no request model yet
    assert set(EMPTY_BODIES) == set(challenge.VALUES) == usable


@pytest.fixture
def service(env: Env) -> Any:
    """A coordinator service whose perspective calls are recorded, never made."""
    from service.coordinator import CoordinatorService

    calls: list[Any] = []

    async def call(*args: Any) -> Any:
        calls.append(args)
        raise RuntimeError("not reached in these tests")

    svc = CoordinatorService(env.coordinator_settings(listen_port=8300), call=call)
    svc.calls = calls  # type: ignore[attr-defined]
    return svc


def _post(svc: Any, body: dict[str, Any]) -> tuple[int, Any]:
    import asyncio

    return asyncio.run(svc.handle_mpic(KEY, json.dumps(body).encode()))


@pytest.mark.parametrize("method", sorted(EMPTY_BODIES))
def test_an_empty_value_is_refused_for_every_method_before_any_perspective(service: Any, method: str) -> None:
    status, body = _post(service, dcv("dcv.mpic.test", validation_method=method, **EMPTY_BODIES[method]))
    assert status == 400, body
    assert [i["issue_type"] for i in body["validation_issues"]] == [challenge.EMPTY], body
    assert "dcv_check_parameters." in body["validation_issues"][0]["message"]
    assert service.calls == []


@pytest.mark.parametrize("method,params,field", [
    ("website-change", {"challenge_value": "test-validation", "http_token_path": "tok1"}, "challenge_value"),
    ("dns-change", {"challenge_value": "1234567890abcdefg.", "dns_record_type": "TXT"}, "challenge_value"),
    ("acme-http-01", {"token": "tokA", "key_authorization": "tokA.keyauth"}, "token"),
    ("acme-dns-01", {"key_authorization_hash": "x" * 18}, "key_authorization_hash"),
    ("acme-tls-alpn-01", {"key_authorization_hash": "ab"}, "key_authorization_hash"),
    ("dns-change", {"challenge_value": " " * 30 + "padded" + " " * 30, "dns_record_type": "TXT"}, "challenge_value"),
])
def test_a_random_value_below_the_minimum_is_refused(service: Any, method: str, params: dict[str, Any],
                                                     field: str) -> None:
    status, body = _post(service, dcv("dcv.mpic.test", validation_method=method, **params))
    assert status == 400, body
    issue = body["validation_issues"][0]
    assert issue["issue_type"] == challenge.TOO_SHORT and f"dcv_check_parameters.{field}" in issue["message"]
    assert "19" in issue["message"] and "112 bits" in issue["message"]
    assert service.calls == []


def test_values_that_are_not_random_values_have_no_length(service: Any) -> None:
    """An e-mail address, a phone number or an IP is compared as it is: no minimum length; 19
    characters pass for a random value (the perspectives are called)."""
    for method, params in (("contact-phone-txt", {"challenge_value": "+15550100"}),
                           ("ip-address", {"challenge_value": "1.2.3.4", "dns_record_type": "A"}),
                           ("dns-change", {"challenge_value": "x" * 19, "dns_record_type": "TXT"})):
        status, _ = _post(service, dcv("dcv.mpic.test", validation_method=method, **params))
        assert status == 200
    assert len(service.calls) == 3 * 5


def test_the_minimum_is_configurable_upwards_only(env: Env) -> None:
    assert CoordinatorSettings.model_fields["min_challenge_length"].default == challenge.RANDOM_VALUE_MIN_CHARS == 19
    assert env.coordinator_settings(min_challenge_length=28).min_challenge_length == 28
    with pytest.raises(ValueError, match="min_challenge_length"):
        env.coordinator_settings(min_challenge_length=8)


def test_a_perspective_refuses_an_empty_value_itself(env: Env, tmp_path: Any) -> None:
    from service.perspective import PerspectiveRuntime, RequestInvalid

    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(11), audit_log=str(tmp_path / "a")))
    body = {"domain_or_ip_target": "dcv.mpic.test", "dcv_check_parameters": {
        "validation_method": "dns-change", "challenge_value": " ", "dns_record_type": "TXT"}}
    from open_mpic_core import CheckType

    for payload in (body, json.dumps(body).encode()):
        with pytest.raises(RequestInvalid) as err:
            runtime.parse(CheckType.DCV, payload)
        assert err.value.issues[0]["issue_type"] == challenge.EMPTY


# ------------------------------------------------------------------------- CAA lookup failure
def test_allow_lookup_failure_is_refused_unless_the_operator_enabled_it(service: Any) -> None:
    status, body = _post(service, caa("caa-permit.mpic.test", allow_lookup_failure=True))
    assert status == 400
    issue = body["validation_issues"][0]
    assert issue["issue_type"] == "lookup-failure-not-allowed" and "mpic:caa.allowLookupFailure" in issue["message"]
    assert service.calls == []
    assert _post(service, caa("caa-permit.mpic.test", allow_lookup_failure=False))[0] == 200  # false: harmless


def test_own_resolver_down_is_never_permission(env: Env, coordinator: Any) -> None:
    """The operator allows the carve-out and the request asks for it, but every perspective's
    resolver is down (nothing answers at its address): the CA's own infrastructure -> invalid,
    each perspective saying why. The last perspective does not honour the flag at all (its own
    setting is off) and says so."""
    from service.server import perspective_config
    from tests.service import infra

    servers, pool = [], []
    try:
        for i, (code, _) in enumerate(FLEET):
            ip = env.ip(140 + i)
            settings = env.perspective_settings(code, ip, caa_allow_lookup_failure=code != "af-south-1", resolver={
                "nameservers": [env.ip(139)], "port": 5399, "timeout": 0.3, "lifetime": 0.6})
            servers.append(infra.ThreadServer(perspective_config(settings)).start())
            pool.append({"code": code, "url": f"https://{ip}:{PERSPECTIVE_PORT}"})
        base = coordinator(env.coordinator_settings(listen_port=8301, perspectives=pool, early_quorum=False,
                                                    caa_allow_lookup_failure=True))
        status, body, _ = http("POST", base + "/mpic", caa("caa-deny.mpic.test", allow_lookup_failure=True),
                               headers=KEY)
    finally:
        for server in servers:
            server.stop()
    assert status == 200 and body["is_valid"] is False, body
    assert body["caa_check_parameters"] == {"allow_lookup_failure": True}
    for p in body["perspectives"]:
        check = p["check_response"]
        kinds = [e["error_type"] for e in check["errors"]]
        assert check["check_passed"] is False and kinds == ["mpic_error:caa_checker:lookup",
                                                            "mpic_error:caa_checker:lookup_failure_not_permitted"]
        text = check["errors"][-1]["error_message"]
        if p["perspective_code"] == "af-south-1":
            assert "caa_allow_lookup_failure is off" in text
            continue
        assert "outside the CA's infrastructure: no (no answer from the perspective's resolver in time" in text, text
        assert "retried at least once: no (1 lookup)" in text


# ----------------------------------------------------------------------------- identity
def _swap(env: Env, a: str, b: str) -> list[dict[str, Any]]:
    urls = dict(env.perspectives)
    urls[a], urls[b] = urls[b], urls[a]
    return [{"code": c, "url": u} for c, u in urls.items()]


def test_swapped_urls_give_no_corroboration(env: Env, coordinator: Any, caplog: Any) -> None:
    """sa-east-1's URL points at us-east-1's perspective and the other way round: both answers
    are refused (the certificate names the other perspective), the request is invalid (3 of 5),
    with a WARNING and an audit line per refused answer."""
    audit = env.tmp / "audit-swapped.jsonl"
    base = coordinator(env.coordinator_settings(listen_port=8303, perspectives=_swap(env, "us-east-1", "sa-east-1"),
                                                early_quorum=False, audit_log=str(audit)))
    with caplog.at_level(logging.WARNING, logger="service.orchestration"):
        status, body, _ = http("POST", base + "/mpic", caa("caa-permit.mpic.test"), headers=KEY)
    assert status == 200 and body["is_valid"] is False, body
    by_code = {p["perspective_code"]: p["check_response"] for p in body["perspectives"]}
    for code in ("us-east-1", "sa-east-1"):
        check = by_code[code]
        assert check["check_passed"] is False and check["check_completed"] is False
        assert [e["error_type"] for e in check["errors"]] == [identity.MISMATCH_ERROR]
        assert f"not perspective-{code}" in check["errors"][0]["error_message"]
    assert all(by_code[c]["check_passed"] for c in ("eu-west-1", "ap-northeast-1", "af-south-1"))
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("that is not perspective" in m for m in warned) == 2
    lines = [r for r in read_audit(audit) if r["event"] == "perspective_result" and r["outcome"] == "identity_mismatch"]
    assert {r["perspective"] for r in lines} == {"us-east-1", "sa-east-1"} and all(r["detail"] for r in lines)
    attempt = next(r for r in read_audit(audit) if r["event"] == "attempt")
    assert attempt["quorum"] == "3/5" and "LACNIC" not in attempt["rirs_passing"]


def test_an_answer_naming_another_perspective_is_refused(env: Env, coordinator: Any) -> None:
    """The certificate names the expected perspective, but the process behind it is another one
    (its answers name sa-east-1): refused on the answer's own code."""
    from service.server import perspective_config
    from tests.service import infra

    ip = env.ip(150)
    cert, key = env.pki.ca.issue_server("both-names", dns_names=[identity.cert_name("af-south-1"),
                                                                identity.cert_name("sa-east-1")], ips=[ip])
    settings = env.perspective_settings("sa-east-1", ip)
    settings = settings.model_copy(update={"tls": settings.tls.model_copy(update={"cert": cert, "key": key})})
    server = infra.ThreadServer(perspective_config(settings)).start()
    try:
        pool = [{"code": c, "url": u} for c, u in env.perspectives.items() if c != "af-south-1"]
        base = coordinator(env.coordinator_settings(listen_port=8304, early_quorum=False,
                                                    perspectives=pool + [{"code": "af-south-1",
                                                                          "url": f"https://{ip}:{PERSPECTIVE_PORT}"}]))
        status, body, _ = http("POST", base + "/mpic", caa("caa-permit.mpic.test"), headers=KEY)
    finally:
        server.stop()
    check = next(p["check_response"] for p in body["perspectives"] if p["perspective_code"] == "af-south-1")
    assert status == 200 and check["errors"][0]["error_type"] == identity.MISMATCH_ERROR
    assert "is from perspective sa-east-1, not af-south-1" in check["errors"][0]["error_message"]


@pytest.mark.parametrize("first,second", [
    ({"url": "https://10.0.0.5:8443"}, {"url": "https://10.0.0.5:8443/"}),
    ({"url": "https://localhost:443"}, {"url": "https://LOCALHOST"}),
    ({"url": "lambda:arn:aws:lambda:eu-west-1:1:function:p"}, {"function_arn": "arn:aws:lambda:eu-west-1:1:function:p"}),
])
def test_two_perspectives_at_one_endpoint_refuse_to_start(env: Env, first: dict[str, str],
                                                          second: dict[str, str]) -> None:
    pool = [{"code": c, "url": u} for c, u in env.perspectives.items()]
    pool[1] = {"code": pool[1]["code"], **first}
    pool[3] = {"code": pool[3]["code"], **second}
    with pytest.raises(ValueError, match=f"{pool[1]['code']} and {pool[3]['code']} have the same endpoint"):
        env.coordinator_settings(perspectives=pool)


def test_lambda_answers_must_name_their_function(monkeypatch: Any, tmp_path: Any) -> None:
    """A Lambda perspective's answer names its code and AWS region; one answering for another
    region (or not naming itself) is refused."""
    import asyncio
    import io

    from open_mpic_core import CaaCheckRequest, CheckType
    from service.transport import LambdaTransport
    from service.settings import PerspectiveTarget

    answers = {"right": {"code": "eu-west-1", "aws_region": "eu-west-1"},
               "wrong-region": {"code": "eu-west-1", "aws_region": "us-east-1"},
               "wrong-code": {"code": "us-east-1", "aws_region": "eu-west-1"}, "silent": None}

    class Stub:
        told: Any = None

        def invoke(self, **kw: Any) -> dict[str, Any]:
            body: dict[str, Any] = {"check_completed": True, "check_passed": True, "check_type": "caa",
                                    "timestamp_ns": 1, "details": {"caa_record_present": False}}
            if Stub.told is not None:
                body[identity.LAMBDA_FIELD] = Stub.told
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}

    transport = LambdaTransport(lambda region: Stub())
    target = PerspectiveTarget(code="eu-west-1", function_arn="arn:aws:lambda:eu-west-1:1:function:p")
    results = {}
    for name, told in answers.items():
        Stub.told = told
        try:
            asyncio.run(transport.call(target, CheckType.CAA, CaaCheckRequest(domain_or_ip_target="a.test"), None, 5))
            results[name] = "ok"
        except identity.IdentityMismatch as exc:
            results[name] = str(exc)
    assert results["right"] == "ok"
    assert "runs in AWS region us-east-1, not eu-west-1" in results["wrong-region"]
    assert "is from perspective us-east-1" in results["wrong-code"]
    assert "does not name its perspective" in results["silent"]


def test_perspective_lambda_handler_names_itself(monkeypatch: Any, env: Env, tmp_path: Any) -> None:
    from service import lambda_handler

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("MPIC_CODE", "eu-west-1")
    monkeypatch.setenv("MPIC_RESOLVER", json.dumps({"nameservers": [env.knot.addr], "port": env.knot.port}))
    monkeypatch.setenv("MPIC_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("MPIC_CAA_DOMAINS", '["ca.mpic.test"]')
    lambda_handler.reset()
    try:
        answer = lambda_handler.perspective_handler({"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
                                                    None)
    finally:
        lambda_handler.reset()
    assert answer[identity.LAMBDA_FIELD] == {"code": "eu-west-1", "rir": "RIPE NCC", "aws_region": "eu-west-1"}
    assert answer["check_passed"] is True


def test_settings_examples_still_load(env: Env) -> None:
    """The shipped examples keep one endpoint per perspective."""
    from pathlib import Path

    for path in sorted(Path("service/examples").glob("coordinator*.yaml")):
        try:
            load_settings(CoordinatorSettings, path)
        except SettingsError as exc:
            assert "same endpoint" not in str(exc), exc


# ------------------------------------------------------------------ reverse-address-lookup
def test_reverse_address_lookup_of_an_ip_target(env: Env, coordinator: Any) -> None:
    """``192.0.2.7`` is looked up as ``7.2.0.192.in-addr.arpa`` PTR (host.mpic.test.)."""
    base = coordinator(env.coordinator_settings(listen_port=8305, early_quorum=False))
    good = dcv("192.0.2.7", validation_method="reverse-address-lookup", challenge_value="host.mpic.test.")
    status, body, _ = http("POST", base + "/mpic", good, headers=KEY)
    assert status == 200 and body["is_valid"] is True, body
    assert body["domain_or_ip_target"] == "192.0.2.7"
    assert {c["details"]["found_at"] for c in completed(body)} == {"7.2.0.192.in-addr.arpa"}
    bad = dcv("192.0.2.7", validation_method="reverse-address-lookup", challenge_value="other.mpic.test.")
    status, body, _ = http("POST", base + "/mpic", bad, headers=KEY)
    assert status == 200 and body["is_valid"] is False
    assert all(c["check_completed"] and c["details"]["records_seen"] == ["host.mpic.test."] for c in completed(body))


# -------------------------------------------------------------------------------- the echo
def test_the_echo_holds_what_the_caller_sent(env: Env, coordinator: Any) -> None:
    """A 3.5 request gets a 3.5 echo: none of the core's defaults for later fields
    (require_exact_case, allow_lookup_failure) nor its fixed values (dns_name_prefix)."""
    base = coordinator(env.coordinator_settings(listen_port=8306))
    body = dcv("dcv.mpic.test", validation_method="acme-dns-01", key_authorization_hash="keyauthhash-abc-0123456789")
    status, resp, _ = http("POST", base + "/mpic", body, headers=KEY)
    assert status == 200 and resp["dcv_check_parameters"] == body["dcv_check_parameters"]
    web = dcv("web.mpic.test", validation_method="website-change", challenge_value="web-challenge-0123456789",
              http_token_path="tok1", require_exact_case=False)
    status, resp, _ = http("POST", base + "/mpic", web, headers=KEY)
    assert status == 200 and resp["dcv_check_parameters"] == web["dcv_check_parameters"]
    status, resp, _ = http("POST", base + "/mpic", caa("caa-permit.mpic.test", caa_domains=["ca.mpic.test"]),
                           headers=KEY)
    assert resp["caa_check_parameters"] == {"caa_domains": ["ca.mpic.test"]}
