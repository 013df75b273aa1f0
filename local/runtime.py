"""The runtime the local fleet runs: the built wheelhouse installed into a virtualenv of its own.

Exactly what an aws-hosts host does at boot (``pip install --no-index --require-hashes`` from the
wheelhouse of ``./scripts/mpic build``), not the source tree: the fleet proves the artifact a
cloud stack deploys. One virtualenv per wheelhouse digest, under ``dist/local-runtime/``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from local.proc import run
from local.supervisor import Progress
from plan.artifacts import Built

STAMP = ".wheelhouse-sha256"


def runtime_python(built: Built, say: Progress) -> Path:
    """The interpreter of the installed runtime (installed first when missing or outdated)."""
    house = built.artifacts[0]
    folder = built.path(house)
    venv = built.dist / "local-runtime" / house.sha256[:16]
    python = venv / "bin" / "python"
    if python.exists() and (venv / STAMP).exists() and (venv / STAMP).read_text().strip() == house.sha256:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    say(f"runtime: installing {house.name} ({house.sha256[:16]}) into {venv} (--no-index --require-hashes)")
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
         "--require-hashes", "--find-links", str(folder), "-r", str(folder / "requirements.txt")], timeout=600)
    (venv / STAMP).write_text(house.sha256 + "\n")
    return python
