"""bench.loopback.stop_all: every process the bench started is gone when it returns or raises,
a Ctrl-C while waiting included."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.loopback import stop_all

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"


def spawn(code: str = "import time; time.sleep(60)") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_sigterm_stops_them_and_a_stubborn_one_is_killed() -> None:
    stubborn = spawn(STUBBORN)
    assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
    polite, done = spawn(), spawn("pass")
    done.wait()
    stop_all([polite, stubborn, done], timeout=0.5)
    assert polite.returncode == -15  # SIGTERM
    assert stubborn.returncode == -9  # ignored SIGTERM: SIGKILL after the timeout
    assert done.returncode == 0


def test_an_interrupt_while_waiting_kills_the_rest_and_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    stubborn = spawn(STUBBORN)
    assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
    first, last = spawn(), spawn()

    def interrupted(timeout: float | None = None) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(first, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        stop_all([first, stubborn, last], timeout=30)
    monkeypatch.undo()
    for proc in (first, stubborn, last):
        assert proc.wait(timeout=5) in (-9, -15)
    assert stubborn.returncode == -9
