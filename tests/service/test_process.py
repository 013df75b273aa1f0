"""True processes: ``python -m service ...`` as the local fleet runs it, curl as a client, SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.service import infra
from tests.service.conftest import API_KEY, INTERNAL_OFFSET, Env, read_audit

ROOT = Path(__file__).resolve().parents[2]


def spawn(role: str, settings: dict[str, Any], tmp: Path, name: str) -> subprocess.Popen[Any]:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPIC_")}
    return subprocess.Popen([sys.executable, "-m", "service", role, "--settings", str(path)], cwd=ROOT, env=env,
                            stdout=open(tmp / f"{name}.out", "w"), stderr=open(tmp / f"{name}.err", "w"))


def curl(*args: str) -> tuple[int, Any]:
    out = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                         timeout=30)
    body, _, code = out.stdout.rpartition("\n")
    try:
        return int(code), json.loads(body)
    except ValueError:
        return int(code or 0), body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_processes_serve_and_shut_down_cleanly(env: Env, tmp_path: Path) -> None:
    p_ip, c_ip = env.ip(40), env.ip(41)
    cert, key = env.pki.server("proc-perspective", p_ip, "eu-central-1")
    p_audit, c_audit = tmp_path / "p-audit.jsonl", tmp_path / "c-audit.jsonl"
    perspective = spawn("perspective", {
        "code": "eu-central-1", "listen_host": p_ip, "listen_port": 8443,
        "tls": {"cert": str(cert), "key": str(key), "client_ca": str(env.pki.ca.cert_path)},
        "resolver": {"nameservers": [env.knot.addr], "port": env.knot.port},
        "caa_domains": ["ca.mpic.test"], "audit_log": str(p_audit), "log_level": "WARNING",
        "allowed_clients": ["coordinator"],
    }, tmp_path, "perspective")
    coordinator = None
    try:
        infra.wait_port(p_ip, 8443, timeout=30)
        coordinator = spawn("coordinator", {
            "listen_host": c_ip, "listen_port": 8080, "api_keys": [API_KEY], "hash_secret": "x",
            "default_perspective_count": 2, "br_as_of": "2025-03-15",  # a 2-perspective lab: 2 required then
            "internal_listen_host": c_ip, "internal_listen_port": 9090,
            "client_tls": {"cert": str(env.pki.client[0]), "key": str(env.pki.client[1]),
                           "ca": str(env.pki.ca.cert_path)},
            "perspectives": [{"code": "eu-central-1", "url": f"https://{p_ip}:8443"},
                             {"code": "us-east-1", "url": env.perspectives["us-east-1"]}],
            "audit_log": str(c_audit), "early_quorum": False,
        }, tmp_path, "coordinator")
        infra.wait_port(c_ip, 8080, timeout=30)
        url = f"http://{c_ip}:8080/v1/mpic"
        minimal = '{"check_type":"caa","domain_or_ip_target":"x"}'
        assert curl("-X", "POST", url, "-d", minimal)[0] == 401
        code, body = curl("-X", "POST", url, "-H", f"x-api-key: {API_KEY}", "-H", "content-type: application/json",
                          "-d", minimal)
        assert code == 200 and body["is_valid"] is True, body
        assert {p["perspective_code"] for p in body["perspectives"]} == {"eu-central-1", "us-east-1"}
        assert curl(f"http://{c_ip}:8080/healthz")[0] == 404  # not on the public listener
        code, health = curl(f"http://{c_ip}:9090/healthz")
        assert health["perspectives_by_rir"] == {"ARIN": 1, "RIPE NCC": 1}
        # a client without the kit certificate cannot talk to the perspective
        code, _ = curl("--cacert", str(env.pki.ca.cert_path), f"https://{p_ip}:8443/healthz")
        assert code == 0
        code, health = curl("--cacert", str(env.pki.ca.cert_path), "--cert", str(env.pki.client[0]),
                            "--key", str(env.pki.client[1]), f"https://{p_ip}:8443/healthz")
        assert code == 200 and health["perspective_code"] == "eu-central-1"
    finally:
        for proc in (coordinator, perspective):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in (coordinator, perspective) if proc is not None]
    assert codes == [0, 0], (tmp_path / "coordinator.err").read_text() + (tmp_path / "perspective.err").read_text()
    lines = read_audit(c_audit)
    assert [x["event"] for x in lines] == ["chain_start", "request", "perspective_result", "perspective_result",
                                           "attempt", "response"]
    assert lines[4]["quorum"] == "2/2" and lines[5]["is_valid"] is True
    assert [x["seq"] for x in lines] == list(range(6)) and len({x["chain"] for x in lines}) == 1
    p_lines = read_audit(p_audit)
    assert [x["event"] for x in p_lines] == ["chain_start", "check"]
    assert p_lines[1]["request_id"] == lines[1]["request_id"] and p_lines[1]["build"] is None  # from the source tree
    assert "no tls configured" in (tmp_path / "coordinator.err").read_text()


def test_coordinator_public_tls_listener(env: Env, coordinator: Any) -> None:
    """With tls set the public listener speaks HTTPS (e.g. without a load balancer)."""
    from tests.service.conftest import http

    cert, key = env.pki.server("coordinator-public", env.ip(30))
    settings = env.coordinator_settings(listen_port=8097, tls={"cert": cert, "key": key})
    coordinator(settings)
    status, body, _ = http("GET", f"https://{env.ip(30)}:8097/readyz", context=env.client_context())
    assert (status, body) == (200, {"status": "ready"})
    status, body, _ = http("GET", f"http://{env.ip(30)}:{8097 + INTERNAL_OFFSET}/healthz")  # internal: plain HTTP
    assert status == 200 and body["role"] == "coordinator"
    status, body, _ = http("POST", f"https://{env.ip(30)}:8097/mpic",
                           {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
                           headers={"x-api-key": API_KEY}, context=env.client_context())
    assert status == 200 and body["is_valid"] is True
