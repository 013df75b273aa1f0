"""``mpic bench --lambda``: one real cold start of each built zip (the report's keys, not its
figures), the zips built when missing or stale, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli import bench as bench_cli
from plan.artifacts import MANIFEST
from tests.cli.test_bench import run

STABLE = {"cold_start_p50_ms", "import_ms", "first_request_ms", "rss_mib", "zip_mib"}


def test_one_cold_start_of_each_zip_gives_the_stable_keys(artifacts: Any, tmp_path: Path) -> None:
    out = tmp_path / "lambda.json"
    result = run("--lambda", "--runs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["target"] == "lambda" and report["settings"]["runs"] == 1 and report["machine"]["cpus"] >= 1
    for role in ("coordinator", "perspective"):
        figures = report["lambda"][role]
        assert STABLE <= set(figures), sorted(figures)
        phases = figures["interpreter_ms"] + figures["import_ms"] + figures["settings_ms"] + figures["first_request_ms"]
        assert abs(phases - figures["cold_start_p50_ms"]) < 1  # one run: the phases are the cold start
        assert figures["import_ms"] > 0 and figures["rss_mib"] > 20 and figures["peak_rss_mib"] >= figures["rss_mib"]
        assert figures["zip_mib"] > 1 and figures["unzipped_mib"] > figures["zip_mib"]
        assert f"{role}: cold start p50 {figures['cold_start_p50_ms']} ms" in result.output
    # the coordinator's zip carries boto3 (it invokes the perspective functions), the perspective's does not
    assert "botocore" in report["lambda"]["coordinator"]["zip_mib_by_package"]
    assert "botocore" not in report["lambda"]["perspective"]["zip_mib_by_package"]


def test_json_and_compare_with_an_earlier_lambda_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def report(cold: float) -> dict[str, Any]:
        figures = {"cold_start_p50_ms": cold, "interpreter_ms": 9.0, "import_ms": 400.0, "settings_ms": 30.0,
                   "first_request_ms": cold - 439.0, "cpu_ms": cold, "rss_mib": 80.0, "peak_rss_mib": 80.0,
                   "zip_mib": 23.4, "unzipped_mib": 71.9, "zip_mib_by_package": {"botocore": 1.2},
                   "cold_start_ms": [cold], "runs": 1}
        return {"schema": 1, "target": "lambda", "settings": {"runs": 1}, "loadavg_start": [1, 1, 1],
                "loadavg_end": [1, 1, 1], "lambda": {"coordinator": figures}}

    old = tmp_path / "old.json"
    old.write_text(json.dumps(report(1400.0)))
    monkeypatch.setattr(bench_cli, "built_zips", lambda dist, say: None)
    monkeypatch.setattr(bench_cli, "lambda_report", lambda built, runs, say: report(700.0))
    result = run("--lambda", "--json", "--compare", str(old))
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["lambda"]["coordinator"]["cold_start_p50_ms"] == 700.0
    line = next(x for x in doc["compared_with"]["lines"] if x.startswith("lambda.coordinator.cold_start_p50_ms"))
    assert "-50%" in line


def _fake_dist(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    from artifacts.dist import source_sha256

    artifacts = []
    for name in names:
        path = folder / "lambda" / f"{name}.zip"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"zip")
        artifacts.append({"kind": "lambda", "name": name, "path": f"{folder.name}/lambda/{name}.zip", "sha256": "0",
                          "platform": "linux_x86_64", "handler": "h"})
    (folder / MANIFEST).write_text(json.dumps({"source_sha256": source_sha256(), "artifacts": artifacts}))


def test_missing_zips_are_built_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from artifacts import builder

    built: list[tuple[list[str], Path]] = []
    names = [f"mpic-{role}-x86_64" for role in ("perspective", "coordinator")]
    monkeypatch.setattr(bench_cli, "machine_architecture", lambda: "x86_64")
    monkeypatch.setenv("MPIC_DIST", str(tmp_path / "dist"))

    def fake_build(kinds: list[str], folder: Path, say: Any = None) -> None:
        built.append((kinds, folder))
        _fake_dist(folder, names)

    monkeypatch.setattr(builder, "build", fake_build)
    zips = bench_cli.built_zips(None, lambda message: None)
    assert built == [(["lambda"], tmp_path / "dist")]
    assert sorted(a.name for a in zips.artifacts) == sorted(names)
    assert bench_cli.built_zips(None, lambda message: None).dist == tmp_path / "dist" and len(built) == 1  # fresh now

    monkeypatch.setattr(builder, "build", lambda kinds, folder, say=None: None)
    monkeypatch.setenv("MPIC_DIST", str(tmp_path / "empty" / "dist"))
    monkeypatch.setattr(bench_cli, "lambda_report", lambda *args: pytest.fail("nothing to measure"))
    result = run("--lambda")
    assert result.exit_code == 1 and "still has no mpic-perspective-x86_64" in result.output


@pytest.mark.parametrize("args,words", [
    (["--lambda", "--runs", "0"], "--runs 0: give 1..50"), (["--lambda", "--runs", "51"], "1..50"),
    (["--lambda", "--fleet", "local"], "choose one"),
    (["--lambda", "--dist", "/nonexistent/dist"], "run ./scripts/mpic build lambda there"),
])
def test_bad_input_is_exit_2(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and words in result.output, result.output
