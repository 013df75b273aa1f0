"""The layers: every product folder imports only the layers below it, nothing imports in a circle.

Walks every product module with ``ast`` (imports inside functions included: a deferred import is
still a dependency) and checks the table of docs/architecture.md:

    config <- plan <- artifacts <- components <- stacks, local, policy <- preview, bench, evidence <- cli
    service (the deployed runtime) imports config/catalog.py only
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "plan", "artifacts", "service", "components", "local", "policy", "stacks", "preview", "bench",
           "evidence", "cli")
ALLOWED: dict[str, tuple[str, ...]] = {
    "config": ("config",),
    "plan": ("plan", "config"),
    "artifacts": ("artifacts", "plan", "config"),
    "service": ("service", "config.catalog"),
    "components": ("components", "plan", "config"),
    "local": ("local", "artifacts", "plan", "config", "service.settings", "service.audit"),
    "policy": ("policy", "artifacts", "plan", "config"),
    "stacks": ("stacks", "components", "artifacts", "plan", "config"),
    "preview": ("preview", "stacks", "policy", "components", "artifacts", "plan", "config"),
    "bench": ("bench", "local", "artifacts", "plan", "config"),
    "evidence": ("evidence", "local", "artifacts", "plan", "config", "service.audit", "service"),
    "cli": PRODUCT,
    "__main__": ("stacks",),
}
"""Layer -> the module prefixes it may import (``config.catalog`` covers only that module)."""


def _modules() -> dict[str, Path]:
    out = {"__main__": ROOT / "__main__.py"}
    for folder in PRODUCT:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def kit_imports(name: str, path: Path) -> set[str]:
    """Kit modules imported anywhere in ``path`` (absolute names; ``from pkg import mod`` -> pkg.mod)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: kit_imports(name, path) for name, path in MODULES.items()}


def layer(name: str) -> str:
    return name.split(".")[0]


def _allowed(importer: str, imported: str) -> bool:
    return any(imported == p or imported.startswith(p + ".") for p in ALLOWED[layer(importer)])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_layers(name):
    bad = sorted(m for m in GRAPH[name] if not _allowed(name, m))
    assert not bad, f"{name} ({layer(name)}) imports {bad}: against the layer table of docs/architecture.md"


def test_no_import_circle():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_walker_sees_deferred_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from local.engine import lifecycle\n    import config.model\nfrom .catalog import x\n")
    assert kit_imports("config.probe", probe) == {"local.engine.lifecycle", "config.model", "config.catalog"}
    assert not _allowed("config.probe", "local.engine.lifecycle") and _allowed("cli.x", "local.engine.lifecycle")
    assert _allowed("service.x", "config.catalog") and not _allowed("service.x", "config.model")


def test_scripts_hold_shell_entry_points_only():
    assert sorted(p.name for p in (ROOT / "scripts").rglob("*.py")) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_product_file_over_400_lines(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{MODULES[name].relative_to(ROOT)}: {lines} lines; split it by what it does"


def _table(doc: Path) -> dict[str, set[str]]:
    """``folder -> the layers it may import`` from a doc's layer table (rows ``| `x/` | ... | ... |``)."""
    rows: dict[str, set[str]] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("/`"):
            folder = cells[0].strip("`/")
            if folder in PRODUCT:
                may = cells[2]
                rows[folder] = set(PRODUCT) if may == "everything above" else \
                    {m for m in PRODUCT if f"`{m}/" in may}
    return rows


@pytest.mark.parametrize("doc", ["README.md", "docs/architecture.md"])
def test_the_docs_layer_tables_match_the_test(doc):
    rows = _table(ROOT / doc)
    assert set(rows) == set(PRODUCT), f"{doc}: its layer table lists {sorted(rows)}"
    for folder, may in rows.items():
        allowed = {layer(p) for p in ALLOWED[folder]} - {folder}
        if folder == "cli":
            allowed = set(PRODUCT) - {"cli"}
            may -= {"cli"}
        assert may == allowed, f"{doc}: `{folder}/` may import {sorted(may)}; the test allows {sorted(allowed)}"
