"""``scripts/mpic``: Debian packages only for the commands that run the local fleet; ``--version``."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def fake_root(tmp_path):
    """A PATH where we are root, no Debian package is installed and apt-get only records its calls,
    and a virtualenv whose python only echoes: nothing of the local fleet ever runs."""
    bin_dir, log, venv = tmp_path / "bin", tmp_path / "apt.log", tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    (venv / "bin" / "python").write_text("#!/bin/sh\necho ran \"$@\"\n")
    for tool in [*bin_dir.iterdir(), venv / "bin" / "python"]:
        tool.chmod(0o755)
    (venv / ".lock.sha256").write_text(hashlib.sha256((KIT / "requirements.lock").read_bytes()).hexdigest() + "\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "MPIC_VENV": str(venv)}

    def run(*args: str) -> tuple[subprocess.CompletedProcess, str]:
        log.unlink(missing_ok=True)
        done = subprocess.run([str(KIT / "scripts" / "mpic"), *args], capture_output=True, text=True, env=env,
                              timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("ran -m cli"), done.stderr
        return done, log.read_text() if log.exists() else ""
    return run


@pytest.mark.parametrize("args", [["check", "--help"], ["suggest", "--help"], ["plan", "--help"], ["--version"],
                                  ["--help"], ["smoke", "aws-hosts", "--help"], ["status", "--help"]])
def test_commands_that_do_not_run_the_local_fleet_install_no_debian_package(fake_root, args):
    _, apt = fake_root(*args)
    assert apt == "", f"{args} ran apt-get: {apt}"


@pytest.mark.parametrize("args", [["status"], ["down", "nothing-up"], ["smoke"], ["smoke", "local"]])
def test_local_fleet_commands_install_the_debian_packages(fake_root, args):
    _, apt = fake_root(*args)
    assert "install" in apt and "knot" in apt and "haproxy" in apt


def test_the_shell_decides_smoke_by_the_stack_target(tmp_path):
    local = tmp_path / "Pulumi.mine.yaml"
    local.write_text("config:\n  mpic:perspectives: [us-west-2, eu-west-1]\n")
    deployed = tmp_path / "Pulumi.cloud.yaml"
    deployed.write_text("config:\n  mpic:target: 'aws-lambda'\n")
    probe = ("set +e; KIT_ROOT=" + str(KIT) + "; eval \"$(sed -n '/^mpic_needs_apt()/,/^}/p;/^mpic_stack_is_local()/,/^}/p' "
             f"{KIT / 'scripts' / 'mpic'})\"; for s in {local} {deployed} aws-hosts local no-such-stack; do "
             "mpic_needs_apt smoke $s && echo yes || echo no; done")
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30).stdout.split()
    assert out == ["yes", "no", "no", "yes", "no"]


def test_version_names_the_kit_and_open_mpic_core():
    done = subprocess.run([str(KIT / "scripts" / "mpic"), "--version"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0 and done.stdout.strip() == "mpic-fleet 0.1.0 (open-mpic-core 6.5.0)"


def test_paths_on_the_command_line_are_relative_to_the_caller(tmp_path):
    """The README quick start from another folder: a stack file, a map and a usage file given by
    relative paths are read and written where the operator stands, never in the kit."""
    (tmp_path / "stack.yaml").write_text((KIT / "stacks" / "Pulumi.aws-hosts.yaml").read_text())
    (tmp_path / "usage.yaml").write_text("validations_per_month: 2000000\n")
    env = {**os.environ, "PYTHONPATH": ""}

    def mpic(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(KIT / "scripts" / "mpic"), *args], capture_output=True, text=True, timeout=300,
                              cwd=tmp_path, env=env)

    checked = mpic("check", "./stack.yaml", "--json")
    assert checked.returncode == 0 and '"compliant": true' in checked.stdout, checked.stderr
    drawn = mpic("suggest", "--primary", "us-east-1", "--map", "out.png")
    assert drawn.returncode == 0 and (tmp_path / "out.png").stat().st_size > 0 and not (KIT / "out.png").exists()
    priced = mpic("suggest", "--primary", "us-east-1", "--target", "aws-hosts", "--usage", "usage.yaml", "--json")
    assert priced.returncode == 0, priced.stderr


def test_only_the_packages_dpkg_does_not_show_installed_are_installed(fake_root, tmp_path):
    """One dpkg-query for the whole list: a package removed (config files left) or unknown is
    installed, every other one is left alone."""
    (tmp_path / "bin" / "dpkg-query").write_text(
        "#!/bin/sh\nshift 2\nfor p in \"$@\"; do case $p in\n"
        "  haproxy) echo \"$p deinstall ok config-files\" ;;\n  jq) echo \"no packages found matching $p\" >&2 ;;\n"
        "  *) echo \"$p install ok installed\" ;;\nesac; done\nexit 1\n")
    _, apt = fake_root("status")
    assert apt.split("\n")[-2].split()[-2:] == ["haproxy", "jq"], apt
