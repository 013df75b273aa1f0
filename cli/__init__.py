"""The ``mpic`` command line: one Typer app; each command group lives in its own module
(:mod:`cli.check`, :mod:`cli.suggest`, :mod:`cli.plan`, :mod:`cli.fleet`, :mod:`cli.challenge`,
:mod:`cli.fault`, :mod:`cli.smoke`), imported by :mod:`cli.__main__`. Exit codes and errors:
:mod:`cli.common`.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import typer

from cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NONCOMPLIANT, EXIT_OK, JsonAwareGroup

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

app = typer.Typer(
    name="mpic",
    help="MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=JsonAwareGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)

__all__ = ["app", "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_NONCOMPLIANT", "EXIT_OK", "kit_version", "versions"]


def kit_version() -> str:
    """The kit's version, as pyproject.toml states it."""
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]


def versions() -> str:
    """``mpic-fleet X (open-mpic-core Y)``: the kit's version (pyproject.toml) and the runtime's core."""
    kit = kit_version()
    try:
        core = version("open-mpic-core")
    except PackageNotFoundError:  # pragma: no cover - the venv always holds it (requirements.lock)
        core = "not installed"
    return f"mpic-fleet {kit} (open-mpic-core {core})"


def _version(value: bool) -> None:
    if value:
        typer.echo(versions())
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                            help="Print the kit's and open-mpic-core's versions and exit.")) -> None:
    """MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9."""
