"""``mpic smoke STACK``: the smoke suite (tests/smoke) against the local fleet or a deployed stack."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

import typer

from cli import app
from cli.common import EXIT_FAILED, EXIT_OK
from config.errors import ConfigError
from config.stackfile import KIT_ROOT, load_stack


def smoke_target(stack: str) -> str | None:
    """The target of a stack file in stacks/ (None for a stack known only to Pulumi)."""
    try:
        return load_stack(stack).target
    except ConfigError:
        return None


@app.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def smoke(stack: str = typer.Argument("local", help="Stack to check: local (namespaces) or a deployed stack."),
          pytest_args: Optional[list[str]] = typer.Argument(
              None, help="Extra pytest arguments, e.g. `-k method` (every validation method) or `-x`.")) -> None:
    """Run the smoke suite (tests/smoke) against STACK: host, method and API checks (k8s: also pod checks)."""
    env = {**os.environ, "MPIC_SMOKE_STACK": stack}
    suites = [KIT_ROOT / "tests" / "smoke"]
    if smoke_target(stack) == "k8s":
        suites.append(KIT_ROOT / "tests" / "k8s" / "smoke")
    argv = [sys.executable, "-m", "pytest", *map(str, suites), "-q", "-p", "no:cacheprovider",
            "--no-cov", *(pytest_args or [])]
    code = subprocess.call(argv, cwd=str(KIT_ROOT), env=env)
    raise typer.Exit(EXIT_OK if code == 0 else EXIT_FAILED)
