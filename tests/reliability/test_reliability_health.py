"""/healthz tells the truth: a killed transcode worker makes it a 503 "degraded" naming the
workers, and the next job's fresh worker makes it "ok" again; the database is really read."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
from reliakit import children, register, upload, wait_status


def _health(url: str) -> httpx.Response:
    return httpx.get(url + "/healthz", timeout=30)


def _workers(pid: int) -> list[int]:
    """The transcode worker processes of the server `pid` (not multiprocessing's tracker)."""
    return [
        child
        for child in children(pid)
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_killed_worker_is_degraded_until_the_next_job_restarts_it(serve, tiny_clip: Path):
    server = serve()
    assert server.proc is not None
    r = _health(server.url)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["workers"] == "ok"

    workers = _workers(server.proc.pid)
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while (r := _health(server.url)).status_code == 200:
        assert time.monotonic() < deadline, "healthz still ok with its worker killed"
        time.sleep(0.1)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["workers"]
    assert "process not running" in body["workers"]
    assert body["db"] == "ok"
    assert body["jobs"] == {"queued": 0, "running": 0, "failed": 0}

    # the next job starts a new worker: the server heals itself, and says so
    token = register(server.url, "healer")
    video = upload(server.url, token, tiny_clip, "after the crash")
    assert wait_status(server.url, video["id"])["status"] == "ready"
    r = _health(server.url)
    assert r.status_code == 200, r.text
    assert r.json()["failing"] == []


def test_healthz_reads_the_database(serve):
    """The job counts come from the jobs table (a real query), not from constants."""
    server = serve()
    conn = sqlite3.connect(str(server.data_dir / "shortstack.db"), timeout=30)
    try:
        conn.execute(
            "INSERT INTO jobs (kind, video_id, status, max_attempts, payload, created_at,"
            " updated_at) VALUES ('transcode', NULL, 'failed', 1, '{}', 0, 0)"
        )
        conn.commit()
    finally:
        conn.close()
    body = _health(server.url).json()
    assert body["jobs"]["failed"] == 1 and body["status"] == "ok"
