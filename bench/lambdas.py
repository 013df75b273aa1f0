"""``mpic bench --lambda``: each built Lambda zip as a cold function runs it, on this machine.

For each role (``coordinator``, ``perspective``) the zip of this machine's architecture is unpacked
once (the function's ``/var/task``) and started :data:`RUNS` times, each a cold start: a fresh
interpreter (the kit's Python without its virtualenv: ``-S``, only the unpacked zip on
``PYTHONPATH``, ``-B`` as on Lambda's read-only code folder), the environment the deployed function
has (:func:`plan.aws.fleet.lambda_perspective_env`, :class:`plan.aws.fleet.LambdaCoordinatorEnv`
of the kit's ``aws-lambda`` stack, test secrets, the variables Lambda itself sets), then the
bootstrap :mod:`bench.coldstart` times the import, the settings (the warm-up invoke) and the first
request, and reads the memory.

The perspective's first request is a CAA check of ``caa-permit.mpic.test`` against the bench's own
Knot on loopback (its resolver is the only placement changed); the coordinator's is the same check
through API Gateway's event, fanned out to stub perspective functions behind the real boto3
``lambda:Invoke`` call (:mod:`bench.coldstart`). Both must answer valid, else the run fails. Knot is
stopped by PID at the end; the unpacked zips are deleted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from artifacts.dist import file_sha256
from bench.load import BenchError, loadavg, percentile
from bench.loopback import pick_prefix, start_knot, stop_pid
from bench.runtime import API_KEY, BODIES, CAA_DOMAINS
from config.model import StackConfig
from config.stackfile import load_stack
from plan import runtime
from plan.artifacts import LAMBDA_HANDLERS, MANIFEST, Built
from plan.aws.fleet import LambdaCoordinatorEnv, LambdaPlan, lambda_perspective_env, plan_lambda

ROLES = ("coordinator", "perspective")
RUNS = 10
"""Cold starts of each role; the figures are their p50."""
STACK = "aws-lambda"
"""The kit's stack file whose functions' environments are measured (stacks/Pulumi.aws-lambda.yaml)."""
BOOTSTRAP = Path(__file__).with_name("coldstart.py")
TIMEOUT_S = 60.0
"""One cold start that takes longer has failed."""
INVOKE_CLIENT_FACTORY = "service.transport._boto3_lambda_client"
"""The deployed coordinator's ``lambda:Invoke`` client factory, the seam the bootstrap wraps
(the coordinator handler's ``lambda_client_factory``); a test pins the name to the runtime."""
HASH_SECRET = "mpic-bench-hash-secret-0123456789abcdef"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAMPICBENCHTEST000", "AWS_SECRET_ACCESS_KEY": "mpic-bench-test-secret",
                    "AWS_SESSION_TOKEN": "mpic-bench-test-token"}
"""The execution role's credentials Lambda puts in the environment (test values: nothing leaves
this machine, the invoke is answered in-process)."""
MIB = 1 << 20


def interpreter() -> Path:
    """The kit's Python itself, not its virtualenv (``-S`` keeps site-packages out anyway)."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return base if base.exists() else Path(sys.executable)


def function_arn(stack: str, code: str) -> str:
    return f"arn:aws:lambda:{code}:000000000000:function:mpic-{stack}-persp-{code}"


SMALL_MIB = 0.05
"""Distributions under this size are summed as ``other`` in ``zip_mib_by_package``."""


def _owner(name: str, owners: dict[str, str]) -> str:
    """The distribution that installed zip entry ``name`` (its bytecode: the source's), by the
    ``RECORD`` files pip wrote; else the entry's top-level name."""
    if "__pycache__/" in name:
        folder, _, pyc = name.rpartition("__pycache__/")
        name = folder + pyc.split(".")[0] + ".py"
    return owners.get(name) or name.split("/")[0].split(".")[0]


def zip_figures(path: Path) -> dict[str, Any]:
    """The zip's size, unpacked size, and what it holds: its bytecode (compressed MiB of
    ``__pycache__``), and compressed MiB by distribution (each file and its bytecode counted with
    the distribution that installed it), largest first."""
    sizes: dict[str, int] = {}
    unpacked = bytecode = 0
    with zipfile.ZipFile(path) as zf:
        owners = {}
        for record in (n for n in zf.namelist() if n.endswith(".dist-info/RECORD")):
            dist = record.split("/")[0].split("-")[0].lower()
            owners.update((line.split(",")[0], dist) for line in zf.read(record).decode().splitlines())
        for info in zf.infolist():
            owner = _owner(info.filename, owners)
            sizes[owner] = sizes.get(owner, 0) + info.compress_size
            unpacked += info.file_size
            bytecode += info.compress_size if "__pycache__/" in info.filename else 0
    by_dist = {name: size / MIB for name, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))}
    shown = {name: round(mib, 2) for name, mib in by_dist.items() if mib >= SMALL_MIB}
    other = sum(mib for mib in by_dist.values() if mib < SMALL_MIB)
    if other:
        shown["other"] = round(other, 2)
    return {"zip_mib": round(path.stat().st_size / MIB, 2), "unzipped_mib": round(unpacked / MIB, 2),
            "bytecode_mib": round(bytecode / MIB, 2), "zip_mib_by_package": shown}


