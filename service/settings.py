"""Typed settings for both roles, read from a YAML file and/or ``MPIC_*`` environment variables.

Precedence: **environment wins over the file** (so a container or Lambda can override one key
of a baked-in file). Nested keys use ``__``: ``MPIC_RESOLVER__PORT=5353``,
``MPIC_TLS__CERT=/pki/p.crt``; lists and mappings are JSON: ``MPIC_API_KEYS='["k1","k2"]'``.

Everything the core would only discover at request time (no hash secret, a default perspective
count larger than the pool or below the BR 3.2.2.9 minimum, a pool in a single RIR, an unknown
perspective code, unreadable certificates) is rejected here, so a misconfigured process never
starts. The shared building blocks live in :mod:`service.settings_common`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator

from urllib.parse import urlsplit

from config.catalog import Rir
from service import rules
from service.challenge import RANDOM_VALUE_MIN_CHARS
from service.settings_common import (  # noqa: F401 - re-exported: the settings API of the runtime
    ENV_PREFIX,
    ClientTls,
    LogLevel,
    PerspectiveTls,
    ResolverSettings,
    ServerTls,
    SettingsError,
    _Base,
    _rir_of,
    _Strict,
    load_settings,
)

DEFAULT_ALLOWED_CLIENTS = ("mpic-coordinator-client",)
"""The coordinator client certificate's common name on AWS and Kubernetes (components/pki.py)."""


# ------------------------------------------------------------------------------- perspective
class PerspectiveSettings(_Base):
    """One perspective process: one DCV and one CAA checker, one resolver, one identity."""

    code: str = Field(min_length=1)
    rir: Rir | None = None
    listen_host: str = "0.0.0.0"
    listen_port: int = Field(8443, ge=1, le=65535)
    tls: PerspectiveTls | None = None
    """Required for the listener (mTLS always on); only the Lambda handler runs without it."""
    resolver: ResolverSettings
    proxy_url: str | None = None
    """Explicit HTTP(S) proxy for HTTP-based checks; ambient HTTP(S)_PROXY variables are ignored."""
    verify_ssl: bool = True
    """Verify certificates of HTTPS targets (website-change over https)."""
    http_ca_file: FilePath | None = None
    """Extra trust anchors (PEM) for HTTPS targets; default: the system store."""
    http_timeout: float = Field(10.0, gt=0)
    check_timeout: float = Field(30.0, gt=0)
    """Upper bound for one whole check (the core's TLS-ALPN check has no timeout of its own)."""
    caa_domains: list[str] = Field(default_factory=list)
    """CAA issuer domain names of the CA, used when a request carries no caa_domains."""
    readiness_name: str = "."
    """/readyz asks the resolver for the SOA of this name."""
    allowed_clients: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_CLIENTS), min_length=1)
    """Client certificate names (CN or DNS SAN) that may call /dcv and /caa; any certificate of
    the kit CA may call /healthz, /readyz and /metrics (load-balancer health checks)."""
    allowed_reserved_networks: list[str] = Field(default_factory=list)
    """Reserved networks (CIDR) checks may nevertheless reach: a lab's own mini-internet only."""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    """Larger check request bodies get 413 before they are read."""
    caa_allow_lookup_failure: bool = False
    """Honour a request's ``caa_check_parameters.allow_lookup_failure`` (from the stack's
    ``mpic:caa.allowLookupFailure``); even then a lookup failure counts as permission only when this
    perspective has shown BR 3.2.2.8's three conditions (service.caa_lookup)."""

    @property
    def effective_rir(self) -> Rir:
        return _rir_of(self.code, self.rir, "code")

    @property
    def reserved_allowances(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n) for n in self.allowed_reserved_networks]

    @field_validator("allowed_reserved_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                net = ipaddress.ip_network(item)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a network in CIDR notation ({exc}); e.g. 10.213.2.0/24") from None
            if net.prefixlen == 0:
                raise ValueError(f"{item!r} would let checks reach every reserved address (loopback, the CA's own "
                                 "networks, metadata services); list only the lab's own subnet")
        return value

    @field_validator("allowed_clients")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("an empty name; list certificate names such as mpic-coordinator-client")
        return value

    @model_validator(mode="after")
    def _known(self) -> "PerspectiveSettings":
        _rir_of(self.code, self.rir, "code")
        if self.proxy_url is not None and not self.proxy_url.startswith(("http://", "https://")):
            raise ValueError(f"proxy_url {self.proxy_url!r}: use an http:// or https:// proxy URL")
        return self

    def require_listener(self) -> None:
        """A listening perspective must have mTLS (BR 3.2.2.9: authenticated and encrypted)."""
        if self.tls is None:
            raise SettingsError(
                "tls: missing; a perspective listener always uses mutual TLS. Set tls.cert, tls.key "
                "and tls.client_ca (the kit CA; see local/pki.py)"
            )


