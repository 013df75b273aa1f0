"""Session fixtures: a real DNS authority, real HTTP(S) targets, a kit CA, five perspectives."""

from __future__ import annotations

import copy
import ipaddress
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from local.pki import LocalCa
from service.identity import cert_name
from service.server import coordinator_config, perspective_config
from service.settings import CoordinatorSettings, PerspectiveSettings
from tests.service import infra

FLEET = [  # (code, RIR) - five RIRs, as a real 5-perspective deployment would have
    ("us-east-1", "ARIN"),
    ("eu-west-1", "RIPE NCC"),
    ("ap-northeast-1", "APNIC"),
    ("sa-east-1", "LACNIC"),
    ("af-south-1", "AFRINIC"),
]
PERSPECTIVE_PORT = 8443
CAA_DOMAINS = ["ca.mpic.test"]
API_KEY = "test-key-0123456789"
ALPN_HASH = "a" * 64
INTERNAL_OFFSET = 1000
"""A test coordinator's internal listener (healthz, metrics) is on its public port + this."""
COORDINATOR_CLIENT = "coordinator"
"""CN of the test coordinator's client certificate (as the local fleet issues it)."""
BR_AS_OF = "2026-06-15"
"""BR 3.2.2.9 date of the test coordinators (4 remote perspectives): independent of the run date."""


@dataclass
class Pki:
    ca: LocalCa
    client: tuple[Path, Path]
    rogue_ca: LocalCa
    rogue_client: tuple[Path, Path]
    web_ca: LocalCa
    web: tuple[Path, Path]
    dir: Path

    def server(self, name: str, ip: str, code: str | None = None) -> tuple[Path, Path]:
        """A server certificate for ``ip``; ``code``: a perspective's, naming ``perspective-<code>``
        (service.identity)."""
        return self.ca.issue_server(name, dns_names=["localhost", *([cert_name(code)] if code else [])], ips=[ip])


@dataclass
class Env:
    prefix: str
    pki: Pki
    knot: infra.Knot
    nginx: infra.Nginx
    tmp: Path
    perspectives: dict[str, str]  # code -> url
    audit_files: dict[str, Path]
    hanging_url: str
    down_url: str

    def ip(self, last: int) -> str:
        return f"{self.prefix}.{last}"

    def down(self, n: int) -> str:
        """The ``n``-th URL where nothing listens (one per dead perspective: a coordinator refuses
        two perspectives at one endpoint)."""
        return self.down_url if n == 0 else f"https://{self.prefix}.21:{PERSPECTIVE_PORT + n}"

    def resolver(self) -> dict[str, Any]:
        return {"nameservers": [self.knot.addr], "port": self.knot.port, "timeout": 1.0, "lifetime": 2.0}

    def perspective_settings(self, code: str, ip: str, **kw: Any) -> PerspectiveSettings:
        cert, key = self.pki.server(f"p-{code}-{ip}", ip, code)
        base: dict[str, Any] = dict(
            code=code, listen_host=ip, listen_port=PERSPECTIVE_PORT,
            tls={"cert": cert, "key": key, "client_ca": self.pki.ca.cert_path},
            resolver=self.resolver(), http_ca_file=self.pki.web_ca.cert_path, caa_domains=CAA_DOMAINS,
            audit_log=str(self.tmp / f"audit-{code}-{ip}.jsonl"), http_timeout=3.0, log_level="WARNING",
            allowed_clients=[COORDINATOR_CLIENT], allowed_reserved_networks=infra.lab_networks(self.prefix),
        )
        base.update(kw)
        return PerspectiveSettings(**base)

    def coordinator_settings(self, perspectives: list[dict[str, Any]] | None = None, **kw: Any) -> CoordinatorSettings:
        if perspectives is None:
            perspectives = [{"code": c, "url": u} for c, u in self.perspectives.items()]
        base: dict[str, Any] = dict(
            listen_host=self.ip(30), listen_port=8080, api_keys=[API_KEY, "second-key"], hash_secret="s3cret",
            default_perspective_count=len(perspectives), perspective_timeout=2.0,
            client_tls={"cert": self.pki.client[0], "key": self.pki.client[1], "ca": self.pki.ca.cert_path},
            perspectives=perspectives, audit_log=str(self.tmp / "audit-coordinator.jsonl"), log_level="WARNING",
            internal_listen_host=self.ip(30), br_as_of=BR_AS_OF,
        )
        base.update(kw)
        base.setdefault("internal_listen_port", base["listen_port"] + INTERNAL_OFFSET)
        return CoordinatorSettings(**base)

    def client_context(self, cert: tuple[Path, Path] | None = None, ca: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(ca or self.pki.ca.cert_path))
        if cert is not None:
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        return ctx


#: coordinator answers seen during the current test, validated when it ends (not while it is
#: timed: validation costs ~15 ms an answer)
SEEN_ANSWERS: list[tuple[str, int, Any]] = []