def platform_env(name: str, region: str, memory_mb: int, task_root: Path, home: Path) -> dict[str, str]:
    """The variables the Lambda service sets in a python3.11 function's environment (test
    credentials; ``AWS_CONFIG_FILE`` and the credentials file pointed at nothing, so this machine's
    own AWS configuration is never read)."""
    return {
        "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb), "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "LAMBDA_TASK_ROOT": str(task_root), "PYTHONPATH": str(task_root), "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true", **TEST_CREDENTIALS,
    }


def coordinator_spec(fleet: StackConfig, plan: LambdaPlan) -> tuple[dict[str, str], dict[str, Any]]:
    """The coordinator function's ``MPIC_*`` environment (the slots filled with the stub functions'
    ARNs and test secrets) and the bootstrap's spec: the API Gateway event (HTTP API v2) of a CAA
    request, and who answers each ARN."""
    arns = [function_arn(fleet.name, p.code) for p in plan.perspectives]
    env = LambdaCoordinatorEnv(fleet, plan.perspectives).fill(function_arns=arns, api_keys=[API_KEY],
                                                              hash_secret=HASH_SECRET)
    body = json.dumps(BODIES["caa"])
    event = {"version": "2.0", "rawPath": "/mpic", "headers": {"x-api-key": API_KEY, "content-type": "application/json"},
             "requestContext": {"http": {"method": "POST", "path": "/mpic"}}, "body": body, "isBase64Encoded": False}
    functions = {arn: {"code": p.code, "rir": p.rir, "aws_region": p.code}
                 for arn, p in zip(arns, plan.perspectives, strict=True)}
    return env, {"role": "coordinator", "handler": LAMBDA_HANDLERS["coordinator"], "event": event,
                 "client_factory": INVOKE_CLIENT_FACTORY, "perspectives": functions}


def perspective_spec(fleet: StackConfig, plan: LambdaPlan,
                     knot: tuple[str, int]) -> tuple[dict[str, str], dict[str, Any]]:
    """The first perspective function's ``MPIC_*`` environment, its resolver the bench's Knot and
    its CAA issuer domain the test zone's (the placement of this machine), and the spec: the
    direct invoke of a CAA check."""
    env = lambda_perspective_env(fleet, plan.perspectives[0])
    env.update(runtime.settings_env({"resolver": {"nameservers": [knot[0]], "port": knot[1]},
                                     "caa_domains": CAA_DOMAINS}))
    return env, {"role": "perspective", "handler": LAMBDA_HANDLERS["perspective"], "event": dict(BODIES["caa"])}


def phases_ms(spawned: float, result: dict[str, Any]) -> dict[str, float]:
    """The milliseconds of one cold start, from the bootstrap's clock readings and the spawn time;
    its CPU time, memory (MiB) and the modules loaded by the first answer."""
    clock = result["clock"]
    return {"cold_start_ms": (clock["answer"] - spawned) * 1000, "interpreter_ms": (clock["boot"] - spawned) * 1000,
            "import_ms": (clock["import"] - clock["boot"]) * 1000,
            "settings_ms": (clock["settings"] - clock["import"]) * 1000,
            "first_request_ms": (clock["answer"] - clock["settings"]) * 1000,
            "cpu_ms": result["cpu_s"] * 1000, "rss_mib": result["memory_kib"]["VmRSS"] / 1024,
            "peak_rss_mib": result["memory_kib"]["VmHWM"] / 1024, "modules": result["modules"]}


def _valid(role: str, answer: dict[str, Any]) -> bool:
    if role == "coordinator":
        return answer.get("status") == 200 and answer.get("is_valid") is True
    return answer.get("check_passed") is True


