"""service.apps.MpicEndpoint: the coordinator's /mpic answered without Starlette, as Starlette did."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.responses import JSONResponse

from service.apps import MpicEndpoint, create_coordinator_app, json_body
from service.limits import BodyTooLarge, InputRejected


class Service:
    """Stands in for CoordinatorService: records what handle_mpic was given and reads the body."""

    def __init__(self, limit: int = 1000, payload: Any = None):
        self.limit, self.payload = limit, payload
        self.seen: list[tuple[dict[str, str], Any]] = []

    async def handle_mpic(self, headers: Any, body: Any) -> tuple[int, Any]:
        try:
            raw = await body(self.limit)
        except (BodyTooLarge, InputRejected) as exc:
            self.seen.append((dict(headers), type(exc).__name__))
            return 413 if isinstance(exc, BodyTooLarge) else 400, {"error": type(exc).__name__}
        self.seen.append((dict(headers), raw))
        return 200, self.payload if self.payload is not None else {"echo": raw.decode()}

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        pass


def call(app: Any, method: str, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] = (),
         disconnect: bool = False) -> tuple[int, dict[bytes, bytes], bytes]:
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    if disconnect:
        messages = [{"type": "http.request", "body": chunks[0], "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": list(headers), "http_version": "1.1", "scheme": "http", "root_path": "",
             "server": ("127.0.0.1", 1), "client": ("127.0.0.1", 2)}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.lower(): v for k, v in start["headers"]}, b"".join(m.get("body", b"") for m in sent[1:])


def test_json_body_is_starlettes_rendering() -> None:
    for payload in ({"a": "é✓", "n": [1, 2.5, None, True]}, [], "x", {"nested": {"k": "v" * 100}}):
        assert json_body(payload) == JSONResponse(payload).body
    with pytest.raises(ValueError):
        json_body({"nan": float("nan")})


@pytest.mark.parametrize("path", ["/mpic", "/v1/mpic"])
def test_a_post_goes_to_handle_mpic_with_the_first_of_repeated_headers(path: str) -> None:
    service = Service(payload={"is_valid": True, "note": "é"})
    status, headers, body = call(create_coordinator_app(service), "POST", path, [b'{"check', b'_type":"caa"}'],
                                 [(b"X-Api-Key", b"first"), (b"x-api-key", b"second"), (b"content-type", b"application/json")])
    assert (status, body) == (200, JSONResponse({"is_valid": True, "note": "é"}).body)
    assert headers[b"content-type"] == b"application/json" and headers[b"content-length"] == str(len(body)).encode()
    seen_headers, raw = service.seen[0]
    assert raw == b'{"check_type":"caa"}'
    assert seen_headers["x-api-key"] == "first" and seen_headers["content-type"] == "application/json"


def test_other_methods_get_405_with_allow() -> None:
    service = Service()
    for method in ("GET", "PUT", "HEAD"):
        status, headers, body = call(create_coordinator_app(service), method, "/mpic", [b""])
        assert (status, body, headers[b"allow"]) == (405, b'{"error":"method-not-allowed"}', b"POST")
    assert service.seen == []


def test_the_body_limit_and_a_disconnect_reach_the_service_as_before() -> None:
    service = Service(limit=10)
    app = create_coordinator_app(service)
    assert call(app, "POST", "/mpic", [b"x" * 6, b"y" * 6])[0] == 413
    assert call(app, "POST", "/mpic", [b"{}"], [(b"content-length", b"99")])[0] == 413
    assert call(app, "POST", "/mpic", [b"{", b"}"], disconnect=True)[0] == 400
    assert [what for _h, what in service.seen] == ["BodyTooLarge", "BodyTooLarge", "InputRejected"]


def test_every_other_path_is_starlettes() -> None:
    service = Service()
    app = create_coordinator_app(service)
    assert isinstance(app, MpicEndpoint)
    assert call(app, "GET", "/readyz", [b""])[::2] == (200, b'{"status":"ready"}')
    status, _headers, body = call(app, "GET", "/mpicx", [b""])
    assert (status, body) == (404, b'{"error":"not-found"}')
    assert call(app, "GET", "/mpic/", [b""])[0] == 404  # no slash redirects
    assert service.seen == []
