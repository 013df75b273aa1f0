"""``dist/`` on this machine: where it is, what it holds, and whether it was built from these sources.

``source_sha256`` covers every file that goes into an artifact (:func:`source_files`): the runtime
package, the catalog it reads, its pinned dependency locks and the Dockerfile. The Pulumi program,
``mpic plan``, ``mpic up`` and the policy pack call :func:`require_artifacts` before anything is
deployed or started: a missing artifact, or one built from other sources than the working tree, is
refused with the build command as the fix. Read-only: this module builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

from config.errors import PlanError
from config.model import NAMESPACE, StackConfig
from plan.artifacts import (
    BUILD_COMMAND,
    MANIFEST,
    RUNTIME_FILES,
    Architecture,
    Artifact,
    Built,
    Manifest,
    artifact_path,
    build_kind,
    listing_sha256,
    needed,
)

KIT_ROOT = Path(__file__).resolve().parents[1]
DIST_ENV = "MPIC_DIST"
"""Environment variable naming another artifacts folder than ``<kit>/dist``."""


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


def machine_architecture() -> Architecture:
    """This machine's architecture in AWS's words (the local fleet runs its wheelhouse)."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def require_artifacts(fleet: StackConfig, root: Path = KIT_ROOT) -> Built:
    """The artifacts ``fleet`` deploys, built from this working tree; PlanError otherwise."""
    wanted = needed(fleet, machine_architecture())
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
                            f"{BUILD_COMMAND} (all artifacts) or {BUILD_COMMAND} {build_kind(kind)}.",
                            key=key, value=fleet.target, fix=f"run {BUILD_COMMAND}")
        found.append(artifact)
    return Built(dist, tuple(found))
