"""``mpic --help``: commands grouped (operator commands, then the local fleet), ``-h`` everywhere,
and a flag shown as a flag (no ``<bool>`` an operator would fill in)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.__main__ import app

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
    assert operator < text.index(" plan ") < text.index(" evidence ") < local < text.index(" up ") < text.index(" bench ")


def test_json_is_a_flag_with_no_value():
    out = runner.invoke(app, ["check", "local", "--json", "true"])
    assert out.exit_code == 2  # the flag takes no value: 'true' is an unexpected argument
