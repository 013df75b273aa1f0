"""Entry point of ``./scripts/mpic``: importing a command module registers its commands on the app."""

from __future__ import annotations

from cli import (  # noqa: F401 - registers the commands
    app, bench, build, canary, challenge, check, evidence, fault, fleet, plan, reference, smoke, suggest)


def main() -> None:
    app(prog_name="mpic")


if __name__ == "__main__":
    main()