# ------------------------------------------------------------------------------- coordinator
class PerspectiveTarget(_Strict):
    """A remote perspective as the coordinator sees it."""

    code: str = Field(min_length=1)
    rir: Rir | None = None
    url: str | None = None
    """``https://HOST:PORT`` (the service appends /dcv, /caa) or ``lambda:<function ARN>``."""
    function_arn: str | None = None
    too_close_codes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _endpoint(self) -> "PerspectiveTarget":
        _rir_of(self.code, self.rir, f"perspectives[{self.code}]")
        if (self.url is None) == (self.function_arn is None):
            raise ValueError(f"perspectives[{self.code}]: give exactly one of url or function_arn")
        if self.url is not None and not self.url.startswith(("https://", "lambda:")):
            raise ValueError(
                f"perspectives[{self.code}]: url {self.url!r} must be https://... or lambda:<arn>; "
                "BR 3.2.2.9 requires coordinator-perspective traffic to be authenticated and encrypted"
            )
        return self

    @property
    def effective_rir(self) -> Rir:
        return _rir_of(self.code, self.rir, f"perspectives[{self.code}]")

    @property
    def lambda_arn(self) -> str | None:
        if self.function_arn is not None:
            return self.function_arn
        if self.url is not None and self.url.startswith("lambda:"):
            return self.url[len("lambda:"):]
        return None


