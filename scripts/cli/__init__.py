"""The ``mpic`` command line: one Typer app; each subcommand group lives in its own module.

Modules register their commands on :data:`app` when imported (see ``__main__``).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mpic",
    help="MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Exit codes shared by every subcommand.
EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_BAD_INPUT = 2


@app.callback()
def _root() -> None:
    """MPIC Fleet: deploy and check Open MPIC fleets that meet CA/B Forum BR 3.2.2.9."""