def cold_start(python: Path, role: str, task_root: Path, env: dict[str, str], spec: Path, workdir: Path,
               timeout: float = TIMEOUT_S) -> dict[str, float]:
    """One cold start of ``role`` with ``spec`` (its bootstrap spec, a JSON file; stopped by PID if
    it outlives ``timeout``): its phases in ms."""
    out, log = workdir / f"{role}.result.json", workdir / f"{role}.log"
    out.unlink(missing_ok=True)
    with open(log, "w") as err, open(workdir / f"{role}.stdout", "w") as stdout:
        spawned = time.monotonic()
        proc = subprocess.Popen([str(python), "-S", "-B", "-P", str(BOOTSTRAP), str(spec), str(out)],
                                cwd=task_root, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_pid(proc)
            raise BenchError(f"{role}: the cold start took over {timeout:g} s") from None
        except BaseException:  # a Ctrl-C while waiting: the cold start is stopped with the bench
            stop_pid(proc)
            raise
    if proc.returncode != 0 or not out.exists():
        raise BenchError(f"{role}: the cold start failed (exit {proc.returncode}): {log.read_text()[-1500:]}")
    result = json.loads(out.read_text())
    if not _valid(role, result["answer"]):
        raise BenchError(f"{role}: the first request was not answered valid: {result['answer']}")
    return phases_ms(spawned, result)


def role_figures(runs: list[dict[str, float]], sizes: dict[str, Any]) -> dict[str, Any]:
    """p50 of every phase over the runs (cold start: p50 of the totals), the zip's figures, and
    every run's cold start."""
    figures: dict[str, Any] = {"cold_start_p50_ms": round(percentile([r["cold_start_ms"] for r in runs], 0.5), 1)}
    for key in ("interpreter_ms", "import_ms", "settings_ms", "first_request_ms", "cpu_ms", "rss_mib", "peak_rss_mib"):
        figures[key] = round(percentile([r[key] for r in runs], 0.5), 1)
    figures["modules"] = int(percentile([r["modules"] for r in runs], 0.5))
    figures.update(sizes)
    figures["cold_start_ms"] = [round(r["cold_start_ms"], 1) for r in runs]
    figures["runs"] = len(runs)
    return figures


def unpack(built: Built, role: str, into: Path) -> tuple[Path, dict[str, Any]]:
    """Unpack ``role``'s zip of ``built`` into ``into`` (the function's code folder), once its bytes
    match the manifest's sha256 (a zip being rebuilt, or broken, is refused); its size figures."""
    artifact = next(a for a in built.artifacts if a.kind == "lambda" and a.name.startswith(f"mpic-{role}-"))
    path = built.path(artifact)
    if file_sha256(path) != artifact.sha256:
        raise BenchError(f"{path}: its sha256 is not the one of {built.dist / MANIFEST} (rebuilt meanwhile, or "
                         "changed); run ./scripts/mpic build lambda")
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    return path, zip_figures(path)


def lambda_report(built: Built, runs: int, say: Callable[[str], None]) -> dict[str, Any]:
    """``{"lambda": {role: figures}}`` for the two zips of ``built`` (one per role)."""
    fleet = load_stack(STACK)
    plan = plan_lambda(fleet)
    python = interpreter()
    start_load = loadavg()
    report: dict[str, Any] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mpic-bench-lambda-")))
        zips = {role: unpack(built, role, workdir / role / "task") for role in ROLES}
        knot = start_knot(pick_prefix(((53, 5300),)), workdir / "knot")
        stack.callback(knot.stop)
        for role in ROLES:
            task_root = workdir / role / "task"
            path, sizes = zips[role]
            home = workdir / role / "home"
            home.mkdir()
            if role == "coordinator":
                mpic, spec = coordinator_spec(fleet, plan)
                name, region = f"mpic-{fleet.name}-coordinator", plan.coordinator_region
            else:
                mpic, spec = perspective_spec(fleet, plan, (knot.addr, knot.port))
                name, region = f"mpic-{fleet.name}-persp-{plan.perspectives[0].code}", plan.perspectives[0].code
            env = {**platform_env(name, region, fleet.aws.lambda_memory_mb, task_root, home), **mpic}
            spec_path = workdir / f"{role}.spec.json"
            spec_path.write_text(json.dumps(spec))
            say(f"bench: {path.name} ({sizes['zip_mib']} MiB): {runs} cold starts")
            samples = [cold_start(python, role, task_root, env, spec_path, workdir) for _ in range(runs)]
            report[role] = role_figures(samples, sizes)
    return {"schema": 1, "target": "lambda", "settings": {"runs": runs, "stack": STACK,
                                                          "memory_mb": fleet.aws.lambda_memory_mb,
                                                          "python": str(python), "cpus": os.cpu_count()},
            "loadavg_start": start_load, "loadavg_end": loadavg(), "lambda": report}


def summary(report: dict[str, Any]) -> list[str]:
    """The Lambda report as a few human lines."""
    lines = []
    for role, f in report["lambda"].items():
        lines.append(f"{role}: cold start p50 {f['cold_start_p50_ms']} ms (interpreter {f['interpreter_ms']}, import "
                     f"{f['import_ms']}, settings {f['settings_ms']}, first request {f['first_request_ms']} ms; "
                     f"CPU {f['cpu_ms']} ms), RSS {f['rss_mib']} MiB, zip {f['zip_mib']} MiB "
                     f"({f['unzipped_mib']} MiB unpacked)")
    lines.append(f"load average: start {report['loadavg_start']}, end {report['loadavg_end']}")
    return lines
