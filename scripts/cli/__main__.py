"""Entry point of ``./scripts/mpic``: imports every command module, then runs the app."""

from __future__ import annotations

import importlib
import pkgutil

from scripts import cli


def main() -> None:
    for mod in pkgutil.iter_modules(cli.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"scripts.cli.{mod.name}")
    cli.app(prog_name="mpic")


if __name__ == "__main__":
    main()
