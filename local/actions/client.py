"""HTTP clients of the local fleet: curl inside a namespace, and the coordinator's API from the host.

Never through a proxy (the machine's HTTP(S)_PROXY would silently change what is tested).
"""

from __future__ import annotations

import dataclasses
import http.client
import ipaddress
import json
import socket
import ssl
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

from local.engine.proc import run


def curl(netns_name: str, url: str, *, ca: Path | None = None, cert: tuple[Path, Path] | None = None,
         timeout: float = 5, data: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """``(status, body)`` of one request made with curl inside ``netns_name`` (status 0: no answer)."""
    argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", str(timeout), "--noproxy", "*"]
    if ca:
        argv += ["--cacert", str(ca)]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if data is not None:
        argv += ["-H", "content-type: application/json", "--data-binary", data]
    argv.append(url)
    res = run(argv, netns=netns_name, check=False, timeout=timeout + 5)
    body, _, code = res.stdout.rpartition("\n")
    status = int(code) if code.isdigit() else 0
    return (status, body) if status else (0, res.stderr.strip())  # 0: no answer, curl says why


def resolve(name: str, resolver: str, timeout: float = 3.0) -> str:
    """The first A address of ``name`` from the DNS server ``resolver`` (OSError when there is none)."""
    import dns.exception
    import dns.resolver

    r = dns.resolver.Resolver(configure=False)
    r.nameservers, r.lifetime = [resolver], timeout
    try:
        return str(r.resolve(name, "A")[0])
    except dns.exception.DNSException as exc:
        raise OSError(f"{name}: not resolved by {resolver}: {exc}") from None


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``address`` for the name in the URL: SNI, certificate check and Host header by name."""

    def __init__(self, host: str, port: int, address: str, **kwargs: Any):
        super().__init__(host, port, **kwargs)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def api_request(url: str, ca: str, method: str = "GET", body: Any = None, api_key: str | None = None,
                timeout: float = 30, path: str = "", resolver: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """``(status, JSON or text)`` of one request to the coordinator (status 0: no answer, with why).

    A URL by name is resolved through ``resolver`` (the fleet's client resolver) on every call, so
    the record's TTL decides, as for any client of a failed-over name."""
    parts = urllib.parse.urlsplit(url.rstrip("/") + path)
    host, port = parts.hostname or "", parts.port or 443
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {**({"content-type": "application/json"} if data is not None else {}), **(headers or {})}
    if api_key:
        headers["x-api-key"] = api_key
    context = ssl.create_default_context(cafile=ca or None)
    try:
        try:
            ipaddress.ip_address(host)
            address = host
        except ValueError:
            address = resolve(host, resolver) if resolver else socket.gethostbyname(host)
        conn: http.client.HTTPConnection = (
            _Connection(host, port, address, timeout=timeout, context=context) if parts.scheme == "https"
            else http.client.HTTPConnection(address, parts.port or 80, timeout=timeout))
        try:
            conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=data, headers=headers)
            resp = conn.getresponse()
            raw, status = resp.read(), resp.status
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return 0, {"error": str(exc)}
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How a CA's client should call a failed-over coordinator (docs/failover.md): retry a request
    that got no answer, a timeout or a 502/503/504, resolving the name again each time, after
    ``first`` s doubling up to ``cap`` s, for at most ``budget`` s in all. A 200 (valid or not),
    400 or 401 is an answer and is never retried."""

    first: float = 0.5
    cap: float = 4.0
    budget: float = 60.0
    retry_on: tuple[int, ...] = (0, 502, 503, 504)

    def delays(self) -> Iterator[float]:
        delay, spent = self.first, 0.0
        while spent + delay <= self.budget:
            yield delay
            spent += delay
            delay = min(delay * 2, self.cap)


def mpic(status: dict[str, Any], body: dict, timeout: float = 30) -> tuple[int, Any]:
    """``POST /mpic`` with the fleet's API key (``status``: the ``mpic status --json`` keys; a
    coordinator by name is resolved through its ``client_resolver``)."""
    return api_request(status["coordinator_url"], status["ca_cert"], "POST", body, status["api_key"], timeout,
                       "/mpic", resolver=status.get("client_resolver"))
