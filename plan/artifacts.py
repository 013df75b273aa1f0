"""The runtime artifacts every target ships (``dist/``): what they are called and which a target needs.

``./scripts/mpic build`` writes ``dist/manifest.json``::

    {"source_sha256": "...", "artifacts": [{"kind": "wheelhouse|lambda|image-context", "name": "...",
      "path": "dist/...", "sha256": "...", "platform": "linux_x86_64|linux_aarch64|any",
      "handler": "module.function (lambda only)"}]}

Pure: the names, the records and the choice of artifacts per target. Reading ``dist/`` and hashing
the sources is :mod:`artifacts.dist` (``require_artifacts``); building is :mod:`artifacts.builder`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, Literal

from config.errors import PlanError
from config.model import NAMESPACE, StackConfig

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
    ``$MPIC_DIST`` moves it: :func:`artifacts.dist.dist_dir`); a wheelhouse's and an image context's path is a folder."""
    sha256: str
    """Of the file; of a folder: of its sorted ``name sha256`` lines (:func:`listing_sha256`)."""
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
    """The artifacts a target deploys, as found in ``dist`` (:func:`artifacts.dist.require_artifacts`)."""

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


def listing_sha256(entries: list[tuple[str, str]]) -> str:
    """sha256 of sorted ``name sha256`` lines: the digest of a set of named files."""
    text = "".join(f"{name} {digest}\n" for name, digest in sorted(entries))
    return hashlib.sha256(text.encode()).hexdigest()


def wheelhouse_name(platform_tag: str) -> str:
    return f"wheelhouse-{platform_tag}"


def lambda_name(role: str, arch: str) -> str:
    return f"mpic-{role}-{arch}"


def needed(fleet: StackConfig, host: Architecture) -> list[tuple[str, str]]:
    """``(kind, name)`` of every artifact the fleet's target deploys (aws-hosts: the hosts' wheelhouse
    and, for the canary function, the coordinator's Lambda zip; the local fleet: the wheelhouse of
    the ``host`` machine's architecture; k8s: the image context its image is built from)."""
    if fleet.target == "aws-hosts":
        canary = [("lambda", lambda_name("coordinator", fleet.aws.architecture))] if fleet.canary.enabled else []
        return [("wheelhouse", wheelhouse_name(PLATFORMS[fleet.aws.architecture]))] + canary
    if fleet.target == "aws-lambda":
        return [("lambda", lambda_name(role, fleet.aws.architecture)) for role in LAMBDA_HANDLERS]
    if fleet.target == "local":
        return [("wheelhouse", wheelhouse_name(PLATFORMS[host]))]
    # k8s deploys the image named by mpic:k8s.image: the image context it is pushed from is this tree's
    return [("image-context", IMAGE_CONTEXT)]


def build_kind(kind: str) -> str:
    """The ``mpic build`` argument that builds artifacts of ``kind``."""
    return {"wheelhouse": "wheel", "lambda": "lambda"}.get(kind, kind)


def artifact_path(artifact: Artifact, dist: Path) -> Path:
    """Where an artifact of the manifest in ``dist`` is on this machine."""
    return dist.parent / artifact.path
