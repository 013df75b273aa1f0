"""Entry point of ``./scripts/mpic``: importing a command module registers its commands on the app."""

from __future__ import annotations

from cli import (  # noqa: F401 - registers the commands (help orders them: cli.common.COMMAND_ORDER)
    app, suggest, check, build, plan, smoke, evidence, fleet, challenge, fault, canary, bench, reference)


def main() -> None:
    app(prog_name="mpic")


if __name__ == "__main__":
    main()
