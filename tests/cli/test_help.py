"""``mpic --help``: commands grouped (operator commands, then the local fleet), ``-h`` everywhere,
and a flag shown as a flag (no ``<bool>`` an operator would fill in)."""

from __future__ import annotations

import click
import pytest
from typer.testing import CliRunner

from cli.__main__ import app
from cli.common import COMMAND_ORDER, JsonAwareGroup

runner = CliRunner()
COMMANDS = [[], ["suggest"], ["check"], ["build"], ["plan"], ["smoke"], ["evidence"], ["up"], ["down"], ["status"],
            ["challenge"], ["challenge", "txt"], ["fault"], ["fault", "heal"], ["canary"], ["bench"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "mpic")
def test_every_command_takes_h_and_shows_flags_without_a_value(command):
    short, long = runner.invoke(app, [*command, "-h"]), runner.invoke(app, [*command, "--help"])
    assert short.exit_code == 0 and short.output == long.output
    assert "<bool>" not in short.output and "Usage: mpic" in short.output


def test_the_commands_are_grouped_operator_first():
    text = runner.invoke(app, ["--help"]).output
    operator, local = text.index("Operator commands (any stack)"), text.index("The local fleet (root)")
    listed = [line.split()[1] for line in text.splitlines() if line.startswith("│ ") and line[2:3].isalpha()]
    assert listed == list(COMMAND_ORDER)
    assert operator < text.index(" plan ") < text.index(" evidence ") < local < text.index(" up ") < text.index(" bench ")


def test_the_help_order_does_not_depend_on_the_import_order():
    # commands registered local fleet first and in reverse (as when a test imports cli.bench
    # before the entry point): help still lists them in COMMAND_ORDER, unknown ones after
    group = JsonAwareGroup(name="mpic")
    for name in ["extra", *reversed(COMMAND_ORDER), "another"]:
        group.add_command(click.Command(name), name)
    assert group.list_commands(click.Context(group)) == [*COMMAND_ORDER, "extra", "another"]


def test_json_is_a_flag_with_no_value():
    out = runner.invoke(app, ["check", "local", "--json", "true"])
    assert out.exit_code == 2  # the flag takes no value: 'true' is an unexpected argument
