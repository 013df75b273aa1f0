"""Benchmark the runtime on loopback: real processes, real mTLS, real DNS (Knot) and HTTP (nginx).

    .venv/bin/python tests/service/bench_runtime.py [--requests 50] [--concurrency 10]

Starts Knot, nginx, five perspectives and coordinators as separate ``python -m service``
processes (plus a hanging TLS peer), then prints:
- serial end-to-end latency (median, p95) for CAA, dns-change and website-change;
- throughput at the given concurrency (CAA);
- CAA latency with one of five perspectives hanging, early quorum on vs off (timeout 5 s);
- resident memory of each service process.
Every process it starts is stopped by PID. Needs root (ports 80/443 on a loopback address).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local.pki import KitCA  # noqa: E402
from plan.pki import COORDINATOR_CLIENT_NAME  # noqa: E402
from tests.service import infra  # noqa: E402

FLEET = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]
KEY = "bench-key"
BODIES = {
    "caa": {"check_type": "caa", "domain_or_ip_target": "caa-permit.mpic.test"},
    "dns-change": {"check_type": "dcv", "domain_or_ip_target": "dcv.mpic.test", "dcv_check_parameters": {
        "validation_method": "dns-change", "dns_name_prefix": "_dnsauth", "dns_record_type": "TXT",
        "challenge_value": "challenge-txt-123"}},
    "website-change": {"check_type": "dcv", "domain_or_ip_target": "web.mpic.test", "dcv_check_parameters": {
        "validation_method": "website-change", "challenge_value": "web-challenge-1", "http_token_path": "tok1"}},
}


def spawn(role: str, settings: dict[str, Any], tmp: Path, name: str) -> subprocess.Popen[Any]:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return subprocess.Popen([sys.executable, "-m", "service", role, "--settings", str(path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / f"{name}.err", "w"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def timed(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    async with session.post(url, json=body, headers={"x-api-key": KEY}) as resp:
        data = await resp.json()
        assert resp.status == 200, data
    return time.perf_counter() - t0, data


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def measure(urls: dict[str, str], n: int, concurrency: int, pids: dict[str, int]) -> None:
    async with aiohttp.ClientSession() as session:
        print(f"\nSerial end-to-end latency, 5 perspectives over mTLS ({n} requests each):")
        for name, body in BODIES.items():
            for _ in range(3):
                await timed(session, urls["fleet"], body)  # warm up connections
            times = [(await timed(session, urls["fleet"], body))[0] * 1000 for _ in range(n)]
            print(f"  {name:15s} median {statistics.median(times):6.1f} ms   p95 {pct(times, 0.95):6.1f} ms")
        print("\nCAA, all perspectives healthy, early quorum on vs off (interleaved requests):")
        on: list[float] = []
        off: list[float] = []
        for _ in range(3):
            await timed(session, urls["fleet-late"], BODIES["caa"])
        for _ in range(n):
            on.append((await timed(session, urls["fleet"], BODIES["caa"]))[0] * 1000)
            off.append((await timed(session, urls["fleet-late"], BODIES["caa"]))[0] * 1000)
        for label, times in (("early quorum on ", on), ("early quorum off", off)):
            print(f"  {label}  median {statistics.median(times):6.1f} ms   p95 {pct(times, 0.95):6.1f} ms")

        total = n * 4
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                await timed(session, urls["fleet"], BODIES["caa"])

        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        elapsed = time.perf_counter() - t0
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) * 1000 / total for name, pid in pids.items()}
        print(f"\nThroughput (CAA, concurrency {concurrency}, {total} requests): {total / elapsed:.0f} requests/s")
        print(f"  CPU per request: coordinator {cpu['coordinator']:.1f} ms, each perspective "
              f"{statistics.mean(v for k, v in cpu.items() if k != 'coordinator'):.1f} ms (mean)")

        print("\nCAA with 1 of 5 perspectives hanging (perspective_timeout 5 s):")
        for label, key, count in (("early quorum on ", "early", n), ("early quorum off", "late", 3)):
            times, last = [], {}
            for _ in range(count):
                t, last = await timed(session, urls[key], BODIES["caa"])
                times.append(t * 1000)
            hung = next(p for p in last["perspectives"] if p["perspective_code"] == "af-south-1")
            err = hung["check_response"]["errors"][0]["error_type"]
            print(f"  {label}  median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms  "
                  f"valid={last['is_valid']}  hanging one: {err}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mpic-bench-"))
    prefix = infra.pick_prefix()
    ca = KitCA.load_or_create(tmp / "pki")
    web_ca = KitCA.load_or_create(tmp / "web-pki", common_name="bench web root")
    client = ca.issue_client(COORDINATOR_CLIENT_NAME)
    stop: list[Any] = []
    procs: dict[str, subprocess.Popen[Any]] = {}
    try:
        knot = infra.start_knot(prefix, tmp / "knot")
        stop.append(knot)
        stop.append(infra.start_nginx(prefix, tmp / "nginx", *web_ca.issue_server("web", dns_names=["web.mpic.test"])))
        lt = infra.LoopThread()
        stop.append(lt)
        hang_ip = f"{prefix}.20"
        stop.append(infra.HangingPeer(lt, hang_ip, 8443, *ca.issue_server("hanging", ips=[hang_ip])))
        urls = {}
        for i, code in enumerate(FLEET):
            ip = f"{prefix}.{11 + i}"
            cert, key = ca.issue_server(f"p-{code}", ips=[ip])
            procs[code] = spawn("perspective", {
                "code": code, "listen_host": ip, "listen_port": 8443,
                "tls": {"cert": str(cert), "key": str(key), "client_ca": str(ca.cert_path)},
                "resolver": {"nameservers": [knot.addr], "port": knot.port},
                "caa_domains": ["ca.mpic.test"], "audit_log": str(tmp / f"audit-{code}.jsonl"),
                "log_level": "WARNING", "http_ca_file": str(web_ca.cert_path),
                "allowed_reserved_networks": infra.lab_networks(prefix)}, tmp, code)
            urls[code] = f"https://{ip}:8443"
        for code in FLEET:
            infra.wait_port(urls[code].split("//")[1].split(":")[0], 8443, timeout=30)

        def coordinator(name: str, port: int, hanging: bool, early: bool) -> str:
            pool = [{"code": c, "url": u} for c, u in urls.items()]
            if hanging:
                pool[-1] = {"code": "af-south-1", "url": f"https://{hang_ip}:8443"}
            procs[name] = spawn("coordinator", {
                "listen_host": f"{prefix}.30", "listen_port": port, "api_keys": [KEY], "hash_secret": "bench",
                "default_perspective_count": 5, "perspective_timeout": 5.0, "early_quorum": early,
                "client_tls": {"cert": str(client[0]), "key": str(client[1]), "ca": str(ca.cert_path)},
                "perspectives": pool, "audit_log": str(tmp / f"audit-{name}.jsonl"), "log_level": "WARNING",
                "internal_listen_host": f"{prefix}.30", "internal_listen_port": port + 1000,
                "br_as_of": "2026-12-15"},
                tmp, name)
            infra.wait_port(f"{prefix}.30", port, timeout=30)
            return f"http://{prefix}.30:{port}/mpic"

        coord_urls = {"fleet": coordinator("coordinator", 8080, False, True),
                      "fleet-late": coordinator("coordinator-no-early", 8083, False, False),
                      "early": coordinator("coordinator-hang-early", 8081, True, True),
                      "late": coordinator("coordinator-hang-late", 8082, True, False)}
        pids = {name: proc.pid for name, proc in procs.items() if name in FLEET or name == "coordinator"}
        asyncio.run(measure(coord_urls, args.requests, args.concurrency, pids))
        print("\nResident memory:")
        for name, proc in procs.items():
            print(f"  {name:24s} {rss_mib(proc.pid):6.1f} MiB")
        lines = sum(1 for _ in open(tmp / "audit-coordinator.jsonl"))
        print(f"\nAudit lines written by the main coordinator: {lines}  (files in {tmp})")
        print(f"Load average during the run: {Path('/proc/loadavg').read_text().split()[:3]} "
              f"on {len(os.sched_getaffinity(0))} CPUs")
    finally:
        for proc in procs.values():
            infra.stop_pid(proc)
        for item in reversed(stop):
            item.stop()
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
