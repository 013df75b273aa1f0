"""The runtime ``mpic bench`` measures on loopback: the BUILT wheelhouse, installed as the local fleet
installs it (:func:`local.engine.runtime.runtime_python`), five perspectives (one per RIR) and
coordinators as separate ``python -m service`` processes, Knot serving the test zone, real mTLS.

Four coordinators share the five perspectives: ``healthy`` and ``spare`` (the five), ``hung`` (the
AFRINIC perspective replaced by a TLS peer that accepts and never answers) and ``partitioned``
(replaced by a peer whose packets are dropped: :class:`bench.loopback.PartitionedPeer`). All of
it listens on a fresh 127.A.B.0/24; every process is stopped by PID when the run ends.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from bench.load import BenchError, Target
from config.model import StackConfig
from bench.loopback import pick_prefix, start_knot, stop_all, wait_port
from local.pki import LocalCa
from local.engine.proc import KIT_ROOT, clean_env
from local.engine.runtime import runtime_python
from plan import runtime
from plan.artifacts import Built
from plan.pki import COORDINATOR_CLIENT_NAME, perspective_cert_name

PERSPECTIVES = ("us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1")
"""Five perspectives in five RIRs (ARIN, RIPE NCC, APNIC, LACNIC, AFRINIC): quorum 4 of 5."""
FAULTY = "af-south-1"
"""The perspective the hung and partitioned coordinators reach through a faulty peer instead."""
PERSPECTIVE_PORT = 8443
COORDINATOR_HOST = 30
COORDINATORS = {"healthy": 8080, "spare": 8083, "hung": 8081, "partitioned": 8082}
INTERNAL_OFFSET = 1000
HUNG_HOST, PARTITIONED_HOST = 20, 21
API_KEY = "mpic-bench-key"
BR_AS_OF = "2026-12-15"
"""Five remote perspectives are the BR 3.2.2.9 minimum from this date on."""
CAA_DOMAINS = ["ca.mpic.test"]
BODIES: dict[str, dict[str, Any]] = {
    "caa": {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
    "dns-change": {"check_type": "dcv", "domain_or_ip_target": "dcv.mpic.test", "dcv_check_parameters": {
        "validation_method": "dns-change", "dns_name_prefix": "_dnsauth", "dns_record_type": "TXT",
        "challenge_value": "challenge-txt-0123456789abcdef"}},
}
"""One request per method, each answered ``is_valid: true`` by the test zone."""


@dataclass
class LoopbackRuntime:
    """The started runtime: where to send requests and which PIDs belong to which role."""

    prefix: str
    workdir: Path
    python: Path
    procs: dict[str, subprocess.Popen[Any]] = field(default_factory=dict)

    def target(self, coordinator: str = "healthy") -> Target:
        return Target(f"http://{self.prefix}.{COORDINATOR_HOST}:{COORDINATORS[coordinator]}", API_KEY)

    def roles(self, coordinator: str = "healthy") -> dict[str, list[int]]:
        """``coordinator``, ``perspectives`` (the five runtime processes) and ``dns`` (Knot)."""
        return {"coordinator": [self.procs[f"coordinator-{coordinator}"].pid],
                "perspectives": [self.procs[code].pid for code in PERSPECTIVES],
                "dns": [self.procs["knotd"].pid]}

    def audit_lines(self, name: str) -> int:
        path = self.workdir / f"audit-{name}.jsonl"
        return sum(1 for _ in path.open()) if path.exists() else 0


def _settings_file(workdir: Path, name: str, settings: dict[str, Any]) -> Path:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _spawn(run: LoopbackRuntime, name: str, role: str, settings: dict[str, Any]) -> subprocess.Popen[Any]:
    path = _settings_file(run.workdir, name, settings)
    with open(run.workdir / f"{name}.log", "w") as log:
        proc = subprocess.Popen([str(run.python), "-m", "service", role, "--settings", str(path)],
                                cwd=run.workdir, env=clean_env(kit_path=False), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log)
    run.procs[name] = proc
    return proc


def _peer(run: LoopbackRuntime, kind: str, host: str, *files: Path) -> None:
    """A faulty perspective (bench.loopback) in a process of its own: its TLS handshakes must not
    take the CPU of the process that times the requests."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.loopback", kind, host, str(PERSPECTIVE_PORT),
                             *map(str, files)], cwd=KIT_ROOT, env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    run.procs[f"peer-{kind}"] = proc
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise BenchError(f"the {kind} perspective peer on {host} did not start")


def _wait(run: LoopbackRuntime, name: str, host: str, port: int) -> None:
    try:
        wait_port(host, port, timeout=60, proc=run.procs[name])
    except RuntimeError as exc:
        log = (run.workdir / f"{name}.log").read_text(errors="replace")[-2000:]
        raise BenchError(f"{name}: {exc}\n{log}") from None


