"""The runtime artifacts every target ships (``dist/``), and the check that they match the sources.

``./scripts/mpic build`` writes ``dist/manifest.json``::

    {"source_sha256": "...", "artifacts": [{"kind": "wheelhouse|lambda|image-context", "name": "...",
      "path": "dist/...", "sha256": "...", "platform": "linux_x86_64|linux_aarch64|any",
      "handler": "module.function (lambda only)"}]}

``source_sha256`` covers every file that goes into an artifact (:func:`source_files`): the
runtime package, the catalog it reads, its pinned dependency locks and the Dockerfile. The
Pulumi program, ``mpic plan``, ``mpic up`` and the policy pack call :func:`require_artifacts`
before anything is deployed or started: a missing artifact, or one built from other sources than
the working tree, is refused with the build command as the fix. This module reads the manifest
and hashes the sources (read-only file access, like the catalog); it builds nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any, Literal

from config.errors import PlanError
from config.model import NAMESPACE, StackConfig

KIT_ROOT = Path(__file__).resolve().parents[1]
DIST_ENV = "MPIC_DIST"
"""Environment variable naming another artifacts folder than ``<kit>/dist``."""
MANIFEST = "manifest.json"
BUILD_COMMAND = "./scripts/mpic build"
Architecture = Literal["x86_64", "arm64"]
PLATFORMS: dict[str, str] = {"x86_64": "linux_x86_64", "arm64": "linux_aarch64"}
"""Architecture (AWS's word) -> the wheel platform of the artifacts built for it."""
LAMBDA_HANDLERS: dict[str, str] = {
    "perspective": "service.lambda_handler.perspective_handler",
    "coordinator": "service.lambda_handler.coordinator_handler",
}
RUNTIME_FILES = ("config/__init__.py", "config/catalog.py", "config/regions.yaml", "Dockerfile", "pyproject.toml")
"""Files outside ``service/`` that the artifacts are built from."""
IMAGE_CONTEXT = "image"


@dataclasses.dataclass(frozen=True)
class Artifact:
    kind: str
    """``wheelhouse`` | ``lambda`` | ``image-context``."""
    name: str
    path: str
    """``dist/...``: relative to the folder that holds the artifacts folder (the kit root unless
    ``$MPIC_DIST`` moves it); a wheelhouse's and an image context's path is a folder."""
    sha256: str
    """Of the file; of a folder: of its sorted ``name sha256`` lines (:func:`folder_sha256`)."""
    platform: str
    handler: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "name": self.name, "path": self.path, "sha256": self.sha256,
               "platform": self.platform}
        if self.handler is not None:
            out["handler"] = self.handler
        return out


@dataclasses.dataclass(frozen=True)
class Manifest:
    source_sha256: str
    artifacts: tuple[Artifact, ...]

    def to_json(self) -> dict[str, Any]:
        return {"source_sha256": self.source_sha256, "artifacts": [a.to_json() for a in self.artifacts]}

    def find(self, kind: str, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind and a.name == name), None)


@dataclasses.dataclass(frozen=True)
class Built:
    """The artifacts a target deploys, as found in ``dist`` (:func:`require_artifacts`)."""

    dist: Path
    artifacts: tuple[Artifact, ...]

    def get(self, kind: str, name: str) -> Artifact:
        found = next((a for a in self.artifacts if a.kind == kind and a.name == name), None)
        if found is None:
            raise PlanError(f"{self.dist / MANIFEST}: no {kind} {name}; run {BUILD_COMMAND}.",
                            key=f"{NAMESPACE}:target", value=name, fix=f"run {BUILD_COMMAND}")
        return found

    def path(self, artifact: Artifact) -> Path:
        return artifact_path(artifact, self.dist)

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in self.artifacts]


def dist_dir(root: Path = KIT_ROOT) -> Path:
    """Where the artifacts are: ``$MPIC_DIST`` or ``<kit>/dist``."""
    return Path(os.environ.get(DIST_ENV) or root / "dist")


def source_files(root: Path = KIT_ROOT) -> list[Path]:
    """Every file the artifacts are built from, sorted (``service/`` without caches, plus
    :data:`RUNTIME_FILES`)."""
    files = [p for p in (root / "service").rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix not in (".pyc", ".pyo")]
    files += [root / f for f in RUNTIME_FILES]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listing_sha256(entries: list[tuple[str, str]]) -> str:
    """sha256 of sorted ``name sha256`` lines: the digest of a set of named files."""
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(entries))
    return hashlib.sha256(text.encode()).hexdigest()


