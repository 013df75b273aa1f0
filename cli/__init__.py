"""The ``mpic`` command line: one Typer app; each command group lives in its own module
(:mod:`cli.check`, :mod:`cli.plan`, :mod:`cli.fleet`, :mod:`cli.challenge`, :mod:`cli.fault`,
:mod:`cli.smoke`), imported by :mod:`cli.__main__`. Exit codes: :mod:`cli.common`.
"""

from __future__ import annotations

import typer

from cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NONCOMPLIANT, EXIT_OK

app = typer.Typer(
    name="mpic",
    help="MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

__all__ = ["app", "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_NONCOMPLIANT", "EXIT_OK"]


@app.callback()
def _root() -> None:
    """MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9."""
