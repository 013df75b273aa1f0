"""Least privilege in the fleet: the system users of :data:`plan.local.PROCESS_USERS`, file
ownership, and a process's privileges dropped to its user.

The runtime's user (``mpic``) and the lab's (``mpic-lab``) are system users without a home or a
shell, created on first use like the Debian packages create ``unbound``, ``knot``, ``haproxy`` and
``www-data``; ``down`` leaves them, as removing a package leaves its user. Light on imports: the
lab's daemons import it to drop their privileges.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path

from local.errors import FleetError


class UserError(FleetError):
    """A system user the fleet needs is missing and cannot be created."""


def ensure_users(create: tuple[str, ...], packaged: tuple[str, ...]) -> None:
    """Create the system users ``create`` when missing; UserError naming the package when one of
    ``packaged`` (created by a Debian package) is missing."""
    for name in create:
        try:
            pwd.getpwnam(name)
        except KeyError:
            res = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                  "--shell", "/usr/sbin/nologin", "--user-group", name],
                                 capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise UserError(f"cannot create the system user {name}: {res.stderr.strip()}") from None
    missing = sorted(set(packaged) - set(_existing()))
    if missing:
        raise UserError(f"system user(s) {', '.join(missing)} missing: the Debian packages of scripts/apt-packages.txt "
                         "create them (reinstall: apt-get install --reinstall unbound knot haproxy nginx)")


def _existing() -> list[str]:
    return [p.pw_name for p in pwd.getpwall()]


def ids(user: str) -> tuple[int, int]:
    """(uid, primary gid) of ``user``."""
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def own(path: Path | str, user: str, mode: int) -> None:
    """``path`` owned by ``user`` (and its group) with ``mode``."""
    uid, gid = ids(user)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def own_tree(path: Path, user: str) -> None:
    """``path`` and everything below it owned by ``user`` (modes unchanged)."""
    uid, gid = ids(user)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def setpriv(user: str, *, bind_low_ports: bool = False) -> list[str]:
    """The command prefix that runs a program as ``user`` (no supplementary groups, no new
    privileges); ``bind_low_ports``: with CAP_NET_BIND_SERVICE only (ports below 1024)."""
    argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    if bind_low_ports:
        argv += ["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service"]
    else:
        argv.append("--no-new-privs")
    return argv + ["--"]


def drop_to(user: str) -> None:
    """Drop this process's privileges to ``user`` for good (after it bound its ports)."""
    if os.geteuid() != 0:
        return
    uid, gid = ids(user)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def user_of(pid: int) -> str | None:
    """The real user of process ``pid`` (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                try:
                    return pwd.getpwuid(uid).pw_name
                except KeyError:
                    return str(uid)
    except OSError:
        return None
    return None


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
