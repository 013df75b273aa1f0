"""Issue "Hardening" #3, #4: a perspective bounds its bodies and refuses hostile JSON (400/413)."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

from tests.service.conftest import Env, http


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


def test_the_perspective_bounds_its_bodies_too(env: Env) -> None:
    host, port = env.perspectives["eu-west-1"].removeprefix("https://").split(":")
    status, body, elapsed = raw_post(host, int(port), {"Content-Length": str(50_000_000)}, path="/caa",
                                     context=env.client_context(env.pki.client))
    assert status == 413 and body["validation_issues"][0]["issue_type"] == "body-too-large" and elapsed < 2


def nested(depth: int) -> bytes:
    return b'{"check_type":"caa","domain_or_ip_target":"a.test","x":' + b"[" * depth + b"]" * depth + b"}"


def test_the_perspective_refuses_hostile_json(env: Env) -> None:
    ctx = env.client_context(env.pki.client)
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + "/caa", nested(1000), context=ctx)
    assert status == 400 and body["validation_issues"][0]["issue_type"] == "json-too-deep"
    status, body, _ = http("POST", env.perspectives["eu-west-1"] + "/caa",
                           b'{"domain_or_ip_target":"\\ud800.test"}', context=ctx)
    assert status == 400 and body["validation_issues"][0]["issue_type"] == "invalid-string"
