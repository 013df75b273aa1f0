"""Lambda entry points: the same service code, API Gateway events, lambda:Invoke to perspectives."""

from __future__ import annotations

import base64
import io
import json
from typing import Any, Iterator

import pytest

from service import lambda_handler
from tests.service.conftest import API_KEY, Env

ARN = "arn:aws:lambda:{region}:123456789012:function:mpic-perspective-{region}"
REGIONS = {"us-east-1": "pass", "eu-west-1": "pass", "ap-northeast-1": "pass", "sa-east-1": "error",
           "af-south-1": "garbage"}


class StubLambda:
    """boto3-like Lambda client: answers like a perspective function would (no AWS involved)."""

    def __init__(self, region: str | None, calls: list[dict[str, Any]]):
        self.region = region
        self.calls = calls

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        payload = json.loads(Payload)
        self.calls.append({"region": self.region, "function": FunctionName, "type": InvocationType, "payload": payload})
        region = FunctionName.split(":")[3]
        behaviour = REGIONS[region]
        if behaviour == "error":
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage":"x"}')}
        if behaviour == "garbage":
            return {"StatusCode": 200, "Payload": io.BytesIO(b'{"hello":"world"}')}
        body = {"check_completed": True, "check_passed": True, "check_type": payload["check_type"],
                "timestamp_ns": 1, "details": {"caa_record_present": False},
                "mpic_perspective": {"code": region, "aws_region": region}}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}


@pytest.fixture
def lambda_env(monkeypatch: Any, tmp_path: Any) -> Iterator[list[dict[str, Any]]]:
    perspectives = [{"code": r, "url": "lambda:" + ARN.format(region=r)} for r in REGIONS]
    perspectives[1] = {"code": "eu-west-1", "function_arn": ARN.format(region="eu-west-1")}
    monkeypatch.setenv("MPIC_PERSPECTIVES", json.dumps(perspectives))
    monkeypatch.setenv("MPIC_DEFAULT_PERSPECTIVE_COUNT", "5")
    monkeypatch.setenv("MPIC_HASH_SECRET", "lambda-secret")
    monkeypatch.setenv("MPIC_API_KEYS", json.dumps([API_KEY]))
    monkeypatch.setenv("MPIC_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("MPIC_EARLY_QUORUM", "false")
    calls: list[dict[str, Any]] = []
    lambda_handler.reset()
    lambda_handler._coordinator(lambda region: StubLambda(region, calls))
    yield calls
    lambda_handler.reset()


def v2_event(path: str, body: Any = None, headers: dict[str, str] | None = None, method: str = "POST",
             b64: bool = False) -> dict[str, Any]:
    raw = json.dumps(body) if body is not None else ""
    return {"version": "2.0", "rawPath": path, "headers": headers or {},
            "requestContext": {"http": {"method": method, "path": path}},
            "body": base64.b64encode(raw.encode()).decode() if b64 else raw, "isBase64Encoded": b64}


def test_coordinator_handler_http_api_v2(lambda_env: list[dict[str, Any]]) -> None:
    event = v2_event("/v1/mpic", {"check_type": "caa", "domain_or_ip_target": "example.com"},
                     headers={"X-Api-Key": API_KEY})
    reply = lambda_handler.coordinator_handler(event, None)
    assert reply["statusCode"] == 200 and reply["headers"]["Content-Type"] == "application/json"
    body = json.loads(reply["body"])
    assert body["is_valid"] is False  # 3 of 5 passed; quorum is 4
    by_code = {p["perspective_code"]: p["check_response"] for p in body["perspectives"]}
    assert by_code["us-east-1"]["check_passed"] is True
    assert "Unhandled" in by_code["sa-east-1"]["errors"][0]["error_message"]
    assert "not a caa check response" in by_code["af-south-1"]["errors"][0]["error_message"]
    assert len(lambda_env) == 5
    call = next(c for c in lambda_env if "eu-west-1" in c["function"])
    assert call["region"] == "eu-west-1" and call["type"] == "RequestResponse"
    assert call["payload"]["check_type"] == "caa" and call["payload"]["domain_or_ip_target"] == "example.com"
    assert call["payload"]["request_id"].startswith("mpic-") and "trace_id" not in call["payload"]  # none given


def test_coordinator_handler_rest_proxy_and_errors(lambda_env: list[dict[str, Any]]) -> None:
    rest = {"httpMethod": "POST", "path": "/prod/mpic", "headers": {"x-api-key": API_KEY},
            "body": base64.b64encode(b'{"check_type":"caa","domain_or_ip_target":"a.example"}').decode(),
            "isBase64Encoded": True}
    assert lambda_handler.coordinator_handler(rest, None)["statusCode"] == 200
    reply = lambda_handler.coordinator_handler(v2_event("/mpic", {"check_type": "caa"}, {"x-api-key": API_KEY}), None)
    assert reply["statusCode"] == 400 and json.loads(reply["body"])["error"] == "request-validation-failed"
    assert lambda_handler.coordinator_handler(v2_event("/mpic", {}), None)["statusCode"] == 401
    assert lambda_handler.coordinator_handler(v2_event("/healthz", method="GET"), None)["statusCode"] == 401
    health = lambda_handler.coordinator_handler(v2_event("/healthz", method="GET", headers={"x-api-key": API_KEY}),
                                                None)
    assert json.loads(health["body"])["perspectives_by_rir"]["ARIN"] == 1
    assert lambda_handler.coordinator_handler(v2_event("/other", method="GET"), None)["statusCode"] == 404


@pytest.fixture
def perspective_env(env: Env, monkeypatch: Any) -> Iterator[None]:
    monkeypatch.setenv("MPIC_CODE", "ap-northeast-1")
    monkeypatch.setenv("MPIC_RESOLVER__NAMESERVERS", json.dumps([env.knot.addr]))
    monkeypatch.setenv("MPIC_RESOLVER__PORT", str(env.knot.port))
    monkeypatch.setenv("MPIC_CAA_DOMAINS", '["ca.mpic.test"]')
    monkeypatch.setenv("MPIC_AUDIT_LOG", str(env.tmp / "lambda-perspective.jsonl"))
    lambda_handler.reset()
    yield
    lambda_handler.reset()


def test_perspective_handler_runs_real_checks(perspective_env: None) -> None:
    caa = lambda_handler.perspective_handler({"check_type": "caa", "domain_or_ip_target": "caa-deny.mpic.test"}, None)
    assert caa["check_type"] == "caa" and caa["check_completed"] is True and caa["check_passed"] is False
    dcv = lambda_handler.perspective_handler(json.dumps({
        "domain_or_ip_target": "dcv.mpic.test", "trace_id": "t-lambda",
        "dcv_check_parameters": {"validation_method": "acme-dns-01", "key_authorization_hash": "keyauthhash-abc-0123456789"}}),
        None)
    assert dcv["check_type"] == "dcv" and dcv["check_passed"] is True
    assert lambda_handler.perspective_handler("{bad", None)["error"] == "request-validation-failed"
    assert lambda_handler.perspective_handler([1], None)["validation_issues"][0]["issue_type"] == "invalid-event"
    bad_type = lambda_handler.perspective_handler({"check_type": "dns", "domain_or_ip_target": "a"}, None)
    assert bad_type["validation_issues"][0]["issue_type"] == "invalid-check-type"
    invalid = lambda_handler.perspective_handler({"check_type": "dcv", "domain_or_ip_target": "a"}, None)
    assert invalid["error"] == "request-validation-failed"
