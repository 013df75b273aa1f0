"""One settings path per target: the components and the stack programs never name a runtime
setting's environment variable. Every ``MPIC_*`` name comes from :mod:`plan.runtime` (its one
naming rule); they only pass the Pulumi engine's values (ARNs, secrets) into the plans' renderers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("components", "stacks")


def env_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string in ``source`` that names an ``MPIC_`` variable, docstrings
    (a string standing alone as a statement) aside; f-string parts included."""
    tree = ast.parse(source)
    docs = {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "MPIC_" in node.value
            and id(node) not in docs]


def test_the_check_finds_a_literal_and_ignores_docstrings():
    source = ('"""Sets ``MPIC_API_KEY``."""\nENV = {"MPIC_API_KEY": key, f"MPIC_{x}": 1}\n'
              'class A:\n    f: int\n    """MPIC_X"""\n')
    assert env_literals(source) == [(2, "MPIC_API_KEY"), (2, "MPIC_")]


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_environment_name_is_typed_by_hand(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    found = {str(p.relative_to(ROOT)): hits for p in files if (hits := env_literals(p.read_text(encoding="utf-8")))}
    assert found == {}, "use the names of plan.runtime (env_name, API_KEYS_ENV, ...) and its renderers"
