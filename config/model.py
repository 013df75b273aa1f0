"""The typed stack config (namespace ``mpic``): one immutable model for every target.

A stack file (``stacks/Pulumi.<stack>.yaml``) or ``pulumi.Config("mpic")`` gives the raw keys
(camelCase, e.g. ``mpic:perspectiveCount``); :meth:`StackConfig.from_config` validates them into
this model and resolves region codes and custom sites into :class:`~config.catalog.Location`.
Bad input raises :class:`~config.errors.ConfigError` naming the key, the value and the fix.
Whether the config is *compliant* is a separate question, answered by :mod:`config.compliance`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from config.audit import AuditSettings
from config.br import RANDOM_VALUE_MIN_CHARS
from config.caa import CaaSettings
from config.canary import SECRET_KEYS as CANARY_SECRET_KEYS
from config.canary import CanarySettings
from config.failover import FailoverSettings
from config.catalog import Location, Rir, load_catalog, lookup
from config.errors import ConfigError
from config.key_errors import to_config_error, unknown_key_error
from config.target_aws import AwsSettings
from config.target_k8s import SECRET_KEYS as K8S_SECRET_KEYS
from config.target_k8s import K8sSettings

Target = Literal["local", "aws-hosts", "aws-lambda", "k8s"]
TARGETS: tuple[str, ...] = ("local", "aws-hosts", "aws-lambda", "k8s")
NAMESPACE = "mpic"
SECRET_KEYS: frozenset[str] = frozenset({"apiKeys", "hashSecret"}) | K8S_SECRET_KEYS | CANARY_SECRET_KEYS
"""Keys held as Pulumi secrets: read by the entry point as secrets, never part of the model."""


MIN_REPLICAS = 2
"""Perspective and coordinator replicas per region/site on every target: a drain, a host failure
or a rolling deploy never takes a perspective or the coordinator down."""


def require_replicas(key: str, value: int) -> None:
    """The one replica rule of the kit (every target): ConfigError below :data:`MIN_REPLICAS`."""
    if value < MIN_REPLICAS:
        raise ConfigError(f"{key}: {value} replica{'s' if value != 1 else ''}; every target runs >= {MIN_REPLICAS} "
                          "per workload so a drain, a host failure or a deploy never takes a perspective or the "
                          f"coordinator down. Set it to {MIN_REPLICAS} or more.", key=key, value=value,
                          fix=f"set {key} to {MIN_REPLICAS} or more")


class Site(BaseModel):
    """A custom site, e.g. the CA's own datacenter as primary perspective."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    rir: Rir
    city: str | None = None
    country: str = ""

    @field_validator("rir", mode="before")
    @classmethod
    def _rir(cls, v: Any) -> Any:
        return Rir.parse(v) if isinstance(v, str) else v

    def to_location(self) -> Location:
        return Location(code=self.name, city=self.city or self.name, country=self.country,
                        lat=self.lat, lon=self.lon, rir=self.rir, provider="site")


def resolve_location(value: Any, key: str) -> Location:
    """A catalog code (``"eu-west-1"``) or a site object -> :class:`Location`.

    Raises ConfigError for an unknown code or a malformed site.
    """
    if isinstance(value, Location):
        return value
    if isinstance(value, str):
        found = lookup(value.strip())
        if found is None:
            near = _closest_codes(value)
            fix = f"use a code from config/regions.yaml (e.g. {near}) or a site object {{name, lat, lon, rir}}"
            raise ConfigError(f"{key}: unknown region '{value}'. Fix: {fix}.", key=key, value=value, fix=fix)
        return found
    if isinstance(value, dict):
        try:
            return Site.model_validate(value).to_location()
        except ValidationError as exc:
            fix = (f"give a site name, lat (-90..90), lon (-180..180) and rir (one of "
                   f"{', '.join(r.value for r in Rir)})")
            raise ConfigError(f"{key}: malformed site {value!r}: {_first_issue(exc)}. Fix: {fix}.",
                              key=key, value=value, fix=fix) from None
    fix = "give a region code (e.g. us-east-1) or a site object {name, lat, lon, rir}"
    raise ConfigError(f"{key}: expected a region code or a site object, got {value!r}. Fix: {fix}.", key=key,
                      value=value, fix=fix)


def _closest_codes(code: str) -> str:
    """Up to 4 catalog codes that look like ``code`` (did you mean...), else 3 well-known ones."""
    catalog = list(load_catalog())
    near = difflib.get_close_matches(code.strip().lower(), catalog, n=4, cutoff=0.6)
    prefix = code.strip().lower().split("-")[0]
    near += [c for c in catalog if c.startswith(prefix) and c not in near]
    return ", ".join((near or ["us-east-1", "eu-west-1", "ap-northeast-1"])[:4])


