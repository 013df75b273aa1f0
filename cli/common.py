"""What every ``mpic`` command shares: exit codes, error printing, progress lines.

Exit codes: 0 ok; 1 not compliant (:class:`config.errors.NonCompliantError`) or the machine did
not do what was asked (:class:`local.errors.FleetError`, a failed command or build); 2 bad input (any
other :class:`config.errors.ConfigError`). No command ever ends in a traceback for those.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from cli.builder import BuildError
from config.errors import ConfigError, NonCompliantError
from local.errors import FleetError
from local.proc import CommandError

EXIT_OK = 0
EXIT_NONCOMPLIANT = 1
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

T = TypeVar("T")


def fail(message: str, code: int) -> typer.Exit:
    """Print ``message`` on stderr (no traceback) and return the exit to raise."""
    Console(stderr=True).print(f"mpic: [bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def fail_input(message: str) -> typer.Exit:
    """A bad-input message and exit code 2."""
    return fail(message, EXIT_BAD_INPUT)


def guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``, mapping the kit's errors to one-line messages and exit codes."""
    try:
        return fn(*args, **kwargs)
    except NonCompliantError as exc:
        raise fail(str(exc), EXIT_NONCOMPLIANT) from None
    except ConfigError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except (FleetError, CommandError, BuildError) as exc:
        raise fail(str(exc), EXIT_FAILED) from None


def progress() -> Callable[[str], None]:
    """A progress callback printing ``[  12.3s] message`` lines on stderr."""
    t0 = time.monotonic()

    def say(msg: str) -> None:
        typer.echo(f"[{time.monotonic() - t0:6.1f}s] {msg}", err=True)
    return say
