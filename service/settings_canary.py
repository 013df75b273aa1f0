"""Settings of the production canary (service.canary): which coordinator, which name, where
its TXT record and its results go. Same sources and rules as the roles' settings
(:mod:`service.settings_common`: ``MPIC_*`` environment over the file, unknown keys refused)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FilePath, SecretStr, model_validator

from service.settings_common import _Base, _Strict


class CanaryDnsSettings(_Strict):
    """Where the canary writes its TXT record: Route53 (AWS) or RFC 2136 with TSIG (k8s, local)."""

    provider: Literal["route53", "rfc2136"]
    zone: str = Field(min_length=1)
    zone_id: str | None = None
    """route53: the hosted zone id."""
    server: str | None = None
    """rfc2136: the primary's address."""
    port: int = Field(53, ge=1, le=65535)
    key_name: str | None = None
    key_secret: SecretStr | None = None
    """rfc2136: the TSIG secret (base64); MPIC_DNS__KEY_SECRET keeps it out of files."""
    algorithm: str = "hmac-sha256"

    @model_validator(mode="after")
    def _complete(self) -> "CanaryDnsSettings":
        missing = (["zone_id"] if self.provider == "route53" and not self.zone_id else []) + \
            [k for k in ("server", "key_name", "key_secret") if self.provider == "rfc2136" and not getattr(self, k)]
        if missing:
            raise ValueError(f"dns: provider {self.provider} needs {', '.join(missing)}")
        return self


class CanarySinkSettings(_Strict):
    """Where each result goes: CloudWatch (embedded metric format on stdout), a Pushgateway, a file."""

    kind: Literal["emf", "pushgateway", "file"]
    url: str | None = None
    path: str | None = None
    job: str = "mpic-canary"

    @model_validator(mode="after")
    def _complete(self) -> "CanarySinkSettings":
        need = {"pushgateway": "url", "file": "path"}.get(self.kind)
        if need and not getattr(self, need):
            raise ValueError(f"sink: kind {self.kind} needs {need}")
        return self


class CanarySettings(_Base):
    """The canary (service.canary): which coordinator, which name, where the record and results go."""

    stack: str = Field(min_length=1)
    coordinator_url: str = Field(pattern=r"^https://")
    """The coordinator's base URL (the canary posts to ``<url>/v1/mpic``)."""
    api_key: SecretStr
    ca_file: FilePath | None = None
    """Trust anchor of the coordinator's certificate; default: the system store."""
    domain: str = Field(min_length=3)
    dns: CanaryDnsSettings
    sink: CanarySinkSettings
    timeout: float = Field(30.0, gt=0)
    interval: float = Field(300.0, gt=0)
    """Seconds between runs when the process loops (``--once`` runs once: schedulers call it)."""
    resolver: str | None = None
    """Resolve the coordinator's name through this DNS server (a lab's client resolver); default:
    the system's resolver."""
