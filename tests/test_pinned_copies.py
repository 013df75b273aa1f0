"""Code the layers keep in two places on purpose, pinned so the copies cannot drift.

The runtime (``service/``) ships alone in its image and imports nothing of the kit but the
catalog; the local fleet may import only its settings and audit format. Where both need the same
few lines, each keeps its copy and this test holds them equal (docstrings aside)."""

from __future__ import annotations

import ast
import inspect

import pytest

from local.actions import client
from service import canary


def _body(obj: object) -> str:
    return _code(inspect.getsource(obj))


def _code(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            node.body = node.body[1:]
    return ast.dump(tree)


@pytest.mark.parametrize("kit, runtime", [(client._Connection, canary._Connection)], ids=["https-to-an-address"])
def test_the_copies_are_the_same_code(kit, runtime):
    assert _body(kit) == _body(runtime)


def test_a_changed_copy_is_found():
    source = inspect.getsource(client._Connection)
    assert _code(source.replace('"""HTTPS', '"""Another docstring: HTTPS')) == _body(canary._Connection)
    assert _code(source.replace("self.timeout", "5.0")) != _body(canary._Connection)
