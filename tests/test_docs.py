"""The docs hold: the config reference is generated from the model, every cited path exists, the
README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.reference import REFERENCE, config_reference

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "plan", "artifacts", "service", "components", "local", "policy", "stacks", "preview", "bench",
           "evidence", "cli")
FOLDERS = ("docs", *PRODUCT, "scripts", "tests")
CITED = re.compile(rf"(?<![\w/.-])((?:{'|'.join(FOLDERS)})/[\w./-]*\w\.(?:md|py|yaml|txt|sh|json|cfg))")
SOURCES = sorted([ROOT / "README.md", ROOT / "Pulumi.yaml", ROOT / "Dockerfile", *(ROOT / "docs").glob("*.md"),
                  *(ROOT / "stacks").glob("*.yaml"), *(ROOT / "service").glob("*.md"),
                  *[p for f in PRODUCT for p in (ROOT / f).rglob("*.py")]])


def test_config_reference_is_generated_from_the_model():
    assert REFERENCE.read_text(encoding="utf-8") == config_reference(), \
        "docs/config.md is stale: run ./scripts/mpic config-reference --write"


def test_config_reference_lists_every_key():
    text = config_reference()
    for key in ("mpic:perspectives", "mpic:perspectiveReplicas", "mpic:complianceMode", "mpic:apiKeys",
                "`coordinatorRegion`", "`hubEgressCidrs`", "`subnetIds`"):
        assert key in text


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_path_exists(source):
    text = source.read_text(encoding="utf-8")
    missing = sorted({m for m in CITED.findall(text) if not (ROOT / m).exists() and "<" not in m and "*" not in m})
    assert not missing, f"{source.relative_to(ROOT)} cites files that do not exist: {missing}"


def test_the_path_finder_finds_paths():
    assert CITED.findall("see docs/aws.md and `plan/runtime.py`, not mydocs/x.md") == ["docs/aws.md", "plan/runtime.py"]


def test_readme_is_short_and_links_the_docs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= 12_000
    for doc in ("docs/local-fleet.md", "docs/aws.md", "docs/kubernetes.md", "docs/runtime.md", "docs/config.md"):
        assert f"({doc})" in text


def test_config_reference_command_prints_and_writes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli import reference
    from cli.__main__ import app

    printed = CliRunner().invoke(app, ["config-reference"])
    assert printed.exit_code == 0 and printed.output == config_reference()
    monkeypatch.setattr(reference, "REFERENCE", tmp_path / "config.md")
    written = CliRunner().invoke(app, ["config-reference", "--write"])
    assert written.exit_code == 0 and (tmp_path / "config.md").read_text() == config_reference()


def _method_rows() -> list[tuple[str, str, str]]:
    """(method, test, deployed) of each row of docs/methods.md's table."""
    rows = []
    for line in (ROOT / "docs" / "methods.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].startswith("`test_"):
            rows.append((cells[0], cells[2].strip("`"), cells[3]))
    return rows


def _method_tests() -> dict[str, bool]:
    """Each test of tests/smoke/test_methods.py -> whether it runs on deployed stacks (it takes the
    ``target`` fixture and needs no challenge host only the local fleet publishes)."""
    import ast

    tree = ast.parse((ROOT / "tests" / "smoke" / "test_methods.py").read_text(encoding="utf-8"))
    out = {}
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_"):
            calls = {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            out[fn.name] = fn.args.args[0].arg == "target" and "_challenge_host" not in calls
    return out


def test_methods_table_matches_the_tests():
    rows, tests = _method_rows(), _method_tests()
    assert {t for _, t, _ in rows} == set(tests), "docs/methods.md and tests/smoke/test_methods.py differ"
    for method, test, deployed in rows:
        assert deployed.startswith("yes") == tests[test], f"{method}: the deployed column says {deployed!r}"


def test_methods_table_covers_every_method_of_the_core():
    from open_mpic_core import CertificateType, DcvValidationMethod

    named = " ".join(m for m, _, _ in _method_rows())
    missing = [m.value for m in DcvValidationMethod if m.value not in named and m is not DcvValidationMethod.DNS_ACCOUNT_01]
    missing += [c.value for c in CertificateType if f"CAA, {c.value}" not in named]
    assert not missing, f"docs/methods.md has no row for {missing}"
