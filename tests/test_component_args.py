"""Every field of every component's args (a class under ``components/`` whose name ends with
``Args``) says what it is and has a precise type (#22).

Walks the files with ``ast``: each annotated field must be followed by a string literal (its
docstring: what it is, its units or format, which planner or stack key it comes from), and its
annotation must not be a bare ``dict``/``list`` (or another unparameterised container) nor ``Any``
where a value is expected. ``Any`` is accepted only as the value type of a mapping
(``dict[str, Any]``): the JSON documents the planners render (runtime settings, manifests).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "components").rglob("*.py"))
CONTAINERS = frozenset({"dict", "list", "tuple", "set", "frozenset", "Dict", "List", "Tuple", "Set", "FrozenSet",
                        "Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable", "Collection"})
"""Containers that say nothing about their items unless subscripted."""
MAPPINGS = frozenset({"dict", "Dict", "Mapping", "MutableMapping"})


def _name(node: ast.expr) -> str | None:
    """``dict`` for ``dict``, ``Any`` for ``typing.Any``, ``Input`` for ``pulumi.Input``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def imprecise(node: ast.expr, any_ok: bool = False) -> list[str]:
    """The imprecise parts of the annotation ``node``: bare containers anywhere, ``Any`` unless it
    is a mapping's value type."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
        return imprecise(ast.parse(node.value, mode="eval").body, any_ok)
    if isinstance(node, ast.Subscript):
        head = _name(node.value)
        if head == "Literal":
            return []
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return [p for i, item in enumerate(items) for p in imprecise(item, head in MAPPINGS and i == 1)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return imprecise(node.left, any_ok) + imprecise(node.right, any_ok)
    if isinstance(node, (ast.List, ast.Tuple)):  # Callable[[...], ...]
        return [p for item in node.elts for p in imprecise(item)]
    name = _name(node)
    if name in CONTAINERS:
        return [f"bare {name}"]
    if name == "Any" and not any_ok:
        return ["Any"]
    return []


def problems(source: str) -> list[str]:
    """``Class.field: what is wrong`` for every field of every ``*Args`` class in ``source``."""
    out: list[str] = []
    for cls in ast.walk(ast.parse(source)):
        if not (isinstance(cls, ast.ClassDef) and cls.name.endswith("Args")):
            continue
        body = cls.body
        for i, stmt in enumerate(body):
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            field = f"{cls.name}.{stmt.target.id}"
            after = body[i + 1] if i + 1 < len(body) else None
            if not (isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str) and after.value.value.strip()):
                out.append(f"{field}: no docstring (a string literal on the line after the field)")
            for part in imprecise(stmt.annotation):
                out.append(f"{field}: {ast.unparse(stmt.annotation)} is imprecise ({part})")
    return out


def args_classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name.endswith("Args")]


WITH_ARGS = [p for p in FILES if args_classes(p)]


def test_the_walk_finds_the_components_args():
    names = {name for p in WITH_ARGS for name in args_classes(p)}
    assert {"KitCaArgs", "EksClusterArgs", "CoordinatorWorkloadArgs", "PerspectiveRegionArgs",
            "InterRegionNetworkArgs", "AuditLogsArgs"} <= names
    assert len(WITH_ARGS) >= 8


@pytest.mark.parametrize("path", WITH_ARGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_args_field_has_a_docstring_and_a_precise_type(path):
    found = problems(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(found)


def test_the_check_can_fail():
    source = '''
class FooArgs(TypedDict):
    """A class docstring is not a field's."""

    documented: dict[str, str]
    """Fine."""
    settings: dict[str, Any]
    """Fine: a JSON document."""
    bare: dict
    """Documented, but a bare dict."""
    keys: pulumi.Input[list]
    """A bare list inside pulumi.Input."""
    anything: pulumi.Input[Any]
    """Any as the whole value."""
    maybe: Any | None
    """Any in a union."""
    undocumented: str
    last: NotRequired[Sequence[str]]


class NotAnArgsClass(TypedDict):
    loose: dict
'''
    assert problems(source) == [
        "FooArgs.bare: dict is imprecise (bare dict)",
        "FooArgs.keys: pulumi.Input[list] is imprecise (bare list)",
        "FooArgs.anything: pulumi.Input[Any] is imprecise (Any)",
        "FooArgs.maybe: Any | None is imprecise (Any)",
        "FooArgs.undocumented: no docstring (a string literal on the line after the field)",
        "FooArgs.last: no docstring (a string literal on the line after the field)",
    ]
    assert imprecise(ast.parse("Sequence[dict]", mode="eval").body) == ["bare dict"]
    assert imprecise(ast.parse("'Mapping[str, Any]'", mode="eval").body) == []
    assert imprecise(ast.parse("Literal['a', 'b']", mode="eval").body) == []
