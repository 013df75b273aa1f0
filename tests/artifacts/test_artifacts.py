"""The runtime artifacts of `mpic build`: reproducible, installable offline, importable alone, and
required by every deployment path."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.__main__ import app
from artifacts.builder import (BuildError, build, build_lambda, deterministic_zip, project_version, read_lock,
                                runtime_wheel)
from config.errors import PlanError
from config.stackfile import load_stack
from local.pki import LocalCa
from artifacts.dist import DIST_ENV, folder_sha256, load_manifest, require_artifacts, source_sha256
from plan.artifacts import MANIFEST
from plan.pki import COORDINATOR_CLIENT_NAME, perspective_cert_name
from tests.service import infra

ROOT = Path(__file__).resolve().parents[2]
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def test_two_builds_of_one_tree_are_byte_identical(artifacts, tmp_path):
    """The suite's one full build (the session's ``artifacts``) against a second build of every
    kind of artifact: both wheelhouses and the image context again, and one Lambda zip (the zips
    of both architectures and both roles come from one code path, so the coordinator's x86_64 zip,
    the one with the most in it: boto3, botocore pruned, bytecode, is rebuilt)."""
    again = build(["wheel", "image-context"], tmp_path / "dist")
    first = load_manifest(artifacts.dist)
    assert first is not None and again.source_sha256 == first.source_sha256 == source_sha256()
    rebuilt = {(a.kind, a.name, a.sha256) for a in again.artifacts}
    with tempfile.TemporaryDirectory() as tmp:
        runtime = runtime_wheel(ROOT, Path(tmp), again.source_sha256)
        zipped = build_lambda(ROOT, tmp_path / "dist", runtime, "x86_64", "coordinator", lambda m: None)
        rebuilt.add((zipped.kind, zipped.name, zipped.sha256))
    assert {a.kind for a in again.artifacts} == {"wheelhouse", "image-context"} and len(rebuilt) == 4
    assert rebuilt <= {(a.kind, a.name, a.sha256) for a in first.artifacts}
    assert len(first.artifacts) == 7 and {a.kind for a in first.artifacts} == {"wheelhouse", "lambda", "image-context"}
    assert json.loads((tmp_path / "dist" / MANIFEST).read_text())["source_sha256"] == again.source_sha256


def test_runtime_wheel_holds_the_runtime_only(tmp_path):
    wheel = runtime_wheel(ROOT, tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "service/__main__.py" in names and "config/catalog.py" in names and "config/regions.yaml" in names
    assert not [n for n in names if n.startswith(("config/model", "plan/", "cli/", "local/", "tests/"))]
    info = [n for n in names if n.endswith(".dist-info/METADATA")][0]
    meta = zipfile.ZipFile(wheel).read(info).decode()
    assert "Requires-Dist: open-mpic-core" in meta and "Name: mpic-fleet-runtime" in meta
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(wheel).infolist())
    assert runtime_wheel(ROOT, tmp_path / "again").read_bytes() == wheel.read_bytes()
    build = json.loads(zipfile.ZipFile(wheel).read("service/_build.json"))  # what every audit line names
    assert build == {"source_sha256": source_sha256(ROOT), "version": project_version(ROOT)}


def test_deterministic_zip_sorts_and_dates_entries(tmp_path):
    (tmp_path / "src" / "b").mkdir(parents=True)
    (tmp_path / "src" / "b" / "z.py").write_text("z")
    (tmp_path / "src" / "a.py").write_text("a")
    deterministic_zip(tmp_path / "src", tmp_path / "one.zip")
    os.utime(tmp_path / "src" / "a.py", (1_900_000_000, 1_900_000_000))
    deterministic_zip(tmp_path / "src", tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "one.zip").namelist() == ["a.py", "b/z.py"]


def test_locks_pin_every_file_by_hash():
    for lock in ("service/requirements.lock", "service/requirements-lambda.lock"):
        pins = read_lock(ROOT / lock)
        assert "open-mpic-core" in pins and all(hashes for _, hashes in pins.values())
    assert "boto3" in read_lock(ROOT / "service/requirements-lambda.lock")
    assert "boto3" not in read_lock(ROOT / "service/requirements.lock")  # hosts and images do not need it


def test_unknown_artifact_is_refused(tmp_path):
    with pytest.raises(BuildError, match="unknown artifact"):
        build(["docker"], tmp_path)
    res = CliRunner().invoke(app, ["build", "docker"])
    assert res.exit_code == 2 and "wheel, lambda, image-context" in res.output


def test_wheelhouse_requirements_pin_each_file(artifacts):
    house = artifacts.dist / "wheelhouse" / "linux_x86_64"
    lines = (house / "requirements.txt").read_text().splitlines()
    wheels = sorted(p.name for p in house.glob("*.whl"))
    assert len(lines) == len(wheels) and all("--hash=sha256:" in ln for ln in lines)
    assert any(ln.startswith("mpic-fleet-runtime==") for ln in lines)
    manifest = load_manifest(artifacts.dist)
    assert manifest.find("wheelhouse", "wheelhouse-linux_x86_64").sha256 == folder_sha256(house)


# ------------------------------------------------------------------------------ the wheelhouse runs
@pytest.mark.skipif(os.geteuid() != 0, reason="binds loopback ports 53xx/8443 like the service tests")
def test_a_clean_virtualenv_installs_the_wheelhouse_offline_and_serves_caa_over_mtls(artifacts, tmp_path):
    venv, house = tmp_path / "venv", artifacts.dist / "wheelhouse" / "linux_x86_64"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--isolated", "--no-index", "--require-hashes",
                    "--find-links", str(house), "-r", str(house / "requirements.txt")], check=True, env=env)
    prefix = infra.pick_prefix()
    knot = infra.start_knot(prefix, tmp_path / "knot")
    ca = LocalCa.load_or_create(tmp_path / "pki")
    client = ca.issue_client(COORDINATOR_CLIENT_NAME)
    procs, perspectives = [], []
    try:
        for i, code in enumerate(("us-east-1", "eu-west-1")):
            ip = f"{prefix}.{11 + i}"
            cert, key = ca.issue_server(perspective_cert_name(code), ips=[ip])  # its identity (service/identity.py)
            procs.append(_start(venv, tmp_path, "perspective", code, env, {
                "code": code, "listen_host": ip, "listen_port": 8443,
                "tls": {"cert": str(cert), "key": str(key), "client_ca": str(ca.cert_path)},
                "resolver": {"nameservers": [knot.addr], "port": knot.port}, "caa_domains": ["ca.mpic.test"],
                "allowed_reserved_networks": infra.lab_networks(prefix), "log_level": "WARNING"}))
            perspectives.append({"code": code, "url": f"https://{ip}:8443"})
            infra.wait_port(ip, 8443, timeout=30)
        procs.append(_start(venv, tmp_path, "coordinator", "c", env, {
            "listen_host": f"{prefix}.30", "listen_port": 8080, "internal_listen_host": f"{prefix}.30",
            "internal_listen_port": 9080, "api_keys": ["k"], "hash_secret": "h" * 32, "br_as_of": "2025-06-01",
            "default_perspective_count": 2, "perspectives": perspectives, "log_level": "WARNING",
            "client_tls": {"cert": str(client[0]), "key": str(client[1]), "ca": str(ca.cert_path)}}))
        infra.wait_port(f"{prefix}.30", 8080, timeout=30)
        req = urllib.request.Request(f"http://{prefix}.30:8080/mpic", method="POST", headers={"x-api-key": "k"},
                                     data=json.dumps({"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"}).encode())
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        assert answer["is_valid"] is True and len(answer["perspectives"]) == 2, answer
        origin = subprocess.run([str(venv / "bin" / "python"), "-c", "import service; print(service.__file__)"],
                                capture_output=True, text=True, cwd=tmp_path, env=env).stdout
        assert str(venv) in origin  # the installed runtime, not the source tree
    finally:
        for p in procs:
            infra.stop_pid(p)
        knot.stop()


def _start(venv: Path, tmp: Path, role: str, name: str, env: dict, settings: dict) -> subprocess.Popen:
    path = tmp / f"{role}-{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return subprocess.Popen([str(venv / "bin" / "python"), "-m", "service", role, "--settings", str(path)], cwd=tmp,
                            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{role}-{name}.log", "w"))


# ------------------------------------------------------------------------------ Lambda zips
def _unzip(artifacts, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    zipfile.ZipFile(artifacts.dist / "lambda" / f"{name}.zip").extractall(target)
    return target


def _isolated(folder: Path, code: str, env: dict[str, str]) -> dict:
    """Run ``code`` in a clean interpreter whose only import path besides the stdlib is ``folder``."""
    script = f"import sys, json\nsys.path.insert(0, {str(folder)!r})\n{code}"
    res = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, cwd=folder,
                         env={"PATH": "/usr/bin:/bin", **env}, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


COORDINATOR_ENV = {
    "MPIC_API_KEYS": '["lambda-key"]', "MPIC_HASH_SECRET": "h" * 32, "MPIC_DEFAULT_PERSPECTIVE_COUNT": "2",
    "MPIC_BR_AS_OF": "2025-06-01", "MPIC_AUDIT_LOG": "-",
    "MPIC_PERSPECTIVES": json.dumps([{"code": "us-east-1", "url": "lambda:arn:aws:lambda:us-east-1:0:function:p1"},
                                     {"code": "eu-west-1", "url": "lambda:arn:aws:lambda:eu-west-1:0:function:p2"}]),
    "AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none", "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9",  # perspectives unreachable: a well-formed invalid answer
}


def test_coordinator_zip_answers_api_gateway_and_warmup_events_alone(artifacts, tmp_path):
    folder = _unzip(artifacts, "mpic-coordinator-x86_64", tmp_path)
    body = json.dumps({"check_type": "caa", "domain_or_ip_target": "example.com"})
    rest = {"resource": "/mpic", "path": "/v1/mpic", "httpMethod": "POST", "headers": {"x-api-key": "lambda-key"},
            "requestContext": {"stage": "v1", "httpMethod": "POST"}, "isBase64Encoded": False}
    events = {"ok": {**rest, "body": body}, "bad": {**rest, "body": "{not json"},
              "b64": {**rest, "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True},
              "warm": {"warmup": True}}
    code = (
        "from service.lambda_handler import coordinator_handler as h\n"
        f"events = json.loads({json.dumps(events)!r})\n"
        "out = {name: h(event, None) for name, event in events.items()}\n"
        "import service, boto3\n"
        "out['from'] = service.__file__\n"
        "print(json.dumps(out))")
    out = _isolated(folder, code, COORDINATOR_ENV)
    assert out["from"].startswith(str(folder))
    assert out["ok"]["statusCode"] == 200 and out["b64"]["statusCode"] == 200
    answer = json.loads(out["ok"]["body"])
    assert answer["is_valid"] is False and len(answer["perspectives"]) == 2  # unreachable perspectives: invalid
    assert out["bad"]["statusCode"] == 400 and json.loads(out["bad"]["body"])["error"] == "request-validation-failed"
    assert out["warm"] == {"warmup": "ok", "role": "coordinator"}


def test_perspective_zip_answers_a_direct_invoke_alone(artifacts, tmp_path):
    folder = _unzip(artifacts, "mpic-perspective-x86_64", tmp_path)
    env = {"MPIC_CODE": "eu-west-1", "MPIC_RESOLVER": '{"nameservers": ["127.0.0.1"], "port": 9, "lifetime": 1}',
           "MPIC_AUDIT_LOG": "-"}
    code = ("from service.lambda_handler import perspective_handler as h\n"
            "r = h({'check_type': 'caa', 'domain_or_ip_target': 'example.com'}, None)\n"
            "w = h({'warmup': True}, None)\n"
            "import importlib.util\n"
            "print(json.dumps({'r': r, 'w': w, 'boto3': importlib.util.find_spec('boto3') is not None}))")
    out = _isolated(folder, code, env)
    assert out["r"]["check_type"] == "caa" and out["r"]["check_completed"] is False  # no resolver answers here
    assert out["w"] == {"warmup": "ok", "role": "perspective"} and out["boto3"] is False
    assert out["r"]["mpic_perspective"]["code"] == "eu-west-1"  # the answer names the perspective


@pytest.mark.parametrize("role", ["perspective", "coordinator"])
def test_arm64_zips_hold_only_aarch64_or_pure_code(artifacts, tmp_path, role):
    folder = _unzip(artifacts, f"mpic-{role}-arm64", tmp_path)
    libs = [p for p in folder.rglob("*.so*") if p.is_file()]
    assert libs, "the runtime has compiled dependencies (pydantic-core, yarl...)"
    for lib in libs:
        head = lib.read_bytes()[:20]
        assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == ELF_MACHINE["aarch64"], lib
    for wheel_info in folder.glob("*.dist-info/WHEEL"):
        tags = [ln.split(": ", 1)[1] for ln in wheel_info.read_text().splitlines() if ln.startswith("Tag: ")]
        assert all(t.endswith(("-any", "aarch64")) for t in tags), (wheel_info, tags)


# ------------------------------------------------------------------------------ deploying requires them
def test_plan_without_dist_or_with_a_stale_manifest_refuses_and_names_the_build(artifacts, tmp_path, monkeypatch):
    monkeypatch.setenv(DIST_ENV, str(tmp_path / "nothing"))
    res = CliRunner().invoke(app, ["plan", "aws-hosts", "--json"])
    assert res.stdout.strip(), (res.output, res.exception)
    doc = json.loads(res.stdout)
    assert res.exit_code == 3 and doc["resources"] == [] and doc["artifacts"] == []
    assert (doc["compliant"], doc["verdict"], doc["ready"]) == (True, "compliant", False)  # a build, not a BR rule
    assert "./scripts/mpic build" in doc["readiness"][0] and "missing" in doc["readiness"][0]
    stale = tmp_path / "stale"
    shutil.copytree(artifacts.dist / "lambda", stale / "lambda")
    manifest = json.loads((artifacts.dist / MANIFEST).read_text())
    (stale / MANIFEST).write_text(json.dumps({**manifest, "source_sha256": "0" * 64}))
    monkeypatch.setenv(DIST_ENV, str(stale))
    res = CliRunner().invoke(app, ["plan", "aws-lambda"])
    assert res.exit_code == 3 and "built from other sources" in res.output and "./scripts/mpic build" in res.output
    assert "compliant with BR 3.2.2.9, NOT ready to deploy" in res.output
    with pytest.raises(PlanError, match="no wheelhouse wheelhouse-linux_x86_64"):
        (stale / MANIFEST).write_text(json.dumps(manifest))
        require_artifacts(load_stack("aws-hosts"))


def test_the_local_fleet_builds_its_hosts_architecture_only(artifacts, tmp_path):
    """#24 part 1: `mpic up` built both wheelhouses though the fleet runs one; the image context
    (and `mpic build`) still gets every architecture."""
    dist = tmp_path / "dist"
    one = build(["wheel"], dist, archs=("x86_64",))
    assert [(a.kind, a.name) for a in one.artifacts] == [("wheelhouse", "wheelhouse-linux_x86_64")]
    assert not (dist / "wheelhouse" / "linux_aarch64").exists()
    first = {(a.name, a.sha256) for a in load_manifest(artifacts.dist).artifacts}
    assert (one.artifacts[0].name, one.artifacts[0].sha256) in first  # the same bytes as a full build
    both = build(["image-context"], dist, archs=("x86_64",))
    assert {a.name for a in both.artifacts} == {"wheelhouse-linux_x86_64", "wheelhouse-linux_aarch64", "image"}
