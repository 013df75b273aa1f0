"""``mpic build``: the runtime artifacts every target ships, written to ``dist/`` reproducibly.

- ``wheel``: ``dist/wheelhouse/<platform>/`` for Linux x86_64 and aarch64, CPython 3.11: the
  runtime wheel (``mpic-fleet-runtime``: ``service/`` and the catalog it reads) plus every
  dependency of ``service/requirements.lock`` as manylinux2014 wheels (glibc 2.17: Amazon Linux 2
  and 2023, Debian 12), and a ``requirements.txt`` pinning each file by sha256. A host installs it
  with ``pip install --no-index --require-hashes`` and never reaches a public index at boot.
- ``lambda``: ``dist/lambda/mpic-<role>-<arch>.zip`` for the perspective and the coordinator, x86_64
  and arm64, installed from those wheels (the coordinator also gets ``service/requirements-lambda.lock``:
  boto3, to invoke the perspective functions, with botocore's models of the APIs the runtime calls
  only), with the bytecode of every module: a function's code folder is read-only, so without it
  every cold start compiles each module it imports again (docs/performance.md, Lambda).
- ``image-context``: ``dist/image/``: the repository's ``Dockerfile`` and both wheelhouses.

Reproducible: the same sources give byte-identical artifacts (the runtime wheel and the zips have
fixed timestamps and sorted entries; dependencies are the locked files themselves). Downloads go to
a cache (``$MPIC_BUILD_CACHE``, default ``~/.cache/mpic-fleet/wheels``) verified by hash.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

from wheel.wheelfile import WheelFile

from config.errors import KitError

from artifacts.dist import KIT_ROOT, file_sha256, folder_sha256, load_manifest, source_files, source_sha256

from plan.artifacts import (

    IMAGE_CONTEXT,

    LAMBDA_HANDLERS,

    MANIFEST,

    PLATFORMS,

    Artifact,

    Manifest,

    artifact_path,

    lambda_name,

    wheelhouse_name,

)

RUNTIME_DIST = "mpic-fleet-runtime"
PYTHON_VERSION = "3.11"
MANYLINUX = "manylinux2014"
EPOCH = 315532800
"""Every entry of a built wheel or zip is dated 1980-01-01 (the zip format's earliest date)."""
KINDS = ("wheel", "lambda", "image-context")
RUNTIME_LOCK = "service/requirements.lock"
LAMBDA_LOCK = "service/requirements-lambda.lock"
LAMBDA_TASK_ROOT = "/var/task"
"""Where Lambda unpacks a zip: the file names compiled into the bytecode (tracebacks)."""
BOTOCORE_SERVICES = ("lambda", "route53", "sts")
"""The AWS APIs whose botocore models a zip keeps: ``lambda`` (the coordinator invokes the
perspective functions: service/transport.py), ``route53`` (the canary writes its TXT record:
service/canary.py) and ``sts`` (credentials). botocore ships the models of every AWS service
(15 MiB of the coordinator zip); a test pins this list to the clients service/ creates."""
_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")

Say = Callable[[str], None]


class BuildError(KitError, RuntimeError):
    """A build step failed; the message says which and why (e.g. pip's own words)."""


def _quiet(_: str) -> None:
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("MPIC_BUILD_CACHE") or Path.home() / ".cache" / "mpic-fleet" / "wheels")


