"""The runtime the local fleet runs: the built wheelhouse installed into a virtualenv of its own.

Exactly what an aws-hosts host does at boot (the system's Python 3.11, ``python3.11 -m venv``, then
``pip install --no-index --require-hashes`` from the wheelhouse of ``./scripts/mpic build``), not
the source tree: the fleet proves the artifact a cloud stack deploys, run by the same user
(``mpic``). One virtualenv per wheelhouse digest, under :func:`runtime_root`
(``/var/lib/mpic-fleet/runtime``; ``MPIC_FLEET_LIB`` moves ``/var/lib/mpic-fleet``): root's,
readable by all, outside the kit's folder (which may sit in a home directory the runtime's user
cannot enter).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from local.engine.proc import run
from local.engine.state import lib_root
from local.engine.supervisor import Progress
from plan.artifacts import Built

STAMP = ".wheelhouse-sha256"
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
"""The base interpreter, as on a host (Debian's python3.11); the kit's own virtualenv may live
where the runtime's user cannot read it."""


def runtime_root() -> Path:
    return lib_root() / "runtime"


def runtime_python(built: Built, say: Progress) -> Path:
    """The interpreter of the installed runtime (installed first when missing or outdated)."""
    house = built.artifacts[0]
    folder = built.path(house)
    venv = runtime_root() / house.sha256[:16]
    python = venv / "bin" / "python"
    if python.exists() and (venv / STAMP).exists() and (venv / STAMP).read_text().strip() == house.sha256:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    for parent in (venv.parent, venv.parent.parent):
        os.chmod(parent, 0o755)
    base = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(sys.executable)
    say(f"runtime: installing {house.name} ({house.sha256[:16]}) into {venv} with {base} "
        "(--no-index --require-hashes)")
    run([str(base), "-m", "venv", str(venv)], timeout=120, kit_path=False)
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
         "--require-hashes", "--find-links", str(folder), "-r", str(folder / "requirements.txt")], timeout=600,
        kit_path=False)
    (venv / STAMP).write_text(house.sha256 + "\n")
    return python
