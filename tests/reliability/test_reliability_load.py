"""A small run of bench/load.py (30 users x 5 s, an upload transcoding): no 5xx, counters agree."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from reliakit import ServeProcess, audit, bench, integrity, write_config


def _run(tmp_path: Path, users: int, seconds: float, uploads: int) -> tuple[dict, ServeProcess]:
    server = ServeProcess(tmp_path / "data", write_config(tmp_path / "config.toml")).start()
    try:
        report = asyncio.run(
            bench.run_load(
                server.url,
                bench.Mix(
                    users=users,
                    seconds=seconds,
                    uploads=uploads,
                    seed_videos=2,
                    upload_seconds=1.5,
                ),
                work_dir=tmp_path,
            )
        )
        report["audit"] = audit(server.db_path, report.pop("_ledger"))
    finally:
        server.stop()
    return report, server


def _check(report: dict, server: ServeProcess) -> None:
    assert report["server_errors"] == 0, report["error_examples"]
    assert report["transport_errors"] == 0, report["error_examples"]
    assert report["api_problems"] == []
    assert report["audit"] == []
    assert bench.locked_lines(server.log()) == []
    assert "Traceback" not in server.log()
    assert set(report["uploads"].values()) <= {"ready"}
    assert integrity(server.db_path) == "ok"
    unexpected = {
        label: e["statuses"]
        for label, e in report["endpoints"].items()
        if any(code >= 400 for code in e["statuses"])
    }
    assert not unexpected


@pytest.mark.slow  # seconds of load by design; the full load below runs with it in CI
def test_small_load_no_errors_and_counters_agree(tmp_path: Path) -> None:
    report, server = _run(tmp_path, users=30, seconds=5.0, uploads=1)
    assert report["requests"] > 100
    assert sum(report["acknowledged"].values()) > 20
    _check(report, server)


@pytest.mark.slow
def test_full_load_no_errors_and_counters_agree(tmp_path: Path) -> None:
    report, server = _run(tmp_path, users=200, seconds=60.0, uploads=2)
    _check(report, server)