def _first_issue(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


class ResolverSpec(BaseModel):
    """Where a perspective's recursive resolver sits (BR 3.2.2.9: same RIR, >= 500 km apart).

    Default: co-located with the perspective (the kit deploys one resolver per perspective).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    location: Location | None = None
    address: str | None = None

    @field_validator("location", mode="before")
    @classmethod
    def _loc(cls, v: Any) -> Any:
        return None if v is None else resolve_location(v, "location")

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str | None) -> str | None:
        if v is not None:
            ipaddress.ip_address(v)
        return v


_CAMEL = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True,
                    use_attribute_docstrings=True)


class StackConfig(BaseModel):
    """The whole ``mpic:`` namespace of one stack, validated and resolved."""

    model_config = _CAMEL

    name: str = Field(default="adhoc", exclude=True)
    target: Target = "local"
    """Where the fleet runs: ``local`` (``./scripts/mpic up``), ``aws-hosts``, ``aws-lambda`` or ``k8s``."""
    primary: Location | None = None
    """The CA's primary perspective: a catalog region code or a site ``{name, lat, lon, rir}``;
    BR 3.2.2.9 counts it in the 500 km rule. Required (R1) for a stack deploying to a cloud
    (aws-hosts, aws-lambda, k8s); the local fleet and ad hoc checks only warn without it."""
    perspectives: tuple[Location, ...] = Field(min_length=1)
    """The remote perspectives: catalog region codes or sites."""
    perspective_count: int | None = Field(default=None, ge=1)
    """Remote perspectives used per attempt (a cohort); default: every perspective."""
    quorum: int | None = Field(default=None, ge=1)
    """Passing perspectives needed; default: the BR 3.2.2.9 table (N-1 up to 5, N-2 from 6)."""
    max_attempts: int = Field(default=1, ge=1, le=10)
    """Cohorts tried per request before the answer is invalid."""
    resolvers: dict[str, ResolverSpec] = Field(default_factory=dict)
    """Per perspective code, where its resolver is when not co-located: ``{location, address}``
    (default: the kit runs one resolver per perspective, in its region)."""
    as_of: dt.date | None = None
    """Pin the date (YYYY-MM-DD) the compliance rules are evaluated for (default: today)."""
    compliance_mode: Literal["enforce", "testing"] = "enforce"
    """``enforce``: a non-compliant stack is refused before anything exists; ``testing``: LAB ONLY,
    deploys it anyway, marked non-compliant."""
    borderline_margin_km: float = Field(default=25.0, ge=0, le=500)
    """R2 warns when a pair is within this margin above 500 km (coordinates are city-level)."""
    perspective_replicas: int = Field(default=MIN_REPLICAS, le=50)
    """Perspective hosts/pods per region behind its load balancer (>= 2 on every target)."""
    coordinator_replicas: int = Field(default=MIN_REPLICAS, le=50)
    """Coordinator hosts/pods per coordinator site (>= 2 on every target)."""
    early_quorum: bool = True
    """The coordinator answers as soon as the verdict can no longer change (quorum across >= 2 RIRs
    reached, or out of reach); false: it waits for every perspective of the cohort."""
    perspective_timeout_ms: int = Field(default=5000, ge=100, le=60000)
    """How long the coordinator waits for one perspective's answer (milliseconds)."""
    proxy: str | dict[str, str] | None = None
    """Explicit HTTP(S) proxy of the perspectives' HTTP checks: one URL for every perspective, or a
    map perspective code -> URL (ambient HTTP(S)_PROXY variables are always ignored)."""
    audit: AuditSettings = Field(default_factory=AuditSettings)
    """The audit records (``mpic:audit``, below): kept two years on every target."""
    caa: CaaSettings = Field(default_factory=CaaSettings)
    """CAA lookup failures (``mpic:caa``, below): never permission unless allowed, and then only on
    BR 3.2.2.8's terms."""
    min_challenge_length: int = Field(default=RANDOM_VALUE_MIN_CHARS, ge=RANDOM_VALUE_MIN_CHARS, le=1024)
    """Fewest characters of a Random Value or Request Token (website-change, dns-change, the ACME
    methods): shorter values are refused with 400. At least 19, the base64url length of the 112
    bits BR 1.6.1 requires; raise it to match the CA's own encoding (28 for 112 bits in hex)."""
    wan_delay: bool = False
    """Local fleet only: emulate each region's WAN delay (distance from the primary) on the backbone."""
    test_domain: str = Field(default="fleet-test.example", pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
    """Domain the smoke tests write challenges under."""
    failover: FailoverSettings = Field(default_factory=FailoverSettings)
    """Coordinator failover between sites (``mpic:failover``, below): health checks and TTL."""
    canary: CanarySettings = Field(default_factory=CanarySettings)
    """The production canary (``mpic:canary``, below): on by default on every target."""
    aws: AwsSettings = Field(default_factory=AwsSettings)
    """Settings of the ``aws-hosts`` and ``aws-lambda`` targets (``mpic:aws``, below)."""
    k8s: K8sSettings = Field(default_factory=K8sSettings, alias="k8s")
    """Settings of the ``k8s`` target (``mpic:k8s``, below)."""

    @field_validator("primary", mode="before")
    @classmethod
    def _primary(cls, v: Any) -> Any:
        return None if v is None else resolve_location(v, f"{NAMESPACE}:primary")

    @field_validator("perspectives", mode="before")
    @classmethod
    def _perspectives(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in v.split(",") if p.strip()]
        if not isinstance(v, (list, tuple)):
            fix = "give a list of region codes or sites, e.g. [us-west-2, eu-west-1, ap-northeast-1]"
            raise ConfigError(f"{NAMESPACE}:perspectives: expected a list of region codes or sites, got {v!r}. "
                              f"Fix: {fix}.", key=f"{NAMESPACE}:perspectives", value=v, fix=fix)
        locs = [resolve_location(p, f"{NAMESPACE}:perspectives[{i}]") for i, p in enumerate(v)]
        seen: dict[str, int] = {}
        for i, loc in enumerate(locs):
            if loc.code in seen:
                raise ConfigError(f"{NAMESPACE}:perspectives: '{loc.code}' is listed twice (items {seen[loc.code]} "
                                  f"and {i}); one perspective per region. Remove the duplicate.",
                                  key=f"{NAMESPACE}:perspectives", value=loc.code,
                                  fix=f"remove the second {loc.code} (item {i})")
            seen[loc.code] = i
        return tuple(locs)

    @field_validator("perspective_replicas", "coordinator_replicas", mode="before")
    @classmethod
    def _replicas(cls, v: Any, info: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            require_replicas(f"{NAMESPACE}:{to_camel(info.field_name)}", v)
        return v

    @field_validator("proxy", mode="before")
    @classmethod
    def _proxy(cls, v: Any) -> Any:
        if v is None:
            return None
        items = v.items() if isinstance(v, dict) else [(None, v)]
        for code, url in items:
            key = f"{NAMESPACE}:proxy" + (f".{code}" if code is not None else "")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or "://" not in url[:8] \
                    or len(url.split("://", 1)[1]) == 0:
                raise ConfigError(f"{key}: {url!r} is not a proxy URL; give http://HOST:PORT or https://HOST:PORT "
                                  "(one for every perspective, or a map of perspective code -> URL).",
                                  key=key, value=url, fix="use an http:// or https:// URL")
        return v

    @field_validator("resolvers", mode="before")
    @classmethod
    def _resolvers(cls, v: Any) -> Any:
        if v is None:
            return {}
        if not isinstance(v, dict):
            fix = "give a map of perspective code -> {location, address}"
            raise ConfigError(f"{NAMESPACE}:resolvers: expected a map of perspective code -> "
                              f"{{location, address}}, got {v!r}. Fix: {fix}.", key=f"{NAMESPACE}:resolvers",
                              value=v, fix=fix)
        return {(found.code if isinstance(k, str) and (found := lookup(k)) else k): spec for k, spec in v.items()}

    @model_validator(mode="after")
    def _consistent(self) -> "StackConfig":
        n = len(self.perspectives)
        if self.primary is not None and self.primary.code in {p.code for p in self.perspectives}:
            raise ConfigError(f"{NAMESPACE}:primary: '{self.primary.code}' is also a remote perspective; the primary "
                              "perspective must be distinct from the remote ones. Remove it from mpic:perspectives.",
                              key=f"{NAMESPACE}:primary", value=self.primary.code,
                              fix=f"remove {self.primary.code} from mpic:perspectives")
        if self.perspective_count is not None and self.perspective_count > n:
            raise ConfigError(f"{NAMESPACE}:perspectiveCount: {self.perspective_count} is more than the {n} "
                              f"perspectives configured. Set it to at most {n} or add perspectives.",
                              key=f"{NAMESPACE}:perspectiveCount", value=self.perspective_count,
                              fix=f"set mpic:perspectiveCount to at most {n} or add perspectives")
        if self.quorum is not None and self.quorum > self.cohort_size:
            raise ConfigError(f"{NAMESPACE}:quorum: {self.quorum} is more than the {self.cohort_size} perspectives "
                              f"used per attempt. Set it to at most {self.cohort_size}, or leave it unset "
                              "for the BR 3.2.2.9 default.", key=f"{NAMESPACE}:quorum", value=self.quorum,
                              fix=f"set mpic:quorum to at most {self.cohort_size}, or leave it unset")
        codes = {p.code for p in self.perspectives}
        for code in (self.proxy if isinstance(self.proxy, dict) else {}):
            if code not in codes:
                raise ConfigError(f"{NAMESPACE}:proxy: '{code}' is not one of the perspectives "
                                  f"({', '.join(sorted(codes))}). Key each proxy by its perspective's code.",
                                  key=f"{NAMESPACE}:proxy.{code}", value=code, fix="use a perspective code")
        for code in self.resolvers:
            if code not in codes:
                raise ConfigError(f"{NAMESPACE}:resolvers: '{code}' is not one of the perspectives "
                                  f"({', '.join(sorted(codes))}). Key each resolver by its perspective's code.",
                                  key=f"{NAMESPACE}:resolvers", value=code,
                                  fix=f"key each resolver by one of {', '.join(sorted(codes))}")
        return self

    # ------------------------------------------------------------------ derived values
    @property
    def cohort_size(self) -> int:
        """Remote perspectives used per attempt."""
        return self.perspective_count or len(self.perspectives)

    @property
    def locations(self) -> list[Location]:
        """The primary (when set) then every remote perspective: the points R1 measures."""
        return ([self.primary] if self.primary else []) + list(self.perspectives)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.perspectives)

    def proxy_for(self, code: str) -> str | None:
        """The explicit proxy of perspective ``code`` (``mpic:proxy``), or None."""
        if isinstance(self.proxy, dict):
            return self.proxy.get(code)
        return self.proxy

    @property
    def perspective_timeout(self) -> float:
        """``mpic:perspectiveTimeoutMs`` in seconds (what the runtime's settings take)."""
        return self.perspective_timeout_ms / 1000

    def resolver_for(self, code: str) -> ResolverSpec:
        return self.resolvers.get(code, ResolverSpec())

    def resolver_location(self, perspective: Location) -> Location:
        spec = self.resolver_for(perspective.code)
        return spec.location or perspective

    @property
    def canary_domain(self) -> str:
        """``mpic:canary.domain``, default ``canary.<testDomain>``."""
        return self.canary.domain or f"canary.{self.test_domain}"

    @property
    def canary_hosted_zone(self) -> str:
        """``mpic:canary.hostedZone`` (AWS), default ``mpic:testDomain``."""
        return self.canary.hosted_zone or self.test_domain

    def evaluation_date(self, today: dt.date | None = None) -> dt.date:
        return self.as_of or today or dt.date.today()

    # ------------------------------------------------------------------ construction
    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The camelCase keys of the ``mpic`` namespace (``target``, ``perspectiveCount``...)."""
        return tuple(f.alias or n for n, f in cls.model_fields.items() if n != "name")

    @classmethod
    def from_config(cls, raw: dict[str, Any], *, name: str = "adhoc") -> "StackConfig":
        """Validate the raw ``mpic:`` keys (without the ``mpic:`` prefix) into the model."""
        raw = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
        known = set(cls.config_keys())
        unknown = sorted(k for k in raw if k not in known)
        if unknown:
            key = f"{NAMESPACE}:{unknown[0]}"
            raise unknown_key_error(key, unknown[0], raw[unknown[0]], sorted(known), NAMESPACE + ":")
        if "perspectives" not in raw:
            fix = "list the remote perspective regions, e.g. mpic:perspectives: [us-west-2, eu-west-1, " \
                  "ap-northeast-1, sa-east-1, af-south-1]"
            raise ConfigError(f"{NAMESPACE}:perspectives: missing. Fix: {fix}.", key=f"{NAMESPACE}:perspectives",
                              fix=fix)
        try:
            return cls.model_validate({**raw, "name": name})
        except ConfigError:
            raise
        except ValidationError as exc:
            raise to_config_error(exc, raw, cls, NAMESPACE) from None
