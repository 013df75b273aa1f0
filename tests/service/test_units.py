"""Small pieces: metrics text, resolver adapters, error paths of the service and the apps, main()."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from open_mpic_core import CheckType
from service.apps import create_perspective_app
from service.coordinator import CoordinatorService
from service.metrics import Metrics
from service.perspective import PerspectiveRuntime
from service.resolver import PerspectiveHostResolver, build_resolver, resolve_addresses, resolver_answers
from service.settings import ResolverSettings
from service.transport import PerspectiveCallError, parse_check_response
from tests.service import infra
from tests.service.conftest import ALPN_HASH, API_KEY, Env, http, read_audit


def test_metrics_text_format() -> None:
    m = Metrics(buckets=(0.1, 1.0))
    m.describe("jobs_total", "counter", "Jobs")
    m.inc("jobs_total")
    m.inc("jobs_total", 2, kind='a"b')
    m.observe("lat_seconds", 0.5, op="x")
    m.observe("lat_seconds", 5, op="x")
    text = m.render()
    assert "# TYPE jobs_total counter\njobs_total 1\n" in text
    assert 'jobs_total{kind="a\\"b"} 2' in text
    assert 'lat_seconds_bucket{op="x",le="0.1"} 0' in text
    assert 'lat_seconds_bucket{op="x",le="1"} 1' in text
    assert 'lat_seconds_bucket{op="x",le="+Inf"} 2' in text
    assert 'lat_seconds_sum{op="x"} 5.500000' in text
    assert m.value("lat_seconds", op="x") == 2 and m.value("nothing") == 0 and m.value("jobs_total") == 1


def test_histogram_buckets_are_cumulative_and_bounds_inclusive() -> None:
    m = Metrics(buckets=(0.1, 1.0, 2.0))
    for value in (0.05, 0.1, 0.5, 1.0, 5, 0.0):
        m.observe("lat_seconds", value)
    text = m.render()
    for le, count in (("0.1", 3), ("1", 5), ("2", 5), ("+Inf", 6)):
        assert f'lat_seconds_bucket{{le="{le}"}} {count}\n' in text, text
    assert "lat_seconds_count 6\n" in text


def test_host_resolver_adapter(env: Env) -> None:
    resolver = build_resolver(ResolverSettings(nameservers=[env.knot.addr], port=env.knot.port))
    adapter = PerspectiveHostResolver(resolver)

    async def go() -> Any:
        v4 = await adapter.resolve("192.0.2.1", 80)
        v6 = await adapter.resolve("2001:db8::1", 443)
        named = await adapter.resolve("web.mpic.test", 80, socket.AF_INET)
        await adapter.close()
        return v4, v6, named

    v4, v6, named = asyncio.run(go())
    assert v4[0]["host"] == "192.0.2.1" and v4[0]["family"] == socket.AF_INET
    assert v6[0]["family"] == socket.AF_INET6
    assert [r["host"] for r in named] == [env.ip(80)] and named[0]["hostname"] == "web.mpic.test"


def test_resolver_failures_are_oserrors(env: Env) -> None:
    dead = build_resolver(ResolverSettings(nameservers=[env.ip(24)], port=5399, timeout=0.1, lifetime=0.2))
    with pytest.raises(OSError, match="LifetimeTimeout"):
        asyncio.run(resolve_addresses(dead, "web.mpic.test"))
    live = build_resolver(ResolverSettings(nameservers=[env.knot.addr], port=env.knot.port))
    assert asyncio.run(resolver_answers(live, "no-such-tld.")) == (True, "NXDOMAIN")
    with pytest.raises(OSError, match="NXDOMAIN"):
        asyncio.run(resolve_addresses(live, "nothing.mpic.test", socket.AF_INET6))


def test_concurrent_tls_alpn_checks_in_one_process(env: Env, tmp_path: Path) -> None:
    """The core's process-wide getpeercert swap races between concurrent checks; the kit's does not."""
    resolver = {**env.resolver(), "timeout": 3.0, "lifetime": 6.0}  # generous: TLS handshakes load the CPU
    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(70), audit_log=str(tmp_path / "a"),
                                                          resolver=resolver))

    def body(target: str) -> dict[str, Any]:
        return {"domain_or_ip_target": target, "dcv_check_parameters": {
            "validation_method": "acme-tls-alpn-01", "key_authorization_hash": ALPN_HASH}}

    async def go() -> list[Any]:
        targets = ["alpn.mpic.test", env.ip(81)] * 4 + ["blackhole.mpic.test"]
        return await asyncio.gather(*(runtime.check(CheckType.DCV, body(t)) for t in targets))

    results = asyncio.run(go())
    assert all(r.check_passed for r in results[:-1])
    refused = results[-1]
    assert refused.check_completed is False and "ConnectionRefusedError" in refused.errors[0].error_message


def test_parse_check_response_accepts_dicts_and_rejects_others() -> None:
    ok = parse_check_response(CheckType.CAA, {"check_completed": True, "check_passed": True,
                                              "details": {"caa_record_present": False}})
    assert ok.check_passed is True
    with pytest.raises(PerspectiveCallError, match="not a dcv check response"):
        parse_check_response(CheckType.DCV, b"[]")


def test_service_error_paths(env: Env, monkeypatch: Any) -> None:
    settings = env.coordinator_settings(max_body_bytes=1024)
    service = CoordinatorService(settings)
    status, body = asyncio.run(service.handle_mpic({"x-api-key": API_KEY}, b"{" + b" " * 2000 + b"}"))
    assert status == 413 and body["validation_issues"][0]["issue_type"] == "body-too-large"

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(service.orchestrator, "coordinate", broken)
    status, body = asyncio.run(service.handle_mpic({"x-api-key": API_KEY},
                                                   b'{"check_type":"caa","domain_or_ip_target":"a.test"}'))
    assert (status, body) == (500, {"error": "internal-error"})
    assert service.metrics.value("mpic_requests_total", check_type="caa", outcome="error") == 1
    asyncio.run(service.aclose())


@pytest.mark.parametrize("params,status,issue", [
    ({}, 500, None),  # the default size cannot form a cohort: the coordinator's problem, a JSON 500
    ({"perspective_count": 5}, 400, "invalid-perspective-count"),  # the request's size: its problem
    ({"cohort_for_single_attempt": 1}, 400, "invalid-cohort-selection"),
])
def test_cohort_problems_are_json(env: Env, monkeypatch: Any, params: dict[str, Any], status: int,
                                  issue: str | None) -> None:
    from service.orchestration import OrchestrationError

    service = CoordinatorService(env.coordinator_settings(allow_cohort_selection=True))

    async def no_cohort(*_: Any, **__: Any) -> Any:
        raise OrchestrationError("The coordinator could not construct a cohort of size 5",
                                 selection="cohort_for_single_attempt" in params)

    monkeypatch.setattr(service.orchestrator, "coordinate", no_cohort)
    body = {"check_type": "caa", "domain_or_ip_target": "a.test"}
    if params:
        body["orchestration_parameters"] = params
    got, payload = asyncio.run(service.handle_mpic({"x-api-key": API_KEY}, json.dumps(body).encode()))
    assert got == status
    if issue is None:
        assert payload == {"error": "The coordinator could not construct a cohort of size 5"}
    else:
        assert payload["validation_issues"][0]["issue_type"] == issue
    asyncio.run(service.aclose())


def test_a_br_phase_passing_while_running_stops_requests(env: Env) -> None:
    """Started on 2026-06-15 with 4 of 5 (compliant), the process runs into 2026-12-15 (5 required):
    requests are refused with a JSON 500 naming the setting, and /readyz turns not-ready."""
    import dataclasses
    import datetime as dt

    service = CoordinatorService(env.coordinator_settings(default_perspective_count=4, br_as_of="2026-06-15"))
    service.policy = dataclasses.replace(service.policy, br_as_of=dt.date(2026, 12, 15))
    status, body = asyncio.run(service.handle_mpic({"x-api-key": API_KEY},
                                                   b'{"check_type":"caa","domain_or_ip_target":"a.test"}'))
    assert status == 500 and body["error"] == "configuration-below-br-minimum"
    assert "default_perspective_count: 4" in body["message"] and "2026-12-15" in body["message"]
    assert asyncio.run(service.ready()) is False
    asyncio.run(service.aclose())
    asyncio.run(service.aclose())


def test_app_turns_unexpected_exceptions_into_json_500(env: Env, tmp_path: Path) -> None:
    runtime = PerspectiveRuntime(env.perspective_settings("us-east-1", env.ip(71), audit_log=str(tmp_path / "a")))

    def boom() -> Any:
        raise RuntimeError("health broke")

    runtime.health = boom  # type: ignore[method-assign]
    config = uvicorn.Config(create_perspective_app(runtime), host=env.ip(71), port=8099, log_level="critical")
    server = infra.ThreadServer(config).start()
    try:
        status, body, _ = http("GET", f"http://{env.ip(71)}:8099/healthz")
    finally:
        server.stop()
    assert (status, body) == (500, {"error": "internal-error"})


def test_main_runs_in_the_foreground_until_sigterm(env: Env, tmp_path: Path) -> None:
    """``python -m service perspective`` in-process: serves, then SIGTERM -> exit 0, audit flushed."""
    from service.__main__ import main

    ip = env.ip(72)
    cert, key = env.pki.server("main-p", ip)
    audit = tmp_path / "audit.jsonl"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({
        "code": "us-east-2", "listen_host": ip, "listen_port": 8443,
        "tls": {"cert": str(cert), "key": str(key), "client_ca": str(env.pki.ca.cert_path)},
        "resolver": {"nameservers": [env.knot.addr], "port": env.knot.port},
        "caa_domains": ["ca.mpic.test"], "audit_log": str(audit), "log_level": "WARNING",
        "allowed_clients": ["coordinator"]}))
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    results: dict[str, Any] = {}

    def client() -> None:
        infra.wait_port(ip, 8443)
        ctx = env.client_context(env.pki.client)
        results["caa"] = http("POST", f"https://{ip}:8443/caa", {"domain_or_ip_target": "caa-deny.mpic.test"},
                              context=ctx)[:2]
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        code = main(["perspective", "--settings", str(path)])
    finally:
        thread.join(10)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert code == 0
    status, body = results["caa"]
    assert status == 200 and body["check_passed"] is False
    lines = [line for line in read_audit(audit) if line["event"] == "check"]
    assert len(lines) == 1 and lines[0]["outcome"] == "fail" and lines[0]["perspective"] == "us-east-2"


@pytest.mark.parametrize("drop,expect_ok", [(1, True), (99, False)])
def test_one_retry_when_a_pooled_connection_was_closed(env: Env, drop: int, expect_ok: bool) -> None:
    from open_mpic_core import CaaCheckRequest
    from service.settings import ClientTls, PerspectiveTarget
    from service.transport import HttpsTransport, PerspectiveCallError

    ip = env.ip(73)
    lt = infra.LoopThread()
    peer = infra.FlakyPeer(lt, ip, 8443, *env.pki.server("flaky", ip, "us-east-1"), drop=drop)
    transport = HttpsTransport(ClientTls(cert=env.pki.client[0], key=env.pki.client[1], ca=env.pki.ca.cert_path))
    target = PerspectiveTarget(code="us-east-1", url=f"https://{ip}:8443")

    async def go() -> Any:
        try:
            return await transport.call(target, CheckType.CAA, CaaCheckRequest(domain_or_ip_target="a.test"),
                                        ("t", None), 5)
        finally:
            await transport.close()

    try:
        if expect_ok:
            assert asyncio.run(go()).check_passed is True
        else:
            with pytest.raises(PerspectiveCallError, match="closed the connection before answering"):
                asyncio.run(go())
    finally:
        peer.stop()
        lt.stop()
    assert peer.connections == 2  # exactly one retry, on a new connection


def test_the_core_version_is_read_on_first_use_and_only_that_name():
    """`import service` (the CLI's audit and settings readers) no longer imports all of open-mpic-core."""
    import importlib.metadata
    import subprocess
    import sys

    import service

    assert service.CORE_VERSION == importlib.metadata.version("open-mpic-core")
    with pytest.raises(AttributeError, match="no attribute 'NOPE'"):
        service.NOPE  # noqa: B018
    fresh = subprocess.run([sys.executable, "-c", "import sys, service; print('open_mpic_core' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "False"