class CoordinatorSettings(_Base):
    """The coordinator: public API, API keys, the perspective pool and the mTLS client identity."""

    listen_host: str = "0.0.0.0"
    listen_port: int = Field(8080, ge=1, le=65535)
    tls: ServerTls | None = None
    api_keys: list[SecretStr] = Field(default_factory=list)
    api_keys_file: FilePath | None = None
    """One key per line (blank lines and # comments ignored); merged with api_keys."""
    hash_secret: SecretStr | None = None
    default_perspective_count: int
    max_attempts: int | None = Field(None, ge=1)
    """Cap on a request's orchestration_parameters.max_attempts; null = 1 (no retries)."""
    default_quorum_count: int | None = Field(None, ge=1)
    """Passing perspectives required of a default-size cohort when a request gives no
    orchestration_parameters.quorum_count; null = the core default (BR 3.2.2.9: N-1 for N <= 5,
    N-2 for N >= 6). Between that minimum and default_perspective_count (e.g. 5 = all of 5)."""
    perspective_timeout: float = Field(5.0, gt=0)
    early_quorum: bool = True
    abandon_grace: float = Field(1.0, ge=0)
    """Seconds a call no longer awaited (early quorum) may still finish, keeping its keep-alive
    connection, before it is cancelled; 0 = cancel at once. Its answer is discarded either way."""
    perspective_connections: int = Field(32, ge=1, le=1024)
    """Keep-alive connections to each perspective at most (calls beyond wait for a free one):
    the calls in flight to one perspective at peak, about requests/s x its round trip."""
    client_tls: ClientTls | None = None
    perspectives: list[PerspectiveTarget] = Field(min_length=2)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    """Larger request bodies get 413 before they are read (after the API key check)."""
    internal_listen_host: str = "127.0.0.1"
    internal_listen_port: int | None = Field(9090, ge=1, le=65535)
    """Plain-HTTP listener for GET /healthz and GET /metrics (never the public one); null = none."""
    br_as_of: dt.date | None = None
    """Pins the date whose BR 3.2.2.9 minimums apply (tests, labs); null = today (UTC), per request."""
    allow_cohort_selection: bool = False
    """Let requests choose their cohort (orchestration_parameters.cohort_for_single_attempt): labs only."""
    caa_allow_lookup_failure: bool = False
    """Accept requests with ``caa_check_parameters.allow_lookup_failure: true`` (stack key
    ``mpic:caa.allowLookupFailure``); off: such a request gets 400. On, each perspective still
    counts a lookup failure as permission only on BR 3.2.2.8's terms (service.caa_lookup)."""
    min_challenge_length: int = Field(RANDOM_VALUE_MIN_CHARS, ge=RANDOM_VALUE_MIN_CHARS, le=1024)
    """Fewest characters of a Random Value or Request Token (service.challenge); at least 19, the
    base64url length of the 112 bits BR 1.6.1 requires (stack key ``mpic:minChallengeLength``)."""

    @model_validator(mode="after")
    def _pool(self) -> "CoordinatorSettings":
        if self.hash_secret is None or not self.hash_secret.get_secret_value():
            raise ValueError(
                "hash_secret: missing; the core seeds cohort shuffling with it (sha256(secret + domain)). "
                "Set a long random string (MPIC_HASH_SECRET)"
            )
        codes = [p.code for p in self.perspectives]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"perspectives: code(s) {', '.join(dupes)} listed twice; each perspective once")
        _check_endpoints(self.perspectives)
        count = self.default_perspective_count
        if not 2 <= count <= len(codes):
            raise ValueError(
                f"default_perspective_count: {count} but {len(codes)} perspectives are configured; "
                f"use 2..{len(codes)} (BR 3.2.2.9 counts remote perspectives per attempt)"
            )
        rirs = {p.effective_rir for p in self.perspectives}
        if len(rirs) < 2:
            raise ValueError(
                f"perspectives: all in {next(iter(rirs)).value}; BR 3.2.2.9 needs the corroborating "
                "perspectives to span >= 2 RIRs. Add a perspective in another RIR"
            )
        if any(p.url and p.url.startswith("https://") for p in self.perspectives) and self.client_tls is None:
            raise ValueError(
                "client_tls: missing; https perspectives need the coordinator's client certificate and "
                "the kit CA (client_tls.cert, client_tls.key, client_tls.ca)"
            )
        _check_br_minimum(self)
        _check_listeners(self)
        _check_quorum(self)
        _check_cohorts(self)
        return self

    def all_api_keys(self) -> list[str]:
        keys = [k.get_secret_value() for k in self.api_keys if k.get_secret_value()]
        if self.api_keys_file is not None:
            for line in Path(self.api_keys_file).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    keys.append(line)
        return keys

    def require_api_keys(self) -> None:
        if not self.all_api_keys():
            raise SettingsError(
                "api_keys: none configured; set api_keys: [..] or api_keys_file (MPIC_API_KEYS='[\"...\"]')"
            )

    def perspectives_by_rir(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.perspectives:
            counts[p.effective_rir.value] = counts.get(p.effective_rir.value, 0) + 1
        return dict(sorted(counts.items()))


def br_minimum_quorum(count: int) -> int:
    """BR 3.2.2.9's minimum quorum for ``count`` remote perspectives (N-1 for N <= 5, N-2 for
    N >= 6): :func:`service.rules.required_quorum` (pinned to ``config.compliance`` and to the
    core's default by tests)."""
    return rules.required_quorum(count)


def _check_br_minimum(settings: CoordinatorSettings) -> None:
    """BR 3.2.2.9: a request without orchestration_parameters (EJBCA sends none) uses the default
    count, so the default must meet the minimum of the date (br_as_of, else today)."""
    on = settings.br_as_of or rules.today_utc()
    minimum = rules.min_perspective_count(on)
    if settings.default_perspective_count < minimum:
        pool = len(settings.perspectives)
        fix = f"set default_perspective_count: {minimum}"
        if pool < minimum:
            fix = f"add {minimum - pool} perspective(s) in other regions and " + fix
        raise ValueError(
            f"default_perspective_count: {settings.default_perspective_count} but BR 3.2.2.9 requires "
            f"{rules.phase_text(on)}; {fix}"
        )


def endpoint_key(target: PerspectiveTarget) -> str:
    """A perspective's endpoint, normalised: scheme, host (lower case), port (443 by default) and
    path for https; the function for Lambda."""
    arn = target.lambda_arn
    if arn is not None:
        return f"lambda:{arn}"
    parts = urlsplit(target.url or "")
    return f"https://{(parts.hostname or '').lower()}:{parts.port or 443}{parts.path.rstrip('/')}"


def _check_endpoints(perspectives: list[PerspectiveTarget]) -> None:
    """Two perspectives at one endpoint would count one perspective's answers twice and fake the
    distance and RIR diversity BR 3.2.2.9 requires: refused."""
    seen: dict[str, str] = {}
    for p in perspectives:
        key = endpoint_key(p)
        if key in seen:
            raise ValueError(
                f"perspectives: {seen[key]} and {p.code} have the same endpoint {p.url or p.function_arn}; each "
                "perspective has its own (one perspective answering for two would fake BR 3.2.2.9's distance "
                "and RIR diversity). Give each perspective its own url or function_arn"
            )
        seen[key] = p.code


def _check_listeners(settings: CoordinatorSettings) -> None:
    hosts = {settings.listen_host, settings.internal_listen_host}
    if settings.internal_listen_port == settings.listen_port and (len(hosts) == 1 or hosts & {"0.0.0.0", "::"}):
        raise ValueError(
            f"internal_listen_port: {settings.internal_listen_port} is also listen_port; the internal listener "
            "(healthz, metrics) needs a port of its own, e.g. 9090"
        )


def _check_quorum(settings: CoordinatorSettings) -> None:
    quorum, count = settings.default_quorum_count, settings.default_perspective_count
    if quorum is None:
        return
    minimum = br_minimum_quorum(count)
    if quorum > count:
        raise ValueError(
            f"default_quorum_count: {quorum} but default_perspective_count is {count}; a quorum above the "
            f"cohort size can never pass. Use {minimum}..{count} or leave it unset (core default {minimum})"
        )
    if quorum < minimum:
        raise ValueError(
            f"default_quorum_count: {quorum} of {count} lets {count - quorum} perspectives fail; BR 3.2.2.9 "
            f"allows {count - minimum} with {count} remote perspectives. Use {minimum}..{count} or leave it "
            f"unset (core default {minimum})"
        )


def _check_cohorts(settings: CoordinatorSettings) -> None:
    """The core builds cohorts per request; prove now that one of the default size exists."""
    from open_mpic_core import CohortCreator, RemotePerspective

    pool = [
        RemotePerspective(code=p.code, rir=p.effective_rir.value, too_close_codes=p.too_close_codes)
        for p in settings.perspectives
    ]
    per_rir = CohortCreator.shuffle_available_perspectives_per_rir(pool, b"startup-check")
    if not CohortCreator.create_perspective_cohorts(per_rir, settings.default_perspective_count):
        raise ValueError(
            f"default_perspective_count: no cohort of {settings.default_perspective_count} perspectives "
            "spanning 2 RIRs can be built from the pool (check too_close_codes and RIRs)"
        )
