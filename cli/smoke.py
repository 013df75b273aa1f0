"""``mpic smoke STACK``: the smoke suite (tests/smoke) against the local fleet or a deployed stack.

A deployed stack is reached through its outputs (``pulumi stack output``): without the Pulumi CLI,
its login or the stack's outputs, the command says so in one line (exit 2) before any test runs.
``--json`` prints one JSON report (counts and every test's outcome) instead of pytest's lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

import typer

from cli import app
from cli.common import EXIT_FAILED, EXIT_OK, OPERATOR, fail_input
from config.errors import ConfigError
from config.stackfile import KIT_ROOT, load_stack

PULUMI_INSTALL = "https://www.pulumi.com/docs/install/"


def smoke_target(stack: str) -> str | None:
    """The target of a stack file in stacks/ (None for a stack known only to Pulumi)."""
    try:
        return load_stack(stack).target
    except ConfigError:
        return None


def deployed_outputs_problem(stack: str) -> str | None:
    """Why the suite cannot reach deployed ``stack`` (None when its outputs can be read)."""
    if shutil.which("pulumi") is None:
        return (f"smoke {stack}: the Pulumi CLI is not installed; the suite reaches a deployed stack through "
                f"`pulumi stack output`. Install it ({PULUMI_INSTALL}), log in to the backend that holds the "
                f"stack, or run `mpic smoke local` for the local fleet.")
    try:
        res = subprocess.run(["pulumi", "stack", "output", "--json", "-s", stack], capture_output=True, text=True,
                             timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"smoke {stack}: `pulumi stack output -s {stack}` did not answer ({exc})."
    if res.returncode != 0:
        why = next((ln.strip() for ln in res.stderr.splitlines() if ln.strip()), f"exit {res.returncode}")
        return (f"smoke {stack}: `pulumi stack output -s {stack}` failed: {why}. Log in to the stack's backend "
                f"(pulumi login), check the credentials and the stack name (pulumi stack ls).")
    try:
        outputs = json.loads(res.stdout or "{}")
    except ValueError:
        outputs = {}
    if not isinstance(outputs, dict) or "coordinator_url" not in outputs:
        return (f"smoke {stack}: the stack has no coordinator_url output: deploy it first "
                f"(pulumi up -s {stack} --policy-pack policy).")
    return None


def junit_report(path: Path, stack: str, code: int) -> dict[str, Any]:
    """The ``--json`` report from pytest's JUnit XML: counts and each test's outcome and message."""
    tests: list[dict[str, Any]] = []
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        root = ET.Element("testsuites")
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = found.get("message") or ""
                break
        tests.append({"name": f"{case.get('classname', '')}::{case.get('name', '')}", "outcome": outcome,
                      "message": message})
    counts = {k: sum(1 for t in tests if t["outcome"] == k) for k in ("passed", "failed", "error", "skipped")}
    return {"stack": stack, "ok": code == 0, "exit_code": code, "counts": counts, "tests": tests}


@app.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             rich_help_panel=OPERATOR)
def smoke(stack: str = typer.Argument("local", help="Stack to check: local (namespaces) or a deployed stack."),
          pytest_args: Optional[list[str]] = typer.Argument(
              None, help="Extra pytest arguments, e.g. `-k method` (every validation method) or `-x`."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON report instead of pytest's lines.")
          ) -> None:
    """Run the smoke suite (tests/smoke) against STACK: host, method and API checks (k8s: also pod checks).
    Exit 0 passed, 1 a check failed, 2 the stack cannot be reached (no Pulumi CLI, login or outputs)."""
    if Path(stack).is_file():  # a stack file path, relative to where the operator stands: the suite runs in the kit
        stack = str(Path(stack).resolve())
    target = smoke_target(stack)
    if target != "local":
        problem = deployed_outputs_problem(stack)
        if problem is not None:
            raise fail_input(problem, as_json)
    env = {**os.environ, "MPIC_SMOKE_STACK": stack}
    suites = [KIT_ROOT / "tests" / "smoke"]
    if target == "k8s":
        suites.append(KIT_ROOT / "tests" / "k8s" / "smoke")
    argv = [sys.executable, "-m", "pytest", *map(str, suites), "-q", "-p", "no:cacheprovider",
            "--no-cov", *(pytest_args or [])]
    if not as_json:
        code = subprocess.call(argv, cwd=str(KIT_ROOT), env=env)
        raise typer.Exit(EXIT_OK if code == 0 else EXIT_FAILED)
    with tempfile.TemporaryDirectory(prefix="mpic-smoke-") as tmp:
        xml = Path(tmp) / "junit.xml"
        code = subprocess.call([*argv, f"--junitxml={xml}"], cwd=str(KIT_ROOT), env=env, stdout=sys.stderr)
        typer.echo(json.dumps(junit_report(xml, stack, code), indent=2))
    raise typer.Exit(EXIT_OK if code == 0 else EXIT_FAILED)
