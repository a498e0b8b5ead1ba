"""A process starting on a busy data dir leaves the running jobs of the other process alone:
only a process alone on its SQLite data dir re-queues jobs left 'running' at once (the rest
are claimed again when their lease runs out). Replayed with two real `shortstack serve`
processes on one data dir: the second one used to re-queue the first one's transcode in
flight, and the same upload was transcoded twice at once."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from servekit import ServeProcess, write_config

from shortstack.media.fixture_clips import write_test_video

pytestmark = pytest.mark.slow


def _job(db: str, video_id: str) -> tuple[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute(
            "SELECT status, attempts FROM jobs WHERE video_id = ? AND kind = 'transcode'",
            (video_id,),
        ).fetchone()
    return (row[0], row[1]) if row else ("", 0)


def test_a_second_process_leaves_the_first_ones_running_job_alone(tmp_path):
    # x264 at its slowest: the transcode outlasts the second process's start
    config = write_config(
        tmp_path / "config.toml", media={"preset": "placebo", "renditions": [720]}
    )
    data = tmp_path / "data"
    a = ServeProcess(data, config).start()
    b = ServeProcess(data, config)
    try:
        token = httpx.post(
            a.url + "/api/auth/register", json={"handle": "busy", "password": "kettle-harbor-58"}
        ).json()["token"]
        clip = write_test_video(tmp_path / "long.mp4", width=720, height=1280, duration_s=3.0)
        with clip.open("rb") as fh:
            r = httpx.post(
                a.url + "/api/videos",
                files={"file": ("long.mp4", fh, "video/mp4")},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        assert r.status_code == 202, r.text
        vid = r.json()["id"]
        db = str(a.db_path)
        deadline = time.monotonic() + 60
        while _job(db, vid)[0] != "running":
            assert time.monotonic() < deadline, "the transcode never started"
            time.sleep(0.05)
        b.start()
        assert _job(db, vid) == ("running", 1)  # still A's first attempt
        deadline = time.monotonic() + 180
        while (job := _job(db, vid))[0] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job == ("done", 1), job  # transcoded once, not a second time beside the first
    finally:
        b.stop()
        a.stop()
