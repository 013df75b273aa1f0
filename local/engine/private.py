"""Each runtime process's own files, visible to it alone, as on a host of its own.

The fleet's processes share one filesystem and the runtime's processes one user (``mpic``, as on
every cloud host), so a file's mode cannot keep a perspective from reading another region's key,
the coordinator's client key or its API keys. Each runtime process therefore gets a folder of its
own, ``<workdir>/private/<name>/``, below ``<workdir>/private/`` (root's alone, 0700), and starts in
a mount namespace of its own where its folder is mounted over ``<workdir>/private``: it finds its
files at the same paths as every other process (``<workdir>/private/tls.key``...) and sees no one
else's. Root's tools read the folders directly.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from local.engine.state import State
from local.engine.users import own


def root(state: State) -> Path:
    """``<workdir>/private``: the shared path every runtime process sees its own folder at."""
    path = state.workdir / "private"
    path.mkdir(exist_ok=True)
    os.chmod(path, 0o700)
    return path


def folder(state: State, name: str) -> Path:
    """The folder of process ``name`` as root sees it (created 0755: its process must enter it)."""
    path = root(state) / re.sub(r"[^A-Za-z0-9._-]", "_", name)
    path.mkdir(exist_ok=True)
    os.chmod(path, 0o755)
    return path


def place(state: State, name: str, filename: str, owner: str, mode: int, *, source: Path | str | None = None,
          text: str | None = None) -> str:
    """Put ``filename`` in process ``name``'s folder (a copy of ``source``, or ``text``), owned by
    ``owner`` with ``mode``; return the path the process sees it at."""
    path = folder(state, name) / filename
    if source is not None:
        shutil.copyfile(source, path)
    else:
        path.write_text(text or "")
    own(path, owner, mode)
    return str(root(state) / filename)


def prefix(state: State, name: str, binds: tuple[tuple[Path, str], ...] = ()) -> list[str]:
    """The command prefix that starts a program in a mount namespace where process ``name``'s
    folder is mounted over ``<workdir>/private`` (then the program, e.g. ``setpriv ... python``).
    ``binds``: further files mounted over files of its folder, ``(source, name in the folder)``
    (its audit file: :mod:`local.roles.audit`)."""
    view = root(state)
    mounts = [str(folder(state, name)), str(view)]
    for source, target in binds:
        mounts += [str(source), str(view / target)]
    script = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "mpic-private", *mounts, "--"]
