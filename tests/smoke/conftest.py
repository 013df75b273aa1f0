"""Smoke suite plumbing: one suite, two kinds of target.

- ``MPIC_SMOKE_STACK=local`` (default; ``./scripts/mpic smoke local``): the local fleet, started
  once per session if it is not up (the same code as ``mpic up``), hosts reached with a small
  testinfra backend that runs commands inside network namespaces (``netns://NS``).
- any other stack: a deployed fleet; addresses and secrets come from
  ``pulumi stack output --json --show-secrets`` (the same keys as ``mpic status --json``), hosts
  over SSH/SSM/kubectl (each host's ``connection`` output, default ``ssh://ADDRESS``), and
  challenges are written to the test domain's Route53 zone with boto3.

Everything the tests need comes from the status object, never from the planner, so the same
tests run against a deployed stack.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import ssl
from pathlib import Path
from typing import Any

import pytest
import testinfra
import testinfra.backend
from testinfra.backend import base


class NetnsBackend(base.BaseBackend):
    """testinfra over ``ip netns exec NS /bin/sh -c CMD`` (``netns://NS``)."""

    NAME = "netns"

    def __init__(self, hostname: str, *args: Any, **kwargs: Any):
        self.netns = hostname
        super().__init__(hostname, **kwargs)

    def get_pytest_id(self) -> str:
        return f"netns://{self.netns}"

    @classmethod
    def get_hosts(cls, host: str, **kwargs: Any) -> list[str]:
        return [host]

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        return self.run_local("ip netns exec %s /bin/sh -c %s", self.netns, cmd)


testinfra.backend.BACKENDS["netns"] = f"{__name__}.NetnsBackend"

SMOKE_STACK = os.environ.get("MPIC_SMOKE_STACK", "local")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_only: needs the local fleet (namespaces, Knot, fault injection)")


class Target:
    """A running fleet as the smoke tests see it."""

    def __init__(self, kind: str, status: dict[str, Any], challenges: Any):
        self.kind = kind
        self.status = status
        self.challenges = challenges
        self.url = status["coordinator_url"].rstrip("/")
        self.api_key = status["api_key"]
        self.ca = status.get("ca_cert") or ""
        self.test_domain = status["test_domain"]
        self._hosts: dict[str, Any] = {}

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def hosts(self, role: str | None = None) -> list[dict[str, Any]]:
        return [h for h in self.status.get("hosts", []) if role is None or h["role"] == role]

    def host(self, entry: dict[str, Any]):
        key = entry["name"]
        if key not in self._hosts:
            spec = f"netns://{entry['netns']}" if self.is_local else entry.get("connection", f"ssh://{entry['address']}")
            self._hosts[key] = testinfra.get_host(spec)
        return self._hosts[key]

    def processes(self, entry: dict[str, Any]) -> list[tuple[int, str]]:
        """(pid, comm) of the processes of one host (in a namespace: only that namespace's)."""
        host = self.host(entry)
        if self.is_local:
            pids = host.backend.run_local("ip netns pids %s", entry["netns"]).stdout.split()
            out = []
            for pid in pids:
                try:
                    out.append((int(pid), Path(f"/proc/{pid}/comm").read_text().strip()))
                except OSError:
                    pass
            return out
        return [(p.pid, p.comm) for p in host.process.filter()]

    def request(self, path: str, body: Any = None, *, api_key: str | None | bool = True, bearer: bool = False,
                raw: bytes | None = None, timeout: float = 30) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        key = self.api_key if api_key is True else (api_key or None)
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization" if bearer else "x-api-key"] = f"Bearer {key}" if bearer else key
        if self.status.get("client_resolver"):  # a failed-over name in the fleet's own DNS
            from local.actions.client import api_request
            return api_request(self.url, self.ca, "POST" if data is not None else "GET", data, timeout=timeout,
                               path=path, resolver=self.status["client_resolver"], headers=headers)
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET",
                                     headers=headers)
        ctx = ssl.create_default_context(cafile=self.ca or None)  # deployed APIs may use a public CA
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(req, timeout=timeout) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        try:
            return status, json.loads(payload)
        except ValueError:
            return status, payload.decode(errors="replace")

    @property
    def auth_failure_status(self) -> int:
        return int(self.status.get("auth_failure_status", 401))

    @property
    def api_paths(self) -> list[str]:
        return list(self.status.get("api_paths") or ["/v1/mpic"])

    def mpic(self, body: dict, path: str = "/v1/mpic", **kw: Any) -> dict:
        status, resp = self.request(path, body, **kw)
        assert status == 200, f"{path} -> HTTP {status}: {resp}"
        return resp


