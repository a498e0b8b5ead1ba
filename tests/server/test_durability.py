"""Durability: a job interrupted by a crash is picked up at restart; the start-up sweep removes
orphan media folders and stale temp files."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from serverkit import wait_ready

from shortstack.server.store.ids import hash_token
from shortstack.server.store.migrations import migrate
from shortstack.server.store.users import hash_password

TOKEN = "crash-test-token-abcdefghijklmnopqrstuvwxyz0123456789"


def _crashed_data_dir(data_dir: Path, clip: Path, video_id: str) -> None:
    """What a server killed mid-transcode leaves: a running job with a lease, a processing
    video, its source file and half-written outputs."""
    data_dir.mkdir(parents=True)
    migrate(str(data_dir / "shortstack.db"))
    conn = sqlite3.connect(str(data_dir / "shortstack.db"), isolation_level=None)
    ts = time.time()
    conn.execute(
        "INSERT INTO users (id, handle, display_name, password_hash, created_at, videos)"
        " VALUES (1, 'crasher', 'Crasher', ?, ?, 1)",
        (hash_password("kettle-harbor-58"), ts),
    )
    conn.execute(
        "INSERT INTO tokens (hash, user_id, created_at) VALUES (?, 1, ?)", (hash_token(TOKEN), ts)
    )
    conn.execute(
        "INSERT INTO videos (id, author_id, caption, status, progress, created_at)"
        " VALUES (?, 1, 'interrupted', 'processing', 0.4, ?)",
        (video_id, ts),
    )
    conn.execute(
        "INSERT INTO jobs (kind, video_id, status, attempts, max_attempts, lease_until, heartbeat_at,"
        " created_at, updated_at) VALUES ('transcode', ?, 'running', 1, 3, ?, ?, ?, ?)",
        (video_id, ts + 3600, ts, ts, ts),
    )
    conn.close()
    folder = data_dir / "media" / video_id[:2] / video_id
    folder.mkdir(parents=True)
    shutil.copy(clip, folder / "source")
    (folder / ".120p.mp4.tmp123").write_bytes(b"half a file")


def test_interrupted_job_finishes_after_restart(make_server, tmp_path, clip):
    data_dir = tmp_path / "crashed"
    video_id = "CrashVideo1"
    _crashed_data_dir(data_dir, clip, video_id)
    live = make_server(data_dir=data_dir)
    health = live.client.get("/healthz").json()
    assert health["jobs"]["running"] + health["jobs"]["queued"] <= 1
    video = wait_ready(live, TOKEN, video_id)
    assert video["status"] == "ready", video
    assert [r["name"] for r in video["renditions"]] == ["120p"]
    rendition = live.client.get(video["renditions"][0]["url"])
    assert rendition.status_code == 200
    assert len(rendition.content) == video["renditions"][0]["bytes"]
    conn = sqlite3.connect(str(data_dir / "shortstack.db"))
    status, attempts = conn.execute(
        "SELECT status, attempts FROM jobs WHERE video_id = ?", (video_id,)
    ).fetchone()
    conn.close()
    assert status == "done"
    assert attempts == 2  # the interrupted attempt counted, plus the one that finished
    assert not list((data_dir / "media").glob("*/*/.*.tmp*"))
    assert live.client.get("/healthz").json()["jobs"] == {"queued": 0, "running": 0, "failed": 0}


def test_startup_sweep_removes_orphans_and_temp_files(make_server, tmp_path):
    data_dir = tmp_path / "swept"
    first = make_server(data_dir=data_dir)
    token = first.register("keeper")
    conn = sqlite3.connect(str(first.db_path), isolation_level=None)
    conn.execute(
        "INSERT INTO videos (id, author_id, caption, status, created_at)"
        " VALUES ('KeepVideo01', 1, 'kept', 'ready', ?)",
        (time.time(),),
    )
    conn.close()
    first.server.stop()
    kept = data_dir / "media" / "Ke" / "KeepVideo01"
    kept.mkdir(parents=True)
    (kept / "240p.mp4").write_bytes(b"keep me")
    (kept / ".240p.mp4.tmp99").write_bytes(b"partial")
    (kept / ".hls.tmp-0123456789ab" / "240p").mkdir(parents=True)  # HLS packaging cut short
    (kept / ".hls.tmp-0123456789ab" / "240p" / "seg000.m4s").write_bytes(b"partial")
    orphan = data_dir / "media" / "Or" / "OrphanVideo"
    orphan.mkdir(parents=True)
    (orphan / "source").write_bytes(b"nobody owns me")
    (data_dir / "tmp" / "upload-abc.upload").write_bytes(b"interrupted upload")
    (data_dir / "tmp" / "leftover-dir").mkdir()

    second = make_server(data_dir=data_dir)
    assert second.client.get("/api/me", headers=second.auth(token)).status_code == 200
    assert (kept / "240p.mp4").read_bytes() == b"keep me"
    assert not (kept / ".240p.mp4.tmp99").exists()
    assert not (kept / ".hls.tmp-0123456789ab").exists()
    assert not orphan.exists()
    assert list((data_dir / "tmp").iterdir()) == []


def test_a_second_process_on_the_data_dir_leaves_uploads_in_flight_alone(
    make_server, tmp_path, clip
):
    """`serve --workers 2` starts two processes on one data dir. The second one's start-up sweep
    must not delete the temp file of an upload the first is still receiving (it did: the upload
    then failed with 422 "The file could not be read"); `doctor --fix` must not either."""
    import socket
    import uuid

    from shortstack.server.maintenance import doctor

    data_dir = tmp_path / "shared"
    first = make_server(data_dir=data_dir)
    token = first.register("uploader")
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    body = head + clip.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    half = len(head) + 1024
    host, port = first.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (
                "POST /api/videos HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body[:half]
        )
        deadline = time.monotonic() + 10
        while not list((data_dir / "tmp").iterdir()):  # the first server is writing it
            assert time.monotonic() < deadline, "the upload never reached the temp folder"
            time.sleep(0.05)
        second = make_server(data_dir=data_dir)
        assert second.client.get("/healthz").status_code == 200
        report = doctor(data_dir, fix=True)
        assert "skipped" in str(report["removed"]), report
        assert list((data_dir / "tmp").iterdir()), "the upload in flight was swept"
        sock.sendall(body[half:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 202"), reply[:400]
    second.server.stop()
    first.server.stop()
    (data_dir / "tmp" / "upload-left.upload").write_bytes(b"interrupted upload")
    assert doctor(data_dir, fix=True)["removed"]["temp_files"] == 1  # alone now: it sweeps
