"""Backup and restore under load: `shortstack backup` while users write, restore into a new data dir,
and the restored server serves every video and count the backup captured."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from reliakit import (
    assert_clean,
    bench,
    bulk_events,
    connect,
    counter_mismatches,
    integrity,
    wait_status,
)

pytestmark = pytest.mark.slow


def _backup(data_dir: Path, dest: Path) -> tuple[dict, float]:
    t0 = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "shortstack",
            "backup",
            str(dest),
            "--data",
            str(data_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), time.monotonic() - t0


def _restore(backup: Path, manifest: Path, old_data: Path, new_data: Path) -> int:
    """The documented restore: the backup file becomes DATA/shortstack.db, the listed media
    files are copied to the same relative paths."""
    new_data.mkdir(parents=True)
    shutil.copyfile(backup, new_data / "shortstack.db")
    copied = 0
    for entries in json.loads(manifest.read_text())["videos"].values():
        for entry in entries:
            src = old_data / entry["path"]
            if src.exists():
                dest = new_data / entry["path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                copied += 1
    return copied


def test_backup_under_load_then_restore(serve, tmp_path: Path) -> None:
    server = serve()
    work = tmp_path / "work"
    work.mkdir()
    report: dict = {}

    def load() -> None:
        report.update(
            asyncio.run(
                bench.run_load(
                    server.url,
                    bench.Mix(users=30, seconds=25, uploads=2, seed_videos=4, upload_seconds=3.0),
                    work_dir=work,
                )
            )
        )

    runner = threading.Thread(target=load, daemon=True)
    runner.start()
    # wait until the users are writing (likes rows appear), then back up mid-load
    deadline = time.monotonic() + 180
    while True:
        conn = connect(server.db_path)
        try:
            likes = conn.execute("SELECT COUNT(*) FROM likes").fetchone()[0]
        finally:
            conn.close()
        if likes >= 20:
            break
        assert runner.is_alive() and time.monotonic() < deadline, "the load never started writing"
        time.sleep(0.2)
    dest = tmp_path / "backups" / "shortstack.db"
    result, seconds = _backup(server.data_dir, dest)
    print(f"backup under load took {seconds:.1f} s: {result}")
    assert runner.is_alive(), "the backup was not taken while the load ran"
    runner.join(300)
    assert report["server_errors"] == 0, report["error_examples"]
    server.stop()

    assert integrity(dest) == "ok"
    assert counter_mismatches(dest) == []
    conn = connect(dest)
    try:
        captured = {
            r["id"]: dict(r)
            for r in conn.execute(
                "SELECT id, status, likes, comments, views, shares FROM videos"
            ).fetchall()
        }
        users = {
            r["handle"]: (r["followers"], r["following"])
            for r in conn.execute("SELECT handle, followers, following FROM users")
        }
        renditions = {
            (r["video_id"], r["name"]): r["bytes"]
            for r in conn.execute("SELECT video_id, name, bytes FROM renditions")
        }
    finally:
        conn.close()
    assert captured and renditions

    restored_dir = tmp_path / "restored"
    copied = _restore(dest, Path(result["manifest"]), server.data_dir, restored_dir)
    assert copied >= len(renditions)
    restored = serve(restored_dir)
    for video_id, row in captured.items():
        video = wait_status(restored.url, video_id, timeout=180)
        assert video["status"] == "ready", video
        counts = video["counts"]
        assert (counts["likes"], counts["comments"], counts["views"], counts["shares"]) == (
            row["likes"],
            row["comments"],
            row["views"],
            row["shares"],
        ), video_id
        for rendition in video["renditions"]:
            r = httpx.get(restored.url + rendition["url"], timeout=60)
            assert r.status_code == 200 and len(r.content) == rendition["bytes"]
            if row["status"] == "ready":
                assert rendition["bytes"] == renditions[(video_id, rendition["name"])]
        assert httpx.get(f"{restored.url}/api/videos/{video_id}/poster").status_code == 200
    for handle, (followers, following) in list(users.items())[:40]:
        profile = httpx.get(f"{restored.url}/api/users/{handle}").json()
        assert (profile["followers"], profile["following"]) == (followers, following)
    assert_clean(restored.data_dir)


def test_backup_of_a_big_database_finishes_under_steady_writes(serve, tmp_path: Path) -> None:
    """A stepwise copy restarts on every commit: under steady writes it used to never end."""
    server = serve()
    tokens = [
        httpx.post(
            server.url + "/api/auth/register",
            json={"handle": f"writer{i}", "password": "kettle-harbor-58"},
        ).json()["token"]
        for i in range(4)
    ]
    bulk_events(server.db_path, 300_000)
    stop = threading.Event()
    writes = {"ok": 0, "bad": 0}

    def write() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            i = 0
            while not stop.is_set():
                h = {"Authorization": f"Bearer {tokens[i % 4]}"}
                r = client.patch("/api/me", json={"bio": f"bio {i}"}, headers=h)
                writes["ok" if r.status_code == 200 else "bad"] += 1
                i += 1
                time.sleep(0.01)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        time.sleep(1.0)
        result, seconds = _backup(server.data_dir, tmp_path / "big.db")
        during = writes["ok"]
        time.sleep(1.0)
    finally:
        stop.set()
        writer.join(30)
    print(f"backup of a ~45 MB database under writes: {seconds:.1f} s, {writes}")
    assert seconds < 60
    assert writes["bad"] == 0 and writes["ok"] > during  # writes went on during and after
    assert integrity(tmp_path / "big.db") == "ok"
