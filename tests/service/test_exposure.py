"""Issue "Hardening" #6 (and the 405 of #9): only the API is public on the coordinator.

``/healthz`` and ``/metrics`` live on the internal listener (``internal_listen_host``/``port``);
the public listener serves ``POST /mpic``, ``POST /v1/mpic`` and a minimal deep ``GET /readyz``.
No slash redirects (they pointed clients at ``http://``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from service import lambda_handler
from tests.service.conftest import API_KEY, INTERNAL_OFFSET, Env, http


@pytest.fixture(scope="module")
def listeners(env: Env) -> Any:
    from service.server import coordinator_config
    from tests.service import infra

    settings = env.coordinator_settings(listen_port=8250)
    server = infra.ThreadServer(coordinator_config(settings)).start()
    yield f"http://{env.ip(30)}:8250", f"http://{env.ip(30)}:{8250 + INTERNAL_OFFSET}"
    server.stop()


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/", "/docs"])
def test_internal_endpoints_are_not_public(listeners: Any, path: str) -> None:
    public, _ = listeners
    status, body, _ = http("GET", public + path)
    assert (status, body) == (404, {"error": "not-found"})


@pytest.mark.parametrize("path", ["/mpic/", "/v1/mpic/", "//mpic"])
def test_no_slash_redirects(listeners: Any, path: str) -> None:
    public, _ = listeners
    status, body, headers = http("POST", public + path, {"check_type": "caa", "domain_or_ip_target": "x"},
                                 headers={"x-api-key": API_KEY})
    assert (status, body) == (404, {"error": "not-found"})
    assert "location" not in {k.lower() for k in headers}


def test_the_internal_listener_serves_health_and_metrics(listeners: Any) -> None:
    public, internal = listeners
    http("POST", public + "/mpic", {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
         headers={"x-api-key": API_KEY})
    status, body, _ = http("GET", internal + "/healthz")
    assert status == 200 and body["role"] == "coordinator"
    status, text, _ = http("GET", internal + "/metrics")
    assert status == 200 and 'mpic_requests_total{check_type="caa",outcome="valid"}' in text
    status, body, _ = http("POST", internal + "/mpic", {"check_type": "caa", "domain_or_ip_target": "x"},
                           headers={"x-api-key": API_KEY})
    assert status == 404  # the API is not served on the internal listener


def test_public_readyz_is_deep_and_minimal(env: Env, coordinator: Any, listeners: Any) -> None:
    public, _ = listeners
    status, body, _ = http("GET", public + "/readyz")
    assert (status, body) == (200, {"status": "ready"})
    dead = [{"code": c, "url": env.down(i)} for i, c in enumerate(("us-east-1", "eu-west-1", "ap-northeast-1"))]
    alive = [{"code": c, "url": env.perspectives[c]} for c in ("sa-east-1", "af-south-1")]
    base = coordinator(env.coordinator_settings(listen_port=8251, perspectives=dead + alive,
                                                perspective_timeout=1.0))
    status, body, _ = http("GET", base + "/readyz")
    assert (status, body) == (503, {"status": "not-ready"})  # 2 of 5 answer: quorum 4 is out of reach


def test_lambda_health_needs_a_key(monkeypatch: Any, env: Env) -> None:
    perspectives = [{"code": c, "url": f"lambda:arn:aws:lambda:{c}:1:function:p"} for c in env.perspectives]
    monkeypatch.setenv("MPIC_PERSPECTIVES", json.dumps(perspectives))
    monkeypatch.setenv("MPIC_DEFAULT_PERSPECTIVE_COUNT", "5")
    monkeypatch.setenv("MPIC_HASH_SECRET", "s")
    monkeypatch.setenv("MPIC_API_KEYS", json.dumps([API_KEY]))
    monkeypatch.setenv("MPIC_AUDIT_LOG", str(env.tmp / "lambda-exposure.jsonl"))
    lambda_handler.reset()
    try:
        event = {"rawPath": "/healthz", "requestContext": {"http": {"method": "GET"}}, "headers": {}}
        assert lambda_handler.coordinator_handler(event, None)["statusCode"] == 401
        event["headers"] = {"x-api-key": API_KEY}
        assert lambda_handler.coordinator_handler(event, None)["statusCode"] == 200
    finally:
        lambda_handler.reset()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # uvicorn's sys.exit(3)
def test_an_internal_port_in_use_stops_the_start(env: Env) -> None:
    """Both listeners or none: the public one is closed again and uvicorn exits (startup failure)."""
    import socket

    from service.server import coordinator_config
    from tests.service import infra

    settings = env.coordinator_settings(listen_port=8252)
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind((env.ip(30), 8252 + INTERNAL_OFFSET))
        taken.listen()
        with pytest.raises(RuntimeError, match="did not start"):
            infra.ThreadServer(coordinator_config(settings)).start()
    with socket.socket() as probe:  # the public port was released
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((env.ip(30), 8252))
