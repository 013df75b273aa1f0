"""The local fleet's failover health checker, with Route53's semantics.

``python -m local.daemons.healthcheck --config FILE`` checks every coordinator site's ``/readyz`` every
``interval`` seconds (HTTPS, ``timeout`` seconds for the whole answer). A site turns unhealthy
after ``threshold`` consecutive failures and healthy again after ``threshold`` consecutive
successes; new checks start healthy. The coordinator's name answers with the primary while it is
healthy, else the standby while that is healthy, else the primary (Route53 failover records do
the same). A change rewrites the name's A record in Knot (a transaction, re-signed at once, TTL
from the plan). The state goes to ``status`` (JSON) for ``mpic status``. A fleet process like
the WAN relay: started at ``up``, recorded, stopped by PID.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import signal
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Callable

from local.internet.dns import Knot


class Checker:
    """Route53's rules on a sequence of check results, for each site."""

    def __init__(self, roles: list[str], threshold: int):
        self.threshold = threshold
        self.healthy = {role: True for role in roles}
        self.streak = {role: 0 for role in roles}
        """Consecutive results contradicting the current state."""

    def record(self, role: str, ok: bool) -> None:
        if ok == self.healthy[role]:
            self.streak[role] = 0
            return
        self.streak[role] += 1
        if self.streak[role] >= self.threshold:
            self.healthy[role], self.streak[role] = ok, 0

    def active(self) -> str:
        """The site the name answers with: the first healthy one in order, else the first."""
        roles = list(self.healthy)
        return next((r for r in roles if self.healthy[r]), roles[0])


def check(url: str, path: str, ca: str, timeout: float) -> bool:
    """One health check: an HTTP status below 400 within ``timeout`` seconds."""
    host, _, port = url.removeprefix("https://").partition(":")
    conn = http.client.HTTPSConnection(host, int(port or 443), timeout=timeout,
                                       context=ssl.create_default_context(cafile=ca))
    try:
        conn.request("GET", path)
        return conn.getresponse().status < 400
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def run(config: dict[str, Any], stop: threading.Event, probe: Callable[[str], bool] | None = None,
        publish: Callable[[str, str], None] | None = None) -> None:
    """Check every ``interval`` s until ``stop``; ``publish(role, ip)`` on every change of the active site."""
    sites = {s["role"]: s for s in config["sites"]}
    checker = Checker(list(sites), config["threshold"])
    probe = probe or (lambda url: check(url, config["path"], config["ca"], config["timeout"]))
    publish = publish or _knot_publisher(config)
    status_file = Path(config["status"])
    switches: list[dict[str, Any]] = []
    active = checker.active()
    publish(active, sites[active]["ip"])
    with concurrent.futures.ThreadPoolExecutor(len(sites)) as pool:
        while True:
            started = time.monotonic()
            results = dict(zip(sites, pool.map(lambda s: probe(s["url"]), sites.values())))
            for role, ok in results.items():
                checker.record(role, ok)
            if checker.active() != active:
                active = checker.active()
                publish(active, sites[active]["ip"])
                switches.append({"at": time.time(), "to": active})
            doc = {"name": config["name"], "active": active, "checked_at": time.time(), "switches": switches[-20:],
                   "sites": {r: {"healthy": checker.healthy[r], "last_ok": results[r], "ip": sites[r]["ip"]}
                             for r in sites}}
            tmp = status_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc))
            tmp.replace(status_file)
            if stop.wait(max(0.0, config["interval"] - (time.monotonic() - started))):
                return


def _knot_publisher(config: dict[str, Any]) -> Callable[[str, str], None]:
    knot = Knot(Path(config["knot_workdir"]))
    name = config["name"].rstrip(".") + "."

    def publish(role: str, ip: str) -> None:
        knot.transaction(config["zone"], [(name, config["ttl"], "A", ip)], [(name, "A", None)])

    return publish


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m local.daemons.healthcheck", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, type=Path, help="JSON written by mpic up (local/roles/failover.py)")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run(json.loads(args.config.read_text()), stop)


if __name__ == "__main__":  # pragma: no cover - run as a fleet process
    main()
