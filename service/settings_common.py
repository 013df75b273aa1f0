"""Settings building blocks shared by both roles (see service.settings for the roles themselves).

Sources: environment variables ``MPIC_*`` win over the values passed in (the YAML file), which win
over defaults; nested keys use ``__`` and lists/mappings are JSON. Every model forbids unknown keys.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, FilePath, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.catalog import Rir, lookup

ENV_PREFIX = "MPIC_"
LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(Exception):
    """A misconfiguration, worded for one line on stderr: key, value, rule, fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------- shared parts
class ResolverSettings(_Strict):
    """The perspective's own recursive resolver (BR 3.2.2.9: the resolver a perspective uses
    must be in the same RIR as the perspective and must not share a cache with others)."""

    nameservers: list[str] = Field(min_length=1)
    port: int = Field(53, ge=1, le=65535)
    timeout: float = Field(2.0, gt=0)
    lifetime: float = Field(5.0, gt=0)

    @field_validator("nameservers")
    @classmethod
    def _ips_only(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address; give the resolver's IP, not a name") from None
        return value


class PerspectiveTls(_Strict):
    """Server certificate of a perspective and the kit CA its callers' client certs must chain to."""

    cert: FilePath
    key: FilePath
    client_ca: FilePath

    @model_validator(mode="after")
    def _loadable(self) -> "PerspectiveTls":
        _check_pair(self.cert, self.key, "tls")
        _check_ca(self.client_ca, "tls.client_ca")
        return self


class ServerTls(_Strict):
    """Optional TLS of the coordinator's public listener."""

    cert: FilePath
    key: FilePath

    @model_validator(mode="after")
    def _loadable(self) -> "ServerTls":
        _check_pair(self.cert, self.key, "tls")
        return self


class ClientTls(_Strict):
    """The coordinator's mTLS identity and the CA that perspective server certs must chain to."""

    cert: FilePath
    key: FilePath
    ca: FilePath

    @model_validator(mode="after")
    def _loadable(self) -> "ClientTls":
        _check_pair(self.cert, self.key, "client_tls")
        _check_ca(self.ca, "client_tls.ca")
        return self


def _check_pair(cert: Path, key: Path, where: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"{where}: cannot load certificate {cert} with key {key}: {exc}") from None


def _check_ca(path: Path, where: str) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"{where}: cannot load CA certificate {path}: {exc}") from None


def _rir_of(code: str, rir: Rir | None, where: str) -> Rir:
    """The RIR of a perspective: explicit, else from the catalog; the two must agree."""
    location = lookup(code)
    if location is None and rir is None:
        raise ValueError(
            f"{where}: unknown perspective code {code!r}: not in config/regions.yaml; "
            "use a catalog region code or give its rir explicitly"
        )
    if location is not None and rir is not None and location.rir != rir:
        raise ValueError(
            f"{where}: rir {rir.value!r} contradicts the catalog ({code} is in {location.rir.value}); "
            "drop the rir key or fix it"
        )
    return rir if rir is not None else location.rir  # type: ignore[union-attr]


class _Base(BaseSettings):
    """Env (MPIC_*) > values passed in (the YAML file) > defaults."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    audit_log: str = "-"
    """Audit JSON lines: "-" = stdout, else a file path (appended)."""
    audit_site: str | None = None
    """The writer's site in every audit line: a perspective's region (default its code), a
    coordinator's site (``primary``, ``standby``, its region; default ``coordinator``)."""
    audit_replica: str | None = None
    """The writer's replica in every audit line: the host, instance id or pod name (``MPIC_AUDIT_REPLICA``
    from the platform); default the Lambda environment's log stream, else the host name."""

    def audit_identity(self) -> dict[str, str | None]:
        """``site`` and ``replica`` of this process's audit writer."""
        return {"site": self.audit_site,
                "replica": self.audit_replica or os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or None}
    log_level: LogLevel = "INFO"

    @property
    def log_level_number(self) -> int:
        return 5 if self.log_level == "TRACE" else logging.getLevelName(self.log_level)



# ----------------------------------------------------------------------------------- loading
def _format(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_settings(cls: type[_Base], path: str | Path | None) -> Any:
    """Build ``cls`` from the YAML file at ``path`` (optional) and MPIC_* env; SettingsError on failure."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"settings file {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise SettingsError(f"settings file {path}: not valid YAML: {str(exc).splitlines()[0]}") from None
        if raw is not None and not isinstance(raw, dict):
            raise SettingsError(f"settings file {path}: must be a mapping of keys, got {type(raw).__name__}")
        data = raw or {}
    try:
        return cls(**data)
    except ValidationError as exc:
        where = f"settings {path}" if path else "settings (environment)"
        raise SettingsError(f"{where}: {_format(exc)}") from None
