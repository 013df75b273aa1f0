"""Pod-level smoke checks of a deployed k8s stack, over testinfra's kubectl backend.

Opt-in: ``MPIC_SMOKE_STACK=<k8s stack>`` (what ``./scripts/mpic smoke k8s`` sets), with
``pulumi`` and ``kubectl`` on PATH and the stack's contexts in the kubeconfig. The stack outputs
(``hosts[].kubectl``: context, namespace, label selector, container) say where the pods are;
each pod is reached as ``kubectl://POD?context=..&namespace=..&container=..``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from typing import Any

import pytest
import testinfra

SMOKE_STACK = os.environ.get("MPIC_SMOKE_STACK", "local")
pytestmark = pytest.mark.skipif(SMOKE_STACK == "local", reason="k8s pod checks run against a deployed k8s stack "
                                                               "(./scripts/mpic smoke STACK)")

PY_GETADDRINFO = "import socket; print(socket.getaddrinfo('example.com', 443)[0][4][0])"


@pytest.fixture(scope="module")
def status() -> dict[str, Any]:
    from tests.smoke.conftest import deployed_status

    st = deployed_status(SMOKE_STACK)
    if "k8s_clusters" not in st:
        pytest.skip(f"stack {SMOKE_STACK} is not a k8s stack")
    return st


def kubectl(where: dict[str, Any], *args: str) -> str:
    ctx = ["--context", where["context"]] if where.get("context") else []
    res = subprocess.run(["kubectl", *ctx, "-n", where["namespace"], *args], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def pods(entry: dict[str, Any]) -> list[dict[str, Any]]:
    out = json.loads(kubectl(entry["kubectl"], "get", "pods", "-l", entry["kubectl"]["selector"], "-o", "json"))
    return out["items"]


def host(entry: dict[str, Any], pod: str, container: str):
    k = entry["kubectl"]
    spec = f"kubectl://{pod}?namespace={k['namespace']}&container={container}"
    if k.get("context"):
        spec += f"&context={k['context']}"
    return testinfra.get_host(spec)


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def perspectives(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [h for h in status["hosts"] if h["role"] == "perspective"]


def test_every_workload_runs_two_ready_pods_on_distinct_nodes(status):
    for entry in status["hosts"]:
        items = [p for p in pods(entry) if _ready(p)]
        assert len(items) >= 2, f"{entry['name']}: {len(items)} ready pods"
        assert len({p["spec"]["nodeName"] for p in items}) >= 2, f"{entry['name']}: replicas share a node"


def test_containers_are_non_root_with_a_read_only_root(status):
    for entry in status["hosts"]:
        pod = pods(entry)[0]["metadata"]["name"]
        h = host(entry, pod, entry["kubectl"]["container"])
        assert h.check_output("id -u") == "10001"
        assert h.run("touch /smoke-write-test").rc != 0, f"{entry['name']}: root filesystem is writable"


def test_each_perspective_pod_resolves_through_its_own_unbound(status):
    for entry in perspectives(status):
        for item in pods(entry):
            pod = item["metadata"]["name"]
            persp = host(entry, pod, "perspective")
            assert persp.file("/etc/resolv.conf").content_string.split("nameserver")[1].split()[0] == "127.0.0.1"
            assert persp.run(f"python -c {shlex.quote(PY_GETADDRINFO)}").rc == 0
            resolver = host(entry, pod, "resolver")
            assert resolver.file("/proc/1/comm").content_string.strip() == "unbound", f"{pod}: no Unbound sidecar"


def test_perspectives_accept_only_the_coordinators_certificate(status):
    coordinator = next(h for h in status["hosts"] if h["role"] == "coordinator")
    pod = next(p for p in pods(coordinator) if _ready(p))["metadata"]["name"]
    coord = host(coordinator, pod, "coordinator")
    d = "/etc/mpic/client-tls"
    for p in status["perspectives"]:
        with_cert = ("import ssl,urllib.request as u;c=ssl.create_default_context(cafile='%s/ca.crt');"
                     "c.load_cert_chain('%s/tls.crt','%s/tls.key');"
                     "print(u.urlopen('%s/healthz',context=c,timeout=10).status)" % (d, d, d, p["url"]))
        without = ("import ssl,urllib.request as u;c=ssl.create_default_context(cafile='%s/ca.crt');"
                   "u.urlopen('%s/healthz',context=c,timeout=10)" % (d, p["url"]))
        assert coord.check_output(f"python -c {shlex.quote(with_cert)}") == "200", p["code"]
        assert coord.run(f"python -c {shlex.quote(without)}").rc != 0, f"{p['code']}: answered without a client cert"
