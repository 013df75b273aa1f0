"""``mpic check``: the BR 3.2.2.9 compliance check of a stack or of an ad hoc region list."""

from __future__ import annotations

import datetime as dt
import json
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from cli import app
from cli.common import EXIT_NONCOMPLIANT, EXIT_OK, fail_input
from config.catalog import Rir
from config.compliance import MIN_DISTANCE_KM, Report, check_stack, format_report, nearest_neighbours
from config.errors import ConfigError
from config.model import StackConfig
from config.stackfile import load_stack


def _parse_site(text: str) -> dict:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ConfigError(f"--primary-site: '{text}' is not LAT,LON,RIR (e.g. 40.71,-74.01,ARIN).",
                          key="--primary-site", value=text)
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"--primary-site: '{text}': latitude and longitude must be numbers "
                          "(e.g. 40.71,-74.01,ARIN).", key="--primary-site", value=text) from None
    try:
        rir = Rir.parse(parts[2])
    except ValueError as exc:
        raise ConfigError(f"--primary-site: rir {exc} (e.g. 40.71,-74.01,ARIN).", key="--primary-site",
                          value=text) from None
    return {"name": "primary-site", "lat": lat, "lon": lon, "rir": rir.value}


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of: '{text}' is not a date; use YYYY-MM-DD (e.g. 2026-12-15).",
                          key="--as-of", value=text) from None


def build_adhoc(regions: str, primary: str | None, primary_site: str | None, as_of: str | None) -> StackConfig:
    """The ad hoc config of ``--regions``: every listed region is used per attempt."""
    if primary and primary_site:
        raise ConfigError("--primary and --primary-site are alternatives; give one.", key="--primary")
    codes = [c.strip() for c in regions.split(",")]
    if any(not c for c in codes):
        raise ConfigError(f"--regions: '{regions}' has an empty item; use CODE,CODE,... without spaces or "
                          "trailing commas.", key="--regions", value=regions)
    raw: dict = {"target": "local", "perspectives": codes}
    if primary:
        raw["primary"] = primary
    if primary_site:
        raw["primary"] = _parse_site(primary_site)
    if as_of:
        raw["asOf"] = _parse_date(as_of)
    return StackConfig.from_config(raw, name="adhoc")


def render_table(report: Report, cfg: StackConfig, console: Console) -> None:
    near = nearest_neighbours(cfg)
    table = Table(title=f"{cfg.name}: perspectives (as of {report.as_of.isoformat()})")
    for col in ("code", "city", "RIR", "nearest other", "distance"):
        table.add_column(col, justify="right" if col == "distance" else "left")
    rows = ([(cfg.primary, True)] if cfg.primary else []) + [(p, False) for p in cfg.perspectives]
    for loc, is_primary in rows:
        other, dist = near.get(loc.code, ("-", None))
        flag = "[red]" if dist is not None and dist < MIN_DISTANCE_KM else ""
        table.add_row(loc.code + (" (primary)" if is_primary else ""), loc.city, loc.rir.value, other,
                      f"{flag}{dist:,.0f} km" if dist is not None else "-")
    console.print(table)


@app.command()
def check(
    stack: Optional[str] = typer.Argument(None, help="Stack name in stacks/ (e.g. local) or a stack YAML path."),
    regions: Optional[str] = typer.Option(None, "--regions", help="Ad hoc: comma-separated region codes."),
    primary: Optional[str] = typer.Option(None, "--primary", help="Ad hoc: the primary perspective's region code."),
    primary_site: Optional[str] = typer.Option(None, "--primary-site", help="Ad hoc: primary site as LAT,LON,RIR."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Evaluate the rules for this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Check a stack (or --regions) against CA/B Forum BR 3.2.2.9. Exit 0 compliant, 1 violations, 2 bad input."""
    try:
        if (stack is None) == (regions is None):
            raise ConfigError("give a STACK or --regions CODE,CODE,... (not both). Example: mpic check local",
                              key="stack")
        if stack is not None:
            if primary or primary_site:
                raise ConfigError("--primary/--primary-site only go with --regions; a stack sets mpic:primary.",
                                  key="--primary")
            cfg = load_stack(stack)
            if as_of:
                cfg = cfg.model_copy(update={"as_of": _parse_date(as_of)})
        else:
            cfg = build_adhoc(regions or "", primary, primary_site, as_of)
    except ConfigError as exc:
        raise fail_input(str(exc)) from None
    report = check_stack(cfg)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        console = Console(soft_wrap=True)
        render_table(report, cfg, console)
        console.print(format_report(report, cfg), highlight=False)
    raise typer.Exit(EXIT_OK if report.compliant else EXIT_NONCOMPLIANT)


__all__ = ["check", "build_adhoc"]
