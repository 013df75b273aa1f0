"""HTTP clients of the local fleet: curl inside a namespace, and the coordinator's API from the host.

Never through a proxy (the machine's HTTP(S)_PROXY would silently change what is tested).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.proc import run


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


def api_request(url: str, ca: str, method: str = "GET", body: Any = None, api_key: str | None = None,
                timeout: float = 30, path: str = "") -> tuple[int, Any]:
    """``(status, JSON or text)`` of one request to the coordinator (status 0: no answer)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if api_key:
        req.add_header("x-api-key", api_key)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)))
    try:
        with opener.open(req, timeout=timeout) as resp:
            raw, status = resp.read(), resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return 0, {"error": str(exc)}
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def mpic(status: dict[str, Any], body: dict, timeout: float = 30) -> tuple[int, Any]:
    """``POST /mpic`` with the fleet's API key (``status``: the ``mpic status --json`` keys)."""
    return api_request(status["coordinator_url"], status["ca_cert"], "POST", body, status["api_key"], timeout,
                       "/mpic")
