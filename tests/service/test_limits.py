"""Issue "Hardening" #3, #4, #7: limits before work, client input never a 500, safe trace ids and logs.

#3: the API key and the body size are checked before the body is read (a 50 MB POST without a
key is answered at once, unread); #4: deep JSON, lone surrogates and a chosen cohort are 400s;
#7: trace_identifier is bounded and printable, and the human log never carries a raw CR/LF.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import time
from typing import Any

import pytest

from tests.service.conftest import API_KEY, Env, http

KEY = {"x-api-key": API_KEY}
MINIMAL = {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"}


@pytest.fixture(scope="module")
def api(env: Env) -> Any:
    from service.server import coordinator_config
    from tests.service import infra

    settings = env.coordinator_settings(listen_port=8230)
    server = infra.ThreadServer(coordinator_config(settings)).start()
    yield settings.listen_host, settings.listen_port
    server.stop()


def raw_post(host: str, port: int, headers: dict[str, str], body: bytes = b"", path: str = "/mpic",
             context: ssl.SSLContext | None = None, wait: float = 3.0) -> tuple[int, dict[str, Any], float]:
    """Send the head (and ``body``, possibly only part of what Content-Length announces) and read
    the answer: (status, JSON body, seconds until the status line arrived)."""
    sock: Any = socket.create_connection((host, port), timeout=wait)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname=host)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    started = time.monotonic()
    try:
        sock.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        elapsed = time.monotonic() - started
        head_part, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head_part.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    finally:
        sock.close()
    return int(head_part.split(b" ")[1]), json.loads(rest or b"{}"), elapsed


# ------------------------------------------------------------------------------------ #3
def test_no_key_is_answered_before_the_body_is_read(api: tuple[str, int]) -> None:
    """50 MB announced, nothing sent: 401 at once (before: the replica waited for, and buffered, it all)."""
    status, body, elapsed = raw_post(*api, {"Content-Length": str(50_000_000), "Content-Type": "application/json"})
    assert status == 401 and body["error"] == "unauthorized" and elapsed < 2


def test_an_announced_oversize_body_is_413_unread(api: tuple[str, int]) -> None:
    status, body, elapsed = raw_post(*api, {**KEY, "Content-Length": str(50_000_000)})
    assert status == 413 and elapsed < 2
    assert body["error"] == "request-validation-failed"
    issue = body["validation_issues"][0]
    assert issue["issue_type"] == "body-too-large" and "max_body_bytes" in issue["message"]


def test_a_chunked_body_is_cut_at_the_limit(api: tuple[str, int]) -> None:
    """No Content-Length: the running count stops reading at max_body_bytes (1 MiB)."""
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(17))  # 1.06 MiB, no final chunk
    status, resp, _ = raw_post(*api, {**KEY, "Transfer-Encoding": "chunked"}, body)
    assert status == 413 and resp["validation_issues"][0]["issue_type"] == "body-too-large"


def test_the_perspective_bounds_its_bodies_too(env: Env) -> None:
    host, port = env.perspectives["eu-west-1"].removeprefix("https://").split(":")
    status, body, elapsed = raw_post(host, int(port), {"Content-Length": str(50_000_000)}, path="/caa",
                                     context=env.client_context(env.pki.client))
    assert status == 413 and body["validation_issues"][0]["issue_type"] == "body-too-large" and elapsed < 2


# ------------------------------------------------------------------------------------ #4
def nested(depth: int) -> bytes:
    return b'{"check_type":"caa","domain_or_ip_target":"a.test","x":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("raw,issue", [
    (nested(1000), "json-too-deep"),  # RecursionError -> 500 before
    (nested(40), "json-too-deep"),
    (b'{"check_type":"caa","domain_or_ip_target":"\\ud800.test"}', "invalid-string"),  # UnicodeEncodeError before
    (b'{"check_type":"caa","domain_or_ip_target":"a.test","trace_identifier":"\\udfff"}', "invalid-trace-identifier"),
    (b'{"check_type":"caa","domain_or_ip_target":"a.test","\\ud800\\n":1}', "invalid-string"),  # in a key
    (b'{"check_type":"caa","domain_or_ip_target":"a.test","' + b"k" * 2000 + b'":1}', "string-too-long"),
    (json.dumps({**MINIMAL, "caa_check_parameters": {"caa_domains": ["a" * 5000]}}).encode(), "string-too-long"),
    (json.dumps({**MINIMAL, "caa_check_parameters": {"caa_domains": ["ca.test"] * 1000}}).encode(), "too-many-items"),
    (b'{"check_type":"caa","domain_or_ip_target":"a.test","orchestration_parameters":{"quorum_count":1e400}}',
     "finite_number"),
])
def test_hostile_json_is_a_400(api: tuple[str, int], raw: bytes, issue: str) -> None:
    host, port = api
    status, body, _ = http("POST", f"http://{host}:{port}/mpic", raw, headers=KEY)
    assert status == 400, body
    assert issue in {i["issue_type"] for i in body["validation_issues"]}, body
    assert "Traceback" not in json.dumps(body)


def test_the_perspective_refuses_hostile_json(env: Env) -> None:
    ctx = env.client_context(env.pki.client)
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + "/caa", nested(1000), context=ctx)
    assert status == 400 and body["validation_issues"][0]["issue_type"] == "json-too-deep"
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + "/caa",
                           b'{"domain_or_ip_target":"\\ud800.test"}', context=ctx)
    assert status == 400 and body["validation_issues"][0]["issue_type"] == "invalid-string"


# ------------------------------------------------------------------------------------ #7
@pytest.mark.parametrize("trace", ["line\r\nINJECTED: yes", "x" * 100_000, "tab\there", "é-accent", "a b"])
def test_bad_trace_identifiers_are_400(api: tuple[str, int], trace: str) -> None:
    host, port = api
    status, body, _ = http("POST", f"http://{host}:{port}/mpic", {**MINIMAL, "trace_identifier": trace}, headers=KEY)
    assert status == 400, body
    message = {i["issue_type"]: i["message"] for i in body["validation_issues"]}["invalid-trace-identifier"]
    assert "trace_identifier" in message and "256" in message


@pytest.mark.parametrize("trace", ["ac2d0392-8699-4037-a0e0-0a6db1ff8b89", "ejbca:req/42", "x" * 256])
def test_good_trace_identifiers_pass_and_reach_the_perspectives(api: tuple[str, int], trace: str) -> None:
    host, port = api
    status, body, _ = http("POST", f"http://{host}:{port}/mpic", {**MINIMAL, "trace_identifier": trace}, headers=KEY)
    assert status == 200 and body["trace_identifier"] == trace and body["is_valid"] is True


def test_the_human_log_never_carries_a_raw_line_break(capsys: Any) -> None:
    from service.server import configure_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(logging.INFO)
    try:
        logging.getLogger("open_mpic_core.test").warning("Error connecting to http://a\r\nFAKE 2026 CRITICAL x: %s",
                                                           "b\nFAKE2\x1b[31m\u2028")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("service.test").exception("with a traceback\r\nFAKE3")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert not any(line.startswith(("FAKE", "b")) for line in lines), err
    assert "http://a\\r\\nFAKE 2026" in err and "b\\nFAKE2\\x1b[31m\\u2028" in err
    assert "Traceback (most recent call last):" in err and "ValueError: boom" in err  # tracebacks stay readable


def test_log_escaping_keeps_plain_text() -> None:
    from service.server import escape_log_text

    assert escape_log_text("plain text: ok ü") == "plain text: ok ü"
    assert escape_log_text("a\rb\nc\td\x00\x7f\x85") == "a\\rb\\nc\\td\\x00\\x7f\\x85"


def test_audit_lines_stay_one_line(env: Env, api: tuple[str, int]) -> None:
    """The audit log is JSON: a control character in a target is escaped by the encoder."""
    host, port = api
    body = {"check_type": "caa", "domain_or_ip_target": "a\r\nb.test", "trace_identifier": "audit-crlf"}
    status, _, _ = http("POST", f"http://{host}:{port}/mpic", body, headers=KEY)
    assert status == 200
    text = (env.tmp / "audit-coordinator.jsonl").read_text()
    assert all(line.startswith("{") for line in text.splitlines()), text[-500:]
