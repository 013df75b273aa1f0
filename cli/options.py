"""Command-line values shared by ``mpic check``, ``suggest`` and ``plan``: the primary (a region
code or a site), dates, comma-separated region lists, output files and the usage file. Every bad
value is a :class:`~config.errors.ConfigError` naming the option, the value and the fix.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.catalog import Location, Rir
from config.errors import ConfigError
from config.model import resolve_location
from config.stackfile import read_yaml
from plan.usage import usage_from

SITE_EXAMPLE = "40.71,-74.01,ARIN"


def parse_site(text: str) -> dict:
    """``LAT,LON,RIR`` -> a site object ``{name, lat, lon, rir}`` named ``primary-site``."""
    key, fix = "--primary-site", f"give LAT,LON,RIR, e.g. --primary-site {SITE_EXAMPLE}"
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ConfigError(f"--primary-site: '{text}' is not LAT,LON,RIR (e.g. {SITE_EXAMPLE}).", key=key, value=text,
                          fix=fix)
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"--primary-site: '{text}': latitude and longitude must be numbers "
                          f"(e.g. {SITE_EXAMPLE}).", key=key, value=text, fix=fix) from None
    try:
        rir = Rir.parse(parts[2])
    except ValueError as exc:
        raise ConfigError(f"--primary-site: rir {exc} (e.g. {SITE_EXAMPLE}).", key=key, value=text,
                          fix=f"end with one of {', '.join(r.value for r in Rir)}") from None
    return {"name": "primary-site", "lat": lat, "lon": lon, "rir": rir.value}


def primary_location(primary: str | None, primary_site: str | None) -> Location | None:
    """The primary perspective of ``--primary CODE`` or ``--primary-site LAT,LON,RIR`` (or None)."""
    if primary and primary_site:
        raise ConfigError(f"--primary {primary} and --primary-site {primary_site} are alternatives; give one.",
                          key="--primary", value=primary, fix="drop --primary or --primary-site")
    if primary:
        return resolve_location(primary, "--primary")
    if primary_site:
        return resolve_location(parse_site(primary_site), "--primary-site")
    return None


def parse_date(text: str, key: str = "--as-of") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fix = "give a real date as YYYY-MM-DD, e.g. 2026-12-15"
        raise ConfigError(f"{key}: '{text}' is not a date; use YYYY-MM-DD (e.g. 2026-12-15).", key=key, value=text,
                          fix=fix) from None


def parse_codes(text: str | None, key: str) -> list[str]:
    """``a,b,c`` -> ``[a, b, c]`` (``[]`` for None); an empty item is refused."""
    if text is None:
        return []
    codes = [c.strip() for c in text.split(",")]
    if any(not c for c in codes):
        raise ConfigError(f"{key}: '{text}' has an empty item; use CODE,CODE,... without spaces or trailing commas.",
                          key=key, value=text, fix="remove the empty item")
    return codes


def check_output(path: Path | None, key: str, suffixes: tuple[str, ...]) -> None:
    """An output file (``--map``, ``--geojson``) has a known extension and an existing folder."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        fix = f"name the file *{' or *'.join(suffixes)}"
        raise ConfigError(f"{key}: '{path}' has the extension '{path.suffix or '(none)'}'. Fix: {fix}.", key=key,
                          value=str(path), fix=fix)
    if not path.parent.is_dir():
        fix = f"create {path.parent} or write the file elsewhere"
        raise ConfigError(f"{key}: the folder {path.parent} does not exist. Fix: {fix}.", key=key, value=str(path),
                          fix=fix)


def load_usage(path: Path | None) -> dict[str, float]:
    """The ``--usage`` file's overrides of the cost assumptions ({} without one)."""
    if path is None:
        return {}
    if not path.is_file():
        fix = "give the path of a YAML map of usage assumptions (e.g. validations_per_month: 5000000)"
        raise ConfigError(f"--usage: no file {path}. Fix: {fix}.", key="--usage", value=str(path), fix=fix)
    return usage_from(read_yaml(path, "--usage") or {})

