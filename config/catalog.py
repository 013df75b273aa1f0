"""The region catalog: every place a perspective (or the CA's primary perspective) can be.

Pure data access over ``config/regions.yaml``; no Pulumi, no cloud SDK.
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

CATALOG_FILE = Path(__file__).with_name("regions.yaml")


class Rir(str, enum.Enum):
    """Regional Internet Registries, spelled as open-mpic-core's ``RemotePerspective.rir``."""

    ARIN = "ARIN"
    LACNIC = "LACNIC"
    RIPE_NCC = "RIPE NCC"
    APNIC = "APNIC"
    AFRINIC = "AFRINIC"

    @classmethod
    def parse(cls, text: str) -> "Rir":
        """A RIR from any usual spelling: ``ripe``, ``RIPE-NCC``, ``ripe_ncc``, ``RIPENCC``,
        ``arin``... ValueError naming the five RIRs otherwise."""
        key = "".join(ch for ch in str(text).upper() if ch.isalnum())
        for rir in cls:
            if key == rir.value.replace(" ", "") or (rir is cls.RIPE_NCC and key == "RIPE"):
                return rir
        raise ValueError(f"'{text}' is not a RIR; use one of {', '.join(r.value for r in cls)}")


class Location(BaseModel):
    """A place a perspective or resolver sits: a catalog region or a custom site."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    code: str = Field(min_length=1)
    city: str
    country: str = ""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    rir: Rir
    provider: str = "site"
    opt_in: bool = False

    @property
    def is_custom_site(self) -> bool:
        return self.provider == "site"


@functools.cache
def load_catalog() -> dict[str, Location]:
    """All catalog regions by code (cached: the file is read once per process)."""
    # libyaml's loader when the wheel has it (~3 ms against ~20 ms: every command and cold start reads this)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(CATALOG_FILE.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    return {entry["code"]: Location(**entry) for entry in data["regions"]}


def lookup(code: str) -> Location | None:
    """The catalog region ``code`` (case-insensitive: ``US-WEST-2`` is ``us-west-2``), or None
    when the catalog has no such region."""
    catalog = load_catalog()
    return catalog.get(code) or catalog.get(code.strip().lower())