class LocalChallenges:
    """``mpic challenge`` as a Python API (:mod:`local.actions.challenges`, bound to the fleet's stack):
    ``set_txt``, ``set_caa``, ``set_persistent``, ``set_tls_alpn``, ``load_zone``, ``clear``, ..."""

    def __init__(self, stack: str):
        from local.actions import challenges
        self.c = challenges
        self.stack = stack

    def __getattr__(self, name: str) -> Any:
        if name not in self.c.__all__:
            raise AttributeError(name)
        return functools.partial(getattr(self.c, name), self.stack)


def deployed_status(stack: str) -> dict[str, Any]:
    """``pulumi stack output --json --show-secrets``: the keys of ``mpic status --json``."""
    res = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "-s", stack],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        pytest.fail(f"pulumi stack output -s {stack}: {res.stderr.strip()}")
    out = json.loads(res.stdout)
    ca = out.get("ca_cert", "")
    if ca.startswith("-----BEGIN"):
        path = Path(tempfile.mkdtemp(prefix="mpic-smoke-")) / "ca.crt"
        path.write_text(ca)
        out["ca_cert"] = str(path)
    return out


def local_stack(stack: str) -> str | None:
    """The local fleet's stack name when ``stack`` (a name in stacks/ or a path) has target local."""
    from config.errors import ConfigError
    from config.stackfile import load_stack

    try:
        cfg = load_stack(stack)
    except ConfigError:
        return None
    return cfg.name if cfg.target == "local" else None


@pytest.fixture(scope="session")
def target():
    local = local_stack(SMOKE_STACK)
    if local is not None:
        from tests import fleetsession as testing
        reason = testing.skip_reason()
        if reason:
            pytest.skip(f"local fleet smoke tests: {reason}")
        status = testing.acquire(SMOKE_STACK)
        try:
            yield Target("local", status, LocalChallenges(status["stack"]))
        finally:
            testing.release()
    else:
        from tests.smoke.route53 import Route53Challenges
        status = deployed_status(SMOKE_STACK)
        writer = Route53Challenges.for_domain(status["test_domain"])
        try:
            yield Target("deployed", status, writer)
        finally:
            writer.clear()


@pytest.fixture
def local_target(target):
    if not target.is_local:
        pytest.skip("local fleet only (namespaces, Knot, nginx)")
    return target


def unique(prefix: str) -> str:
    """A label no resolver has cached yet."""
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


NOT_AWAITED = "mpic_error:coordinator:early_quorum_cancelled"
"""The error of a cohort perspective the coordinator stopped waiting for (early quorum)."""


def passed(resp: dict) -> dict[str, bool]:
    return {p["perspective_code"]: p["check_response"]["check_passed"] for p in resp["perspectives"]}


def corroborated(target: Target, resp: dict) -> None:
    """What holds on any correct deployment, early quorum on or off: valid; at least the quorum of
    the cohort passed, spanning >= 2 RIRs; every other perspective of the cohort was not awaited
    (early quorum) and says so."""
    assert resp["is_valid"] is True, json.dumps(resp)[:1500]
    rir = {p["code"]: p["rir"] for p in target.status["perspectives"]}
    ok = passed(resp)
    assert set(ok) <= set(rir), ok
    quorum = resp["actual_orchestration_parameters"]["quorum_count"]
    winners = [code for code, good in ok.items() if good]
    assert len(winners) >= quorum and len({rir[c] for c in winners}) >= 2, (quorum, ok)
    for p in resp["perspectives"]:
        if not p["check_response"]["check_passed"]:
            errors = [e["error_type"] for e in p["check_response"].get("errors") or []]
            assert errors == [NOT_AWAITED] and p["check_response"]["check_completed"] is False, p


def answered(resp: dict) -> list[dict]:
    """The check responses of the perspectives that were awaited (not cancelled by early quorum)."""
    return [p["check_response"] for p in resp["perspectives"]
            if [e["error_type"] for e in p["check_response"].get("errors") or []] != [NOT_AWAITED]]


def refused(resp: dict, *, seen: str | None = None, completed: bool = True) -> list[dict]:
    """Not valid and no perspective passed. ``completed``: the awaited perspectives finished the
    check (the target answered; the failure is the method's verdict, not a lookup error);
    ``seen``: each of them saw that record value, so the record was there and did not match."""
    assert resp["is_valid"] is False, json.dumps(resp)[:1500]
    assert not any(passed(resp).values()), passed(resp)
    awaited = answered(resp)
    assert awaited, resp
    for r in awaited:
        assert r["check_completed"] is completed, r
        if seen is not None:
            assert seen in (r["details"].get("records_seen") or []), r
    return awaited
