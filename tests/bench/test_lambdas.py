"""``mpic bench --lambda``'s harness: the functions' environments, the bootstrap run in this process
against a real Knot (perspective) and real boto3 clients whose invoke is answered in-process
(coordinator), and cold starts of stand-in handlers that fail in each way the harness reports."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from bench import coldstart, lambdas
from bench.load import BenchError
from bench.loopback import pick_prefix, start_knot
from config.stackfile import load_stack
from plan.artifacts import LAMBDA_HANDLERS
from plan.aws.fleet import LambdaCoordinatorEnv, lambda_perspective_env, plan_lambda
from service import lambda_handler

FLEET = load_stack(lambdas.STACK)
PLAN = plan_lambda(FLEET)


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    server = start_knot(pick_prefix(((53, 5300),)), tmp_path_factory.mktemp("knot"))
    yield server.addr, server.port
    server.stop()


@pytest.fixture
def fresh_handler() -> Iterator[None]:
    lambda_handler.reset()
    yield
    lambda_handler.reset()


def _environ(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tmp_path: Path) -> None:
    for key, value in {**lambdas.platform_env("f", "us-east-1", 1024, tmp_path, tmp_path), **env}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MPIC_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


# ------------------------------------------------------------------------------ environments
def test_the_coordinator_gets_the_deployed_environment_with_stub_arns_and_test_secrets() -> None:
    env, spec = lambdas.coordinator_spec(FLEET, PLAN)
    arns = [lambdas.function_arn(FLEET.name, p.code) for p in PLAN.perspectives]
    assert env == LambdaCoordinatorEnv(FLEET, PLAN.perspectives).fill(
        function_arns=arns, api_keys=[lambdas.API_KEY], hash_secret=lambdas.HASH_SECRET)
    assert list(spec["perspectives"]) == arns
    assert spec["perspectives"][arns[1]] == {"code": PLAN.perspectives[1].code, "rir": PLAN.perspectives[1].rir,
                                             "aws_region": PLAN.perspectives[1].code}
    event = spec["event"]
    assert event["requestContext"]["http"]["method"] == "POST" and event["headers"]["x-api-key"] == lambdas.API_KEY
    assert json.loads(event["body"]) == {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"}


def test_the_perspective_changes_only_its_resolver_and_issuer_domain() -> None:
    env, spec = lambdas.perspective_spec(FLEET, PLAN, ("127.0.0.9", 5300))
    deployed = lambda_perspective_env(FLEET, PLAN.perspectives[0])
    assert json.loads(env.pop("MPIC_RESOLVER")) == {"nameservers": ["127.0.0.9"], "port": 5300}
    assert json.loads(env.pop("MPIC_CAA_DOMAINS")) == ["ca.mpic.test"]
    assert env == {k: v for k, v in deployed.items() if k not in ("MPIC_RESOLVER", "MPIC_CAA_DOMAINS")}
    assert spec == {"role": "perspective", "handler": "service.lambda_handler.perspective_handler",
                    "event": {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"}}


def test_the_platform_environment_never_reads_this_machines_aws_configuration(tmp_path: Path) -> None:
    env = lambdas.platform_env("mpic-f", "eu-west-1", 512, tmp_path / "task", tmp_path)
    assert env["PYTHONPATH"] == env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task")
    assert env["AWS_REGION"] == "eu-west-1" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_CONFIG_FILE"].startswith(str(tmp_path)) and env["AWS_SHARED_CREDENTIALS_FILE"].startswith(str(tmp_path))
    assert env["AWS_ACCESS_KEY_ID"] == lambdas.TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"]


def test_the_names_the_bootstrap_resolves_are_the_runtimes() -> None:
    from service import transport

    assert coldstart.resolve(lambdas.INVOKE_CLIENT_FACTORY) is transport._boto3_lambda_client
    for role in lambdas.ROLES:
        assert coldstart.resolve(LAMBDA_HANDLERS[role]) is getattr(lambda_handler, f"{role}_handler")


# ------------------------------------------------------------------------------ figures
def test_zip_figures_count_each_file_and_its_bytecode_with_its_distribution(tmp_path: Path) -> None:
    path = tmp_path / "f.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("dateutil/tz.py", b"a" * 30000)
        zf.writestr("dateutil/__pycache__/tz.cpython-311.pyc", b"b" * 30000)
        zf.writestr("python_dateutil-2.9.dist-info/RECORD", "dateutil/tz.py,sha256=x,1\n"
                                                            "python_dateutil-2.9.dist-info/RECORD,,\n")
        zf.writestr("botocore/data/x.json", b"c" * 70000)
        zf.writestr("__pycache__/six.cpython-311.pyc", b"d" * 100)
        zf.writestr("six.py", b"e" * 100)
    figures = lambdas.zip_figures(path)
    assert list(figures["zip_mib_by_package"]) == ["botocore", "python_dateutil", "other"]
    assert figures["zip_mib_by_package"]["python_dateutil"] == round((60000 + 81) / 2**20, 2)
    assert figures["unzipped_mib"] == round(sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 2**20, 2)
    assert figures["zip_mib"] == round(path.stat().st_size / 2**20, 2)
    assert figures["bytecode_mib"] == round(30100 / 2**20, 2)


def test_a_zip_that_is_not_the_manifests_is_refused_before_anything_starts(tmp_path: Path) -> None:
    from plan.artifacts import Artifact, Built

    dist = tmp_path / "dist"
    (dist / "lambda").mkdir(parents=True)
    (dist / "lambda" / "mpic-coordinator-x86_64.zip").write_bytes(b"half a zip")
    zipped = Artifact("lambda", "mpic-coordinator-x86_64", "dist/lambda/mpic-coordinator-x86_64.zip", "0" * 64,
                      "linux_x86_64", LAMBDA_HANDLERS["coordinator"])
    with pytest.raises(BenchError, match="mpic-coordinator-x86_64.zip: its sha256 is not the one of .*build lambda"):
        lambdas.lambda_report(Built(dist, (zipped,)), 1, print)


def test_phases_add_up_to_the_cold_start_and_role_figures_take_p50() -> None:
    result = {"clock": {"boot": 10.01, "import": 10.41, "settings": 10.44, "answer": 10.56}, "cpu_s": 0.5,
              "memory_kib": {"VmRSS": 81920, "VmHWM": 90112}, "modules": 740}
    run = lambdas.phases_ms(10.0, result)
    assert round(run["cold_start_ms"]) == 560 and round(run["interpreter_ms"]) == 10
    assert round(run["import_ms"] + run["settings_ms"] + run["first_request_ms"] + run["interpreter_ms"]) == 560
    assert run["rss_mib"] == 80.0 and run["peak_rss_mib"] == 88.0 and run["cpu_ms"] == 500.0
    runs = [dict(run, cold_start_ms=ms) for ms in (700.0, 500.0, 600.0)]
    figures = lambdas.role_figures(runs, {"zip_mib": 20.0, "unzipped_mib": 60.0})
    assert figures["cold_start_p50_ms"] == 600.0 and figures["cold_start_ms"] == [700.0, 500.0, 600.0]
    assert figures["runs"] == 3 and figures["zip_mib"] == 20.0 and figures["import_ms"] == 400.0
    assert figures["modules"] == 740
    report = {"lambda": {"coordinator": figures}, "loadavg_start": [1, 1, 1], "loadavg_end": [1, 1, 1]}
    assert "coordinator: cold start p50 600.0 ms" in lambdas.summary(report)[0]


# ------------------------------------------------------------------------------ the bootstrap, in this process
def test_the_bootstrap_times_a_perspectives_real_caa_check(knot: tuple[str, int], fresh_handler: None,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env, spec = lambdas.perspective_spec(FLEET, PLAN, knot)
    _environ(monkeypatch, env, tmp_path)
    result = coldstart.run(spec, boot=0.0)
    clock = result["clock"]
    assert clock["boot"] <= clock["import"] <= clock["settings"] <= clock["answer"]
    assert result["warmup"] == {"warmup": "ok", "role": "perspective"}
    assert result["answer"]["check_completed"] is True and result["answer"]["check_passed"] is True
    assert result["memory_kib"]["VmHWM"] >= result["memory_kib"]["VmRSS"] > 10_000 and result["modules"] > 100


def test_the_bootstrap_answers_the_coordinators_invokes_in_process(fresh_handler: None, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    env, spec = lambdas.coordinator_spec(FLEET, PLAN)
    _environ(monkeypatch, env, tmp_path)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    coldstart.main([str(tmp_path / "spec.json"), str(tmp_path / "out.json")])
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["answer"] == {"status": 200, "is_valid": True, "error": None, "perspectives": len(PLAN.perspectives)}
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    passed = [a for a in audit if a["event"] == "perspective_result" and a["outcome"] == "pass"]
    assert len(passed) >= 4  # the quorum, each through the signed invoke call of its own function's ARN
    assert all(a["identity"]["function"] == lambdas.function_arn(FLEET.name, a["perspective"]) for a in passed)


def test_an_invoke_of_an_unknown_function_is_answered_404() -> None:
    answer = coldstart.stub_invoke({})
    request = SimpleNamespace(url="https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/"
                                  "arn%3Aaws%3Alambda%3Aeu-west-1%3A0%3Afunction%3Ax/invocations", body=b"{}")
    response = answer(request)
    assert response.status_code == 404 and b"arn:aws:lambda:eu-west-1:0:function:x" in b"".join(response.raw.stream(8))


# ------------------------------------------------------------------------------ cold starts that fail
STAND_IN = {"role": "perspective", "handler": "service.lambda_handler.perspective_handler", "event": {}}
HANDLERS = {
    "refuses": "def perspective_handler(event, context):\n    return {'check_completed': True, 'check_passed': False}\n",
    "crashes": "raise ImportError('no such module: open_mpic_core')\n",
    "hangs": "import time\ntime.sleep(30)\n",
}


@pytest.mark.parametrize("kind,words", [("refuses", "not answered valid"), ("crashes", "no such module"),
                                        ("hangs", "took over 1 s")])
def test_a_cold_start_that_fails_says_how(tmp_path: Path, kind: str, words: str) -> None:
    task = tmp_path / "task"
    (task / "service").mkdir(parents=True)
    (task / "service" / "__init__.py").write_text("")
    (task / "service" / "lambda_handler.py").write_text(HANDLERS[kind])
    env = lambdas.platform_env("f", "us-east-1", 128, task, tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(STAND_IN))
    with pytest.raises(BenchError, match=words):
        lambdas.cold_start(Path(sys.executable), "perspective", task, env, spec, tmp_path, timeout=1)


def test_an_interrupted_cold_start_leaves_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C while the bench waits for a cold start stops that cold start too (by its PID)."""
    task = tmp_path / "task"
    (task / "service").mkdir(parents=True)
    (task / "service" / "__init__.py").write_text("")
    (task / "service" / "lambda_handler.py").write_text(HANDLERS["hangs"])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(STAND_IN))
    started: list[subprocess.Popen[Any]] = []

    class Interrupted(subprocess.Popen):  # type: ignore[type-arg]
        def wait(self, timeout: float | None = None) -> int:
            if not started:
                started.append(self)
                raise KeyboardInterrupt
            return super().wait(timeout)

    monkeypatch.setattr(lambdas.subprocess, "Popen", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        lambdas.cold_start(Path(sys.executable), "perspective", task,
                           lambdas.platform_env("f", "us-east-1", 128, task, tmp_path), spec, tmp_path, timeout=30)
    assert started and started[0].returncode is not None  # stopped and reaped, not left to sleep its 30 s


def test_a_stand_in_handler_gives_every_phase(tmp_path: Path) -> None:
    """A cold start in a fresh interpreter that sees nothing but the task folder (no kit, no venv)."""
    task = tmp_path / "task"
    (task / "service").mkdir(parents=True)
    (task / "service" / "__init__.py").write_text("")
    (task / "service" / "lambda_handler.py").write_text(
        "import sys\nVISIBLE = [p for p in sys.path if 'site-packages' in p]\n"
        "def perspective_handler(event, context):\n"
        "    import json\n"
        "    if VISIBLE:\n        raise RuntimeError(VISIBLE)\n"
        "    try:\n        import pydantic\n    except ImportError:\n        return {'check_passed': True}\n"
        "    return {'check_passed': False, 'error': 'the kit venv is visible'}\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(STAND_IN))
    run: dict[str, Any] = lambdas.cold_start(lambdas.interpreter(), "perspective", task,
                                             lambdas.platform_env("f", "us-east-1", 128, task, tmp_path), spec, tmp_path)
    assert run["cold_start_ms"] > run["import_ms"] > 0 and run["interpreter_ms"] > 0 and run["rss_mib"] > 1