def folder_sha256(folder: Path) -> str:
    """The digest of a folder's files (relative names and contents; timestamps do not count)."""
    return listing_sha256([(p.relative_to(folder).as_posix(), file_sha256(p))
                           for p in folder.rglob("*") if p.is_file()])


def source_sha256(root: Path = KIT_ROOT) -> str:
    """The digest of the working tree's runtime sources."""
    return listing_sha256([(p.relative_to(root).as_posix(), file_sha256(p)) for p in source_files(root)])


def load_manifest(dist: Path) -> Manifest | None:
    """``dist/manifest.json`` (None when there is none or it is unreadable)."""
    try:
        data = json.loads((dist / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(source_sha256=data["source_sha256"],
                        artifacts=tuple(Artifact(**a) for a in data["artifacts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def wheelhouse_name(platform_tag: str) -> str:
    return f"wheelhouse-{platform_tag}"


def lambda_name(role: str, arch: str) -> str:
    return f"mpic-{role}-{arch}"


def machine_architecture() -> Architecture:
    """This machine's architecture in AWS's words (the local fleet runs its wheelhouse)."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def needed(fleet: StackConfig) -> list[tuple[str, str]]:
    """``(kind, name)`` of every artifact the fleet's target deploys (aws-hosts: the hosts' wheelhouse
    and, for the canary function, the coordinator's Lambda zip)."""
    if fleet.target == "aws-hosts":
        canary = [("lambda", lambda_name("coordinator", fleet.aws.architecture))] if fleet.canary.enabled else []
        return [("wheelhouse", wheelhouse_name(PLATFORMS[fleet.aws.architecture]))] + canary
    if fleet.target == "aws-lambda":
        return [("lambda", lambda_name(role, fleet.aws.architecture)) for role in LAMBDA_HANDLERS]
    if fleet.target == "local":
        return [("wheelhouse", wheelhouse_name(PLATFORMS[machine_architecture()]))]
    return []  # k8s deploys the image named by mpic:k8s.image (built from the image context)


def require_artifacts(fleet: StackConfig, root: Path = KIT_ROOT) -> Built:
    """The artifacts ``fleet`` deploys, built from this working tree; PlanError otherwise."""
    wanted = needed(fleet)
    dist = dist_dir(root)
    if not wanted:
        return Built(dist, ())
    names = ", ".join(name for _, name in wanted)
    key = f"{NAMESPACE}:target"
    manifest = load_manifest(dist)
    if manifest is None:
        raise PlanError(f"{dist / MANIFEST}: missing; target {fleet.target} deploys the built runtime ({names}). "
                        f"Run {BUILD_COMMAND} first (it writes {dist}/ from this working tree).",
                        key=key, value=fleet.target, fix=f"run {BUILD_COMMAND}")
    current = source_sha256(root)
    if manifest.source_sha256 != current:
        raise PlanError(f"{dist / MANIFEST}: built from other sources (source_sha256 {manifest.source_sha256[:12]}) "
                        f"than this working tree ({current[:12]}); deploying it would ship another runtime than "
                        f"the one tested. Run {BUILD_COMMAND} again.", key=key, value=fleet.target,
                        fix=f"run {BUILD_COMMAND}")
    found = []
    for kind, name in wanted:
        artifact = manifest.find(kind, name)
        path = artifact_path(artifact, dist) if artifact is not None else None
        if artifact is None or path is None or not path.exists():
            why = f"target {fleet.target} deploys it"
            if fleet.target == "aws-hosts" and kind == "lambda":
                why += f" as the canary function; {NAMESPACE}:canary.enabled: false would not need it"
            raise PlanError(f"{dist / MANIFEST}: no {kind} {name} ({why}). Run "
                            f"{BUILD_COMMAND} (all artifacts) or {BUILD_COMMAND} {_build_kind(kind)}.",
                            key=key, value=fleet.target, fix=f"run {BUILD_COMMAND}")
        found.append(artifact)
    return Built(dist, tuple(found))


def _build_kind(kind: str) -> str:
    return {"wheelhouse": "wheel", "lambda": "lambda"}.get(kind, kind)


def artifact_path(artifact: Artifact, dist: Path) -> Path:
    """Where an artifact of the manifest in ``dist`` is on this machine."""
    return dist.parent / artifact.path
