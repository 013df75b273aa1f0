"""What a Lambda zip holds for its cold start: the bytecode of every module (a function's code
folder is read-only: without it each cold start compiles what it imports), and botocore's models
of the AWS APIs the runtime calls, not of every AWS service."""

from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path

import pytest

from artifacts import builder
from artifacts.builder import BOTOCORE_SERVICES, BuildError, compile_bytecode, prune_botocore

ROOT = Path(__file__).resolve().parents[2]


def test_the_kept_botocore_models_are_the_clients_the_runtime_creates() -> None:
    created = set()
    for path in (ROOT / "service").rglob("*.py"):
        created |= set(re.findall(r"""client\(\s*["']([a-z0-9-]+)["']""", path.read_text(encoding="utf-8")))
    assert created and created <= set(BOTOCORE_SERVICES), created


def test_prune_keeps_the_listed_models_and_botocores_own_data(tmp_path: Path) -> None:
    data = tmp_path / "botocore" / "data"
    for service in ("lambda", "route53", "s3", "ec2"):
        (data / service / "2015-03-31").mkdir(parents=True)
        (data / service / "2015-03-31" / "service-2.json.gz").write_bytes(b"model")
    (data / "endpoints.json").write_text("{}")
    prune_botocore(tmp_path)
    assert sorted(p.name for p in data.iterdir()) == ["endpoints.json", "lambda", "route53"]
    prune_botocore(tmp_path / "no-botocore")  # the perspective's zip has none: nothing to do


def test_bytecode_is_hash_based_and_named_for_the_task_root(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    source = b"VALUE = {'b', 'a'}\n"
    (tmp_path / "pkg" / "mod.py").write_bytes(source)
    compile_bytecode(tmp_path)
    pyc = (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").read_bytes()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(pyc[4:8], "little") == 0b01  # unchecked hash
    assert pyc[8:16] == importlib.util.source_hash(source) and b"/var/task/pkg/mod.py" in pyc
    first = pyc
    compile_bytecode(tmp_path)  # again, in another process: the same bytes
    assert (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").read_bytes() == first


def test_bytecode_needs_the_lambda_runtimes_python_and_valid_sources(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n")
    with pytest.raises(BuildError, match="compiling the bytecode failed.*bad.py"):
        compile_bytecode(tmp_path)
    monkeypatch.setattr(builder, "PYTHON_VERSION", "3.12")
    with pytest.raises(BuildError, match="Python 3.12 compiles the zips' bytecode"):
        compile_bytecode(tmp_path)


@pytest.mark.parametrize("role", ["coordinator", "perspective"])
def test_the_built_zips_carry_bytecode_and_only_the_models_they_use(artifacts, role: str) -> None:
    path = next(artifacts.path(a) for a in artifacts.artifacts if a.name == f"mpic-{role}-x86_64")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        pyc = zf.read("service/__pycache__/lambda_handler.cpython-311.pyc")
        source = zf.read("service/lambda_handler.py")
    assert pyc[8:16] == importlib.util.source_hash(source)
    assert "open_mpic_core/__pycache__/__init__.cpython-311.pyc" in names
    models = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2}
    assert models == (set(BOTOCORE_SERVICES) if role == "coordinator" else set())