def check_spec(where: str, status: int, body: Any) -> None:
    """Queue one coordinator answer for the Open MPIC API 3.5 check (see tests/service/openapi.py)."""
    SEEN_ANSWERS.append((where, status, copy.deepcopy(body)))


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         context: ssl.SSLContext | None = None, timeout: float = 20) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or text, headers) - urllib, no retries, errors returned not raised.
    Answers of the coordinator's API paths are checked against the Open MPIC API spec."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            status, raw, hdrs = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        status, raw, hdrs = err.code, err.read(), dict(err.headers)
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    if urllib.parse.urlsplit(url).path.rstrip("/").endswith("/mpic"):
        check_spec(f"{method} {url}", status, parsed)
    return status, parsed, hdrs


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def _coordinator_answers_are_recorded() -> Iterator[None]:
    """Direct calls of CoordinatorService.handle_mpic (Lambda handler, unit tests) are checked too."""
    from service.coordinator import CoordinatorService

    original = CoordinatorService.handle_mpic

    async def checked(self: CoordinatorService, headers: Any, body: Any) -> tuple[int, Any]:
        status, payload = await original(self, headers, body)
        check_spec("CoordinatorService.handle_mpic", status, payload)
        return status, payload

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CoordinatorService, "handle_mpic", checked)
        yield


@pytest.fixture(autouse=True)
def _answers_conform_to_the_spec() -> Iterator[None]:
    """Fails the test (at teardown) when a coordinator answer it caused broke the Open MPIC API
    spec 3.5 schema of its status code (200 MpicResponse, 400 validation error, kit errors)."""
    from tests.service.openapi import violations

    SEEN_ANSWERS.clear()
    yield
    found = [f"{where} -> {status}: {v}" for where, status, body in SEEN_ANSWERS for v in violations(status, body)]
    SEEN_ANSWERS.clear()
    assert not found, f"{len(found)} Open MPIC API 3.5 violation(s):\n" + "\n".join(found[:40])


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("runtime")
    prefix = infra.pick_prefix()
    ca = LocalCa.load_or_create(tmp / "pki")
    rogue = LocalCa.load_or_create(tmp / "rogue-pki", common_name="Rogue CA")
    web_ca = LocalCa.load_or_create(tmp / "web-pki", common_name="Web PKI test root")
    pki = Pki(ca, ca.issue_client(COORDINATOR_CLIENT), rogue, rogue.issue_client(COORDINATOR_CLIENT),
              web_ca, web_ca.issue_server("web", dns_names=["web.mpic.test"]), tmp / "pki")
    knot = infra.start_knot(prefix, tmp / "knot")
    stack: list[Any] = [knot]
    try:
        nginx = infra.start_nginx(prefix, tmp / "nginx", *pki.web)
        stack.append(nginx)
        lt = infra.LoopThread()
        stack.append(lt)
        alpn_ip = f"{prefix}.81"
        alpn = infra.AlpnResponder(lt, alpn_ip, {
            "alpn.mpic.test": infra.alpn_challenge_cert(tmp, "alpn.mpic.test", ALPN_HASH),
            ipaddress.ip_address(alpn_ip).reverse_pointer: infra.alpn_challenge_cert(tmp, alpn_ip, ALPN_HASH),
        })
        stack.append(alpn)
        internal_alpn = f"{prefix}.{infra.INTERNAL_ALPN_HOST}"
        stack.append(infra.AlpnResponder(lt, internal_alpn, {
            "alpn-internal.mpic.test": infra.alpn_challenge_cert(tmp, "alpn-internal.mpic.test", ALPN_HASH)}))
        hang_ip = f"{prefix}.20"
        hanging_cert = pki.ca.issue_server("hanging", dns_names=[cert_name(code) for code, _ in FLEET], ips=[hang_ip])
        hanging = infra.HangingPeer(lt, hang_ip, PERSPECTIVE_PORT, *hanging_cert)  # may stand in for any perspective
        stack.append(hanging)
        e = Env(prefix, pki, knot, nginx, tmp, {}, {}, f"https://{hang_ip}:{PERSPECTIVE_PORT}",
                f"https://{prefix}.21:{PERSPECTIVE_PORT}")
        pki.server("down", f"{prefix}.21")
        for i, (code, _rir) in enumerate(FLEET):
            ip = f"{prefix}.{11 + i}"
            settings = e.perspective_settings(code, ip)
            server = infra.ThreadServer(perspective_config(settings)).start()
            stack.append(server)
            e.perspectives[code] = f"https://{ip}:{PERSPECTIVE_PORT}"
            e.audit_files[code] = Path(settings.audit_log)
        yield e
    finally:
        for item in reversed(stack):
            item.stop()


@pytest.fixture
def coordinator(env: Env) -> Iterator[Any]:
    """Factory: start a coordinator (uvicorn thread, plain HTTP) from settings; stopped after the test."""
    started: list[infra.ThreadServer] = []
    port = [8080]

    def make(settings: CoordinatorSettings | None = None, **kw: Any) -> str:
        port[0] += 1
        settings = settings or env.coordinator_settings(listen_port=port[0], **kw)
        server = infra.ThreadServer(coordinator_config(settings)).start()
        started.append(server)
        return f"http://{settings.listen_host}:{settings.listen_port}"

    yield make
    for server in started:
        server.stop()
