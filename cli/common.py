"""What every ``mpic`` command shares: exit codes, error printing, progress lines.

Exit codes, as each error of the kit's one root (:class:`config.errors.KitError`) says: 0 ok; 1 not
compliant (:class:`config.errors.NonCompliantError`) or the machine did not do what was asked (a
fleet, command, build or benchmark that failed); 2 bad input (any other
:class:`config.errors.ConfigError`, and command-line usage errors). No command ever ends in
a traceback for those. With ``--json`` every error is one JSON object on stdout,
``{"error": {"key", "value", "message", "fix"}}``, so CI can parse it; without, one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import exceptions as click  # typer vendors click: its usage errors are these classes
from typer.core import TyperGroup

from config.errors import EXIT_BAD_INPUT, EXIT_FAILED, ConfigError, KitError

EXIT_OK = 0
EXIT_NONCOMPLIANT = EXIT_FAILED
EXIT_NOT_READY = 3
"""``mpic plan``: compliant, but not deployable as it is (a missing or stale build)."""
JSON_FLAG = "--json"
OPERATOR = "Operator commands (any stack)"
LOCAL_FLEET = "The local fleet (root)"
"""The two groups of ``mpic --help``."""
COMMAND_ORDER = ("suggest", "check", "build", "plan", "smoke", "evidence",
                 "up", "down", "status", "challenge", "fault", "canary", "bench")
"""The order of ``mpic --help`` (operator commands, then the local fleet's), whatever order the
command modules happened to be imported in."""

T = TypeVar("T")


def error_json(error: BaseException | str) -> dict:
    """``{"key", "value", "message", "fix"}`` of an error (a ConfigError's own, else the message)."""
    if isinstance(error, ConfigError):
        return error.to_json()
    return {"key": None, "value": None, "message": str(error), "fix": None}


def fail(error: BaseException | str, code: int, as_json: bool = False) -> typer.Exit:
    """Print ``error`` (on stdout as ``{"error": {...}}`` with ``--json``, else one line on
    stderr, never a traceback) and return the exit to raise."""
    if as_json:
        typer.echo(json.dumps({"error": error_json(error)}, indent=2))
    else:  # the message is text, not rich markup: "[us-west-2, ...]" must print as written
        Console(stderr=True, emoji=False).print(f"mpic: [bold red]error:[/] {escape(str(error))}", highlight=False,
                                   soft_wrap=True)
    return typer.Exit(code)


def fail_input(error: BaseException | str, as_json: bool = False) -> typer.Exit:
    """A bad-input error and exit code 2."""
    return fail(error, EXIT_BAD_INPUT, as_json)


@contextlib.contextmanager
def reported(as_json: bool = False) -> Iterator[None]:
    """Map the kit's errors raised inside the block to their message and exit code."""
    try:
        yield
    except KitError as exc:  # each error says its exit code (config.errors)
        raise fail(exc, exc.exit_code, as_json) from None


def guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``, mapping the kit's errors to one-line messages and exit codes."""
    with reported():
        return fn(*args, **kwargs)


def progress() -> Callable[[str], None]:
    """A progress callback printing ``[  12.3s] message`` lines on stderr."""
    t0 = time.monotonic()

    def say(msg: str) -> None:
        typer.echo(f"[{time.monotonic() - t0:6.1f}s] {msg}", err=True)
    return say


# ---------------------------------------------------------------------- usage errors under --json
def usage_error_json(exc: click.ClickException, argv: Sequence[str]) -> dict:
    """A command-line usage error (unknown option, ``--count abc``) as the error object."""
    key = value = None
    param = getattr(exc, "param", None)
    if param is not None:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("--")] or list(getattr(param, "opts", []))
        key = opts[0] if opts else param.human_readable_name
        value = _option_value(argv, getattr(param, "opts", []))
    elif isinstance(exc, (click.NoSuchOption, click.BadOptionUsage)):
        key = exc.option_name
    elif exc.format_message().startswith("No such command"):
        key, value = "command", next((a for a in argv if not a.startswith("-")), None)
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "mpic"
    message = exc.format_message() + (f" (got {value!r})" if value is not None else "")
    return {"key": key, "value": value, "message": message,
            "fix": f"see `{command} --help` for the options and their values"}


def _option_value(argv: Sequence[str], opts: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(f"{opt}="):
                return arg[len(opt) + 1:]
    return None


def _no_flag_metavars(command: Any) -> None:
    """A flag takes no value: its help line shows none (Typer would print ``<bool>``, and an operator
    would then type ``--json true``). The help option of ``command`` too."""
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():  # a command group's own commands
        _no_flag_metavars(sub)
    if not getattr(command, "_mpic_help_fixed", False):
        make = command.get_help_option

        def get_help_option(ctx: Any) -> Any:
            option = make(ctx)
            if option is not None:
                option.metavar = ""
            return option
        command.get_help_option = get_help_option
        command._mpic_help_fixed = True


class JsonAwareGroup(TyperGroup):
    """The app's command group: with ``--json`` on the command line, a usage error (unknown
    option, a value of the wrong type) is the JSON error object on stdout (exit 2), like every
    other error of a ``--json`` command."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands in :data:`COMMAND_ORDER` (help shows the groups in the order of their first
        command); any other command after them, in the order it was registered."""
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _no_flag_metavars(command)
        return command

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        _no_flag_metavars(self)
        argv = list(sys.argv[1:] if args is None else args)
        if JSON_FLAG not in argv or not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            typer.echo(json.dumps({"error": usage_error_json(exc, argv)}, indent=2))
            sys.exit(exc.exit_code)
        except typer.Abort:  # pragma: no cover - Ctrl-C at a prompt; the kit has none
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)
