"""Where the local fleet's audit records live: a persistent folder per stack, one file per writer.

``/var/lib/mpic-fleet/<stack>/audit/<site>--<replica>.jsonl`` (``MPIC_FLEET_LIB`` moves
``/var/lib/mpic-fleet``): outside the run directory, so ``down`` keeps them and the next ``up``
continues each writer's file with a new chain linked to the last line (service.audit); only
``down --purge`` removes them. The folder is root's alone (0700); each runtime process sees its
own file, and only its own, through its private view (:mod:`local.engine.private`), where the file is
mounted at ``<workdir>/private/audit.jsonl``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from local.engine import private
from local.engine.state import State, lib_root
from local.engine.users import own
from plan.privileges import RUNTIME_USER
from service.audit import writer_name

VIEW_NAME = "audit.jsonl"


def folder(stack: str) -> Path:
    """The stack's audit folder (created root-only)."""
    path = lib_root() / stack / "audit"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def writer_file(stack: str, site: str, replica: str) -> Path:
    """The file of one writer, created for the runtime's user to append to."""
    path = folder(stack) / f"{writer_name(site, replica)}.jsonl"
    path.touch(exist_ok=True)
    own(path, RUNTIME_USER, 0o640)
    return path


def placement(state: State, process: str, site: str, replica: str) -> tuple[dict[str, str], tuple[Path, str]]:
    """The audit settings of runtime process ``process`` (its file as it sees it, site, replica)
    and the bind that puts its writer file there (for :func:`local.engine.private.prefix`)."""
    view = private.place(state, process, VIEW_NAME, RUNTIME_USER, 0o640, text="")  # the mount point
    return ({"audit_log": view, "audit_site": site, "audit_replica": replica},
            (writer_file(state.stack, site, replica), VIEW_NAME))


def files(stack: str) -> list[Path]:
    """Every writer file of ``stack``."""
    path = lib_root() / stack / "audit"
    return sorted(path.glob("*.jsonl")) if path.is_dir() else []


def stacks() -> list[str]:
    """The stacks that have audit records on this machine."""
    root = lib_root()
    return sorted(p.parent.name for p in root.glob("*/audit") if p.is_dir()) if root.is_dir() else []


def purge(stack: str) -> int:
    """Remove the stack's audit folder (``down --purge``); the number of files removed."""
    removed = len(files(stack))
    shutil.rmtree(lib_root() / stack, ignore_errors=True)
    return removed