def bench_fleet() -> StackConfig:
    """The bench's stack: the five perspectives, every request on all five (BR 3.2.2.9's minimum
    from :data:`BR_AS_OF` on), a 5 s perspective timeout; the runtime's defaults for the rest."""
    return StackConfig.from_config({"perspectives": list(PERSPECTIVES), "perspectiveTimeoutMs": 5000}, name="bench")


def bench_perspective_settings(run: LoopbackRuntime, fleet: StackConfig, code: str, ip: str, ca: LocalCa,
                               knot_addr: str, knot_port: int) -> dict[str, Any]:
    """The settings of perspective ``code`` (the one renderer, loopback placement): its own address,
    a server certificate of the bench's CA, Knot as its resolver, its audit file in the run's folder."""
    cert, key = ca.issue_server(perspective_cert_name(code), ips=[ip])
    rir = next(p.rir.value for p in fleet.perspectives if p.code == code)
    return runtime.perspective_settings(
        fleet, code, rir, listen_host=ip, listen_port=PERSPECTIVE_PORT,
        tls={"cert": str(cert), "key": str(key), "client_ca": str(ca.cert_path)},
        resolver={"nameservers": [knot_addr], "port": knot_port}, caa_domains=CAA_DOMAINS,
        audit_log=str(run.workdir / f"audit-{code}.jsonl"), log_level="WARNING")


def bench_coordinator_settings(run: LoopbackRuntime, fleet: StackConfig, name: str, urls: dict[str, str],
                               client: tuple[Path, Path], ca: LocalCa) -> dict[str, Any]:
    """The settings of coordinator ``name`` over the perspectives ``urls`` (the one renderer, loopback
    placement): plain HTTP on its own port, the API key and hash secret inline, BR 3.2.2.9's minimum
    of :data:`BR_AS_OF`."""
    host, port = f"{run.prefix}.{COORDINATOR_HOST}", COORDINATORS[name]
    return runtime.coordinator_settings(
        fleet, listen_host=host, listen_port=port, internal_listen=(host, port + INTERNAL_OFFSET),
        api_keys=[API_KEY], hash_secret="mpic-bench", br_as_of=BR_AS_OF,
        client_tls={"cert": str(client[0]), "key": str(client[1]), "ca": str(ca.cert_path)},
        perspectives=[{"code": code, "url": url} for code, url in urls.items()],
        audit_log=str(run.workdir / f"audit-coordinator-{name}.jsonl"), log_level="WARNING")


def start(stack: ExitStack, built: Built, say: Callable[[str], None]) -> LoopbackRuntime:
    """Start everything (stopped by ``stack`` when it closes) and return the running runtime."""
    python = runtime_python(built, say)
    ports = ((53, 5300), (COORDINATOR_HOST, COORDINATORS["healthy"]), (HUNG_HOST, PERSPECTIVE_PORT),
             *((11 + i, PERSPECTIVE_PORT) for i in range(len(PERSPECTIVES))))
    prefix = pick_prefix(ports)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mpic-bench-")))
    run = LoopbackRuntime(prefix, workdir, python)
    stack.callback(lambda: stop_all(list(reversed(run.procs.values()))))
    ca = LocalCa.load_or_create(workdir / "pki")
    client = ca.issue_client(COORDINATOR_CLIENT_NAME)
    knot = start_knot(prefix, workdir / "knot")
    run.procs["knotd"] = knot.proc
    fleet = bench_fleet()
    hung_ip, cut_ip = f"{prefix}.{HUNG_HOST}", f"{prefix}.{PARTITIONED_HOST}"
    _peer(run, "hung", hung_ip, *ca.issue_server("hung", ips=[hung_ip]))
    _peer(run, "partitioned", cut_ip)
    urls: dict[str, str] = {}
    for i, code in enumerate(PERSPECTIVES):
        ip = f"{prefix}.{11 + i}"
        _spawn(run, code, "perspective", bench_perspective_settings(run, fleet, code, ip, ca, knot.addr, knot.port))
        urls[code] = f"https://{ip}:{PERSPECTIVE_PORT}"
    for i, code in enumerate(PERSPECTIVES):
        _wait(run, code, f"{prefix}.{11 + i}", PERSPECTIVE_PORT)
    pools = {"healthy": urls, "spare": urls, "hung": {**urls, FAULTY: f"https://{hung_ip}:{PERSPECTIVE_PORT}"},
             "partitioned": {**urls, FAULTY: f"https://{cut_ip}:{PERSPECTIVE_PORT}"}}
    for name, pool in pools.items():
        settings = bench_coordinator_settings(run, fleet, name, pool, client, ca)
        _spawn(run, f"coordinator-{name}", "coordinator", settings)
    for name in pools:
        _wait(run, f"coordinator-{name}", f"{prefix}.{COORDINATOR_HOST}", COORDINATORS[name])
    say(f"bench: runtime {python.parent.parent.name} up on {prefix}.0/24: 5 perspectives (mTLS), "
        f"coordinators {', '.join(COORDINATORS)}, Knot")
    return run
