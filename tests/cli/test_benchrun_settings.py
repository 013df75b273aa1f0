"""``mpic bench``'s runtime settings come from the one renderer (:mod:`plan.runtime`), loopback
placement, and are what the bench always ran with: the same ports, paths, log levels, timeouts,
keys and BR date, the stack's behaviour where it used to rely on the runtime's defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bench import runtime as benchrun
from local.pki import LocalCa
from plan import runtime
from plan.pki import COORDINATOR_CLIENT_NAME
from service.settings import CoordinatorSettings, PerspectiveSettings, load_settings

PREFIX = "127.77.1"


@pytest.fixture()
def bench(tmp_path: Path):
    run = benchrun.LoopbackRuntime(PREFIX, tmp_path, Path("/nonexistent/python"))
    ca = LocalCa.load_or_create(tmp_path / "pki")
    return run, ca, benchrun.bench_fleet()


def _loaded(run: benchrun.LoopbackRuntime, name: str, cls, settings: dict):
    """As the bench's process loads them: from the YAML file it writes."""
    return load_settings(cls, benchrun._settings_file(run.workdir, name, settings))


def test_a_perspective_runs_as_it_always_did(bench):
    run, ca, fleet = bench
    ip = f"{PREFIX}.12"
    doc = benchrun.bench_perspective_settings(run, fleet, "eu-west-1", ip, ca, f"{PREFIX}.53", 5300)
    assert (doc["listen_host"], doc["listen_port"], doc["log_level"]) == (ip, 8443, "WARNING")
    assert doc["resolver"] == {"nameservers": [f"{PREFIX}.53"], "port": 5300}
    assert doc["audit_log"] == str(run.workdir / "audit-eu-west-1.jsonl") and doc["caa_domains"] == ["ca.mpic.test"]
    before = {"code": "eu-west-1", "listen_host": ip, "listen_port": 8443, "tls": doc["tls"],
              "resolver": {"nameservers": [f"{PREFIX}.53"], "port": 5300}, "caa_domains": ["ca.mpic.test"],
              "audit_log": str(run.workdir / "audit-eu-west-1.jsonl"), "log_level": "WARNING"}
    assert set(doc) - set(before) == {"rir", "verify_ssl", "caa_allow_lookup_failure"}  # the stack's, runtime defaults
    now, then = _loaded(run, "now", PerspectiveSettings, doc), _loaded(run, "then", PerspectiveSettings, before)
    assert now.effective_rir == then.effective_rir and now.rir is not None
    assert now.model_dump(exclude={"rir"}) == then.model_dump(exclude={"rir"})


def test_a_coordinator_runs_as_it_always_did(bench):
    run, ca, fleet = bench
    client = ca.issue_client(COORDINATOR_CLIENT_NAME)
    urls = {code: f"https://{PREFIX}.{11 + i}:8443" for i, code in enumerate(benchrun.PERSPECTIVES)}
    doc = benchrun.bench_coordinator_settings(run, fleet, "hung", urls, client, ca)
    host = f"{PREFIX}.30"
    before = {"listen_host": host, "listen_port": 8081, "internal_listen_host": host, "internal_listen_port": 9081,
              "api_keys": ["mpic-bench-key"], "hash_secret": "mpic-bench", "default_perspective_count": 5,
              "perspective_timeout": 5.0, "br_as_of": "2026-12-15",
              "client_tls": {"cert": str(client[0]), "key": str(client[1]), "ca": str(ca.cert_path)},
              "perspectives": [{"code": code, "url": url} for code, url in urls.items()],
              "audit_log": str(run.workdir / "audit-coordinator-hung.jsonl"), "log_level": "WARNING"}
    assert {k: doc[k] for k in before} == before
    assert set(doc) - set(before) == {"max_attempts", "early_quorum", "caa_allow_lookup_failure",
                                      "min_challenge_length"}  # the stack's behaviour, the runtime's defaults
    now, then = _loaded(run, "now", CoordinatorSettings, doc), _loaded(run, "then", CoordinatorSettings, before)
    assert now.br_as_of == dt.date(2026, 12, 15) and now.all_api_keys() == ["mpic-bench-key"]
    assert (now.max_attempts, then.max_attempts) == (1, None)  # the runtime reads null as 1: no retries
    assert now.model_dump(exclude={"max_attempts"}) == then.model_dump(exclude={"max_attempts"})


def test_the_bench_date_reaches_the_runtime_only_when_given(bench):
    fleet = bench[2]
    plain = runtime.coordinator_settings(fleet, perspectives=[], client_tls=None)
    assert "br_as_of" not in plain  # every target but the bench: today's BR minimums
    text = yaml.safe_dump(runtime.coordinator_settings(fleet, perspectives=[], client_tls=None, br_as_of="2026-12-15"))
    assert "br_as_of: '2026-12-15'" in text