def read_lock(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """``name -> (version, allowed sha256s)`` of a hash-pinned requirements file (uv's format)."""
    out: dict[str, tuple[str, set[str]]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LOCK_LINE.match(line)
        if m:
            current = _normalize(m.group(1))
            out[current] = (m.group(2), set())
        if current is not None:
            out[current][1].update(_HASH.findall(line))
    return {k: (v, frozenset(h)) for k, (v, h) in out.items()}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip(*args: str) -> None:
    argv = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0:
        lines = [ln for ln in (res.stderr or res.stdout).splitlines() if not ln.startswith("WARNING: Location")]
        raise BuildError(f"`pip {' '.join(args[:2])} ...` failed: {' '.join(lines[-6:])}")


def _platform_args(arch: str) -> list[str]:
    machine = "aarch64" if arch == "arm64" else "x86_64"
    return ["--only-binary=:all:", "--platform", f"{MANYLINUX}_{machine}", "--implementation", "cp",
            "--python-version", PYTHON_VERSION, "--abi", "cp" + PYTHON_VERSION.replace(".", "")]


# ------------------------------------------------------------------------------ the runtime wheel
def project_version(root: Path) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


BUILD_FILE = "_build.json"
"""Written into the runtime wheel's ``service`` package: the ``source_sha256`` it was built from."""


def runtime_wheel(root: Path, out: Path, source: str | None = None) -> Path:
    """``mpic-fleet-runtime`` (pure Python): ``service/`` and ``config/{__init__,catalog}.py``,
    ``config/regions.yaml``, and ``_build.json`` in the ``service`` package naming the
    ``source_sha256`` it was built from (every audit line carries it: service.audit.build_id); its
    dependencies are the names of ``service/requirements.in``."""
    source = source or source_sha256(root)
    version = project_version(root)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{RUNTIME_DIST.replace('-', '_')}-{version}-py3-none-any.whl"
    requires = [ln.strip() for ln in (root / "service" / "requirements.in").read_text().splitlines()
                if ln.strip() and not ln.startswith(("#", "-"))]
    info = f"{RUNTIME_DIST.replace('-', '_')}-{version}.dist-info"
    metadata = "\n".join(["Metadata-Version: 2.1", f"Name: {RUNTIME_DIST}", f"Version: {version}",
                          "Summary: MPIC Fleet runtime: Open MPIC coordinator and perspective services",
                          "License: Apache-2.0", "Requires-Python: >=3.11",
                          *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    files = [p for p in source_files(root) if p.suffix in (".py", ".yaml") and
             (p.relative_to(root).parts[0] == "service" or p.parent.name == "config")
             and "examples" not in p.parts]
    os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
    with WheelFile(path, "w") as wf:
        for p in files:
            info_z = zipfile.ZipInfo(p.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info_z.external_attr = 0o644 << 16
            info_z.compress_type = zipfile.ZIP_DEFLATED
            wf.writestr(info_z, p.read_bytes())
        build = zipfile.ZipInfo("/".join(("service", BUILD_FILE)), date_time=(1980, 1, 1, 0, 0, 0))
        build.external_attr = 0o644 << 16
        wf.writestr(build, json.dumps({"source_sha256": source, "version": version}, sort_keys=True) + "\n")
        wf.writestr(f"{info}/METADATA", metadata)
        wf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: mpic-build\nRoot-Is-Purelib: true\n"
                                     "Tag: py3-none-any\n")
        wf.writestr(f"{info}/top_level.txt", "config\nservice\n")
    return path


# ------------------------------------------------------------------------------ dependencies
def locked_wheels(lock: Path, arch: str, say: Say) -> list[Path]:
    """The wheel of every package of ``lock`` for ``arch``, downloaded once into the cache and
    checked against the lock's hashes."""
    cache = cache_dir() / PLATFORMS[arch]
    cache.mkdir(parents=True, exist_ok=True)
    pins = read_lock(lock)

    def pick() -> tuple[list[Path], list[str]]:
        by_hash = {file_sha256(p): p for p in cache.glob("*.whl")}
        found, missing = [], []
        for name, (_, hashes) in sorted(pins.items()):
            match = sorted(by_hash[h] for h in hashes if h in by_hash)
            (found.append(match[0]) if match else missing.append(name))
        return found, missing

    found, missing = pick()
    if missing:
        say(f"build: downloading {len(missing)} locked wheels for {PLATFORMS[arch]} into {cache}")
        _pip("download", "--no-deps", "--require-hashes", "-r", str(lock), "-d", str(cache), *_platform_args(arch))
        found, missing = pick()
    if missing:
        raise BuildError(f"{lock}: no {MANYLINUX} wheel for {PLATFORMS[arch]} of {', '.join(missing)}; a host "
                         "cannot install from source at boot. Pin a version that ships one.")
    return found


def _requirements(wheels: list[Path]) -> str:
    lines = []
    for w in sorted(wheels, key=lambda p: p.name.lower()):
        name, version = w.name.split("-")[:2]
        lines.append(f"{_normalize(name)}=={version} --hash=sha256:{file_sha256(w)}")
    return "\n".join(lines) + "\n"


def build_wheelhouse(root: Path, dist: Path, runtime: Path, arch: str, say: Say) -> Artifact:
    folder = dist / "wheelhouse" / PLATFORMS[arch]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    wheels = [runtime, *locked_wheels(root / RUNTIME_LOCK, arch, say)]
    for w in wheels:
        shutil.copy2(w, folder / w.name)
    (folder / "requirements.txt").write_text(_requirements(wheels), encoding="utf-8")
    say(f"build: {folder} ({len(wheels)} wheels)")
    return Artifact("wheelhouse", wheelhouse_name(PLATFORMS[arch]), _rel(folder, dist), folder_sha256(folder),
                    PLATFORMS[arch])


# ------------------------------------------------------------------------------ Lambda zips
def deterministic_zip(source: Path, target: Path) -> None:
    """Zip ``source``'s files (sorted, dated 1980-01-01, modes 644/755) into ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(source.rglob("*"), key=lambda x: x.relative_to(source).as_posix()):
            if p.is_dir():
                continue
            info = zipfile.ZipInfo(p.relative_to(source).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(p, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, p.read_bytes())


def prune_botocore(package: Path) -> None:
    """Remove botocore's models of the AWS APIs the runtime never calls (all but
    :data:`BOTOCORE_SERVICES`; the endpoint and partition data stay)."""
    data = package / "botocore" / "data"
    for service in sorted(data.iterdir()) if data.is_dir() else ():
        if service.is_dir() and service.name not in BOTOCORE_SERVICES:
            shutil.rmtree(service)


def compile_bytecode(package: Path) -> None:
    """Write the bytecode of every module of ``package`` beside it (``__pycache__``), as Python
    3.11 without ``-O`` reads it. Reproducible: hash-based (the source's hash, not its date;
    ``unchecked-hash``: the code folder never changes, so no import reads the source to compare),
    the file names of :data:`LAMBDA_TASK_ROOT`, files in order, one process in a known state: a
    fixed hash seed and nothing else of the caller's (``-S`` and an environment of its own: no
    ``.pth`` hook such as coverage's, no ``PYTHONPYCACHEPREFIX``), since what a compiling
    interpreter has loaded can change the bytes it writes."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        raise BuildError(f"build lambda: Python {PYTHON_VERSION} compiles the zips' bytecode (Lambda's python"
                         f"{PYTHON_VERSION} runtime), this is {sys.version.split()[0]}; run ./scripts/mpic build "
                         "from the kit's .venv")
    argv = [sys.executable, "-S", "-m", "compileall", "-q", "-o", "0", "--invalidation-mode", "unchecked-hash",
            "-d", LAMBDA_TASK_ROOT, str(package)]
    res = subprocess.run(argv, capture_output=True, text=True, env={"PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8"})
    if res.returncode != 0:
        raise BuildError(f"build lambda: compiling the bytecode failed: {(res.stdout + res.stderr)[-600:]}")


def build_lambda(root: Path, dist: Path, runtime: Path, arch: str, role: str, say: Say) -> Artifact:
    wheels = [runtime, *locked_wheels(root / RUNTIME_LOCK, arch, say)]
    if role == "coordinator":
        extra = {w.name: w for w in locked_wheels(root / LAMBDA_LOCK, arch, say)}
        wheels = list({w.name: w for w in wheels + list(extra.values())}.values())
    with tempfile.TemporaryDirectory(prefix="mpic-lambda-") as tmp:
        links, target = Path(tmp) / "links", Path(tmp) / "package"
        links.mkdir()
        for w in wheels:
            shutil.copy2(w, links / w.name)
        (links / "requirements.txt").write_text(_requirements(wheels), encoding="utf-8")
        _pip("install", "--no-index", "--find-links", str(links), "--require-hashes", "--no-deps", "--no-compile",
             "--target", str(target), "-r", str(links / "requirements.txt"), *_platform_args(arch))
        for junk in target.glob("*.dist-info/INSTALLER"):  # pip's name: the only line that varies by tool
            junk.unlink()
        for direct in target.glob("*.dist-info/direct_url.json"):
            direct.unlink()
        prune_botocore(target)
        compile_bytecode(target)
        name = lambda_name(role, arch)
        path = dist / "lambda" / f"{name}.zip"
        deterministic_zip(target, path)
    say(f"build: {path} ({path.stat().st_size / 1e6:.1f} MB, handler {LAMBDA_HANDLERS[role]})")
    return Artifact("lambda", name, _rel(path, dist), file_sha256(path), PLATFORMS[arch], LAMBDA_HANDLERS[role])


# ------------------------------------------------------------------------------ image context
def build_image_context(root: Path, dist: Path, say: Say) -> Artifact:
    folder = dist / IMAGE_CONTEXT
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy2(root / "Dockerfile", folder / "Dockerfile")
    for platform_tag in PLATFORMS.values():
        house = dist / "wheelhouse" / platform_tag
        shutil.copytree(house, folder / "wheelhouse" / platform_tag)
    say(f"build: {folder} (docker build {folder}; see docs/kubernetes.md)")
    return Artifact("image-context", "image", _rel(folder, dist), folder_sha256(folder), "any")


def _rel(path: Path, dist: Path) -> str:
    return path.relative_to(dist.parent).as_posix()


def build(kinds: list[str], dist: Path, root: Path = KIT_ROOT, say: Say = _quiet,
          archs: tuple[str, ...] | None = None) -> Manifest:
    """Build ``kinds`` (``wheel``, ``lambda``, ``image-context``) into ``dist``; write and return
    the manifest (artifacts of kinds not built this time are kept while their sources match).
    ``archs`` limits the wheelhouses to those architectures (the local fleet needs its host's
    only); the image context and the Lambda zips are always built for every architecture."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise BuildError(f"build {unknown[0]}: unknown artifact; build one of {', '.join(KINDS)} or all")
    source = source_sha256(root)
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mpic-build-") as tmp:
        runtime = runtime_wheel(root, Path(tmp), source)
        artifacts: list[Artifact] = []
        if "wheel" in kinds or "image-context" in kinds:
            houses = PLATFORMS if archs is None or "image-context" in kinds else [a for a in PLATFORMS if a in archs]
            artifacts += [build_wheelhouse(root, dist, runtime, arch, say) for arch in houses]
        if "lambda" in kinds:
            artifacts += [build_lambda(root, dist, runtime, arch, role, say)
                          for arch in PLATFORMS for role in LAMBDA_HANDLERS]
        if "image-context" in kinds:
            artifacts.append(build_image_context(root, dist, say))
    manifest = _merge(dist, source, artifacts)
    (dist / MANIFEST).write_text(_dump(manifest), encoding="utf-8")
    return manifest


def _merge(dist: Path, source: str, built: list[Artifact]) -> Manifest:
    old = load_manifest(dist)
    keep = []
    if old is not None and old.source_sha256 == source:
        names = {(a.kind, a.name) for a in built}
        keep = [a for a in old.artifacts if (a.kind, a.name) not in names and artifact_path(a, dist).exists()]
    every = sorted(keep + built, key=lambda a: (a.kind, a.name))
    return Manifest(source_sha256=source, artifacts=tuple(every))


def _dump(manifest: Manifest) -> str:
    return json.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n"
