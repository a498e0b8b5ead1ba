"""Fault injection: SIGKILL a real `shortstack serve` mid-upload, mid-transcode, mid-burst and
mid-backup; restart on the same data dir; nothing acknowledged is lost, nothing is left behind."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from reliakit import (
    Ledger,
    assert_clean,
    audit,
    auth,
    bulk_events,
    children,
    connect,
    integrity,
    leftovers,
    register,
    upload,
    wait_status,
)

pytestmark = pytest.mark.slow


def _stream_body(boundary: str, total_mb: int, stop: threading.Event):
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nbig one\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    chunk = os.urandom(1024 * 1024)
    for _ in range(total_mb):
        if stop.is_set():
            return
        yield chunk
        time.sleep(0.05)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_kill_mid_upload(serve, tiny_clip: Path) -> None:
    server = serve(limits={"max_upload_mb": 128})
    token = register(server.url, "uploader")
    before = upload(server.url, token, tiny_clip, "acknowledged before the crash")
    stop = threading.Event()
    outcome: dict[str, object] = {}

    def send() -> None:
        boundary = "reliabilityboundary"
        try:
            r = httpx.post(
                server.url + "/api/videos",
                content=_stream_body(boundary, 100, stop),
                headers={
                    **auth(token),
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
                timeout=60,
            )
            outcome["status"] = r.status_code
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    tmp = server.data_dir / "tmp"
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 2 * 1024 * 1024 for p in tmp.iterdir()):
        assert time.monotonic() < deadline, "the upload never reached the temp dir"
        time.sleep(0.05)
    assert server.kill9() == [], "transcode workers outlived the server"
    stop.set()
    sender.join(30)
    assert "status" not in outcome, "the killed server answered the upload"
    assert list(tmp.iterdir()), "expected a half-written temp file after the kill"

    server = serve(server.data_dir, limits={"max_upload_mb": 128})
    assert wait_status(server.url, before["id"])["status"] == "ready"
    assert_clean(server.data_dir)
    r = httpx.get(f"{server.url}/api/me", headers=auth(token))
    assert r.status_code == 200 and r.json()["handle"] == "uploader"


def _job(data_dir: Path, video_id: str) -> dict:
    """The transcode job of a video: status, attempts, and the video's stored progress."""
    conn = connect(data_dir / "shortstack.db")
    try:
        row = conn.execute(
            "SELECT j.status, j.attempts, v.progress FROM jobs j JOIN videos v ON v.id = j.video_id"
            " WHERE v.id = ?",
            (video_id,),
        ).fetchone()
    finally:
        conn.close()
    return dict(row)


def _wait_partly_written(data_dir: Path, video_id: str) -> None:
    """Return once the worker has written part of a rendition (its hidden .part file)."""
    folder = data_dir / "media" / video_id[:2] / video_id
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in folder.glob(".*.part.mp4")):
        row = _job(data_dir, video_id)
        assert row["status"] in ("queued", "running") and time.monotonic() < deadline, row
        time.sleep(0.01)


def test_kill_mid_transcode(serve, ten_second_clip: Path) -> None:
    server = serve()
    token = register(server.url, "creator")
    video = upload(server.url, token, ten_second_clip, "interrupted #transcode")
    _wait_partly_written(server.data_dir, video["id"])
    assert server.kill9() == [], "the transcode worker outlived the server"
    assert _job(server.data_dir, video["id"])["status"] == "running", "ended before the kill"

    server = serve(server.data_dir)
    ready = wait_status(server.url, video["id"], timeout=180)
    assert ready["status"] == "ready", ready
    assert ready["renditions"]
    for rendition in ready["renditions"]:
        r = httpx.get(server.url + rendition["url"])
        assert r.status_code == 200 and len(r.content) == rendition["bytes"]
        assert r.content[4:8] == b"ftyp"
    assert httpx.get(f"{server.url}/api/videos/{video['id']}/poster").status_code == 200
    assert_clean(server.data_dir)
    job = _job(server.data_dir, video["id"])
    assert (job["status"], job["attempts"]) == ("done", 2)


def test_a_worker_killed_mid_transcode_is_replaced_and_the_job_retried(
    serve, ten_second_clip: Path
) -> None:
    """The OOM killer takes the transcode worker, not the server: the server stays up, starts
    a new worker, runs the job again and clears the partial files of the killed attempt."""
    server = serve()
    token = register(server.url, "creator")
    video = upload(server.url, token, ten_second_clip, "worker dies #transcode")
    _wait_partly_written(server.data_dir, video["id"])
    assert server.proc is not None
    workers = [
        pid
        for pid in children(server.proc.pid)
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    ready = wait_status(server.url, video["id"], timeout=180)
    assert ready["status"] == "ready", ready
    job = _job(server.data_dir, video["id"])
    assert (job["status"], job["attempts"]) == ("done", 2)
    for rendition in ready["renditions"]:
        r = httpx.get(server.url + rendition["url"])
        assert r.status_code == 200 and len(r.content) == rendition["bytes"]
    assert leftovers(server.data_dir)["partials"] == []
    assert httpx.get(server.url + "/healthz").status_code == 200


async def _burst(
    url: str,
    tokens: dict[str, str],
    videos: list[str],
    ledger: Ledger,
    stop_at: float,
    kill_after: int | None = None,
    kill: Callable[[], object] | None = None,
) -> int:
    """Each user likes, unlikes, comments and follows as fast as it can until the server dies
    (killed from a thread once `kill_after` writes were answered, when given)."""
    answered = 0
    handles = list(tokens)
    errors: list[str] = []
    killing: list[asyncio.Future] = []

    async def one(client: httpx.AsyncClient, handle: str, rng: random.Random) -> None:
        nonlocal answered
        h = auth(tokens[handle])
        while time.monotonic() < stop_at:
            kind = rng.choice(["like", "unlike", "comment", "follow", "unfollow"])
            vid = rng.choice(videos)
            other = rng.choice(handles)
            try:
                if kind in ("like", "unlike"):
                    key = (handle, vid)
                    ledger.uncertain_likes.add(key)
                    r = await client.request(
                        "PUT" if kind == "like" else "DELETE", f"/api/videos/{vid}/like", headers=h
                    )
                    if r.status_code == 200:
                        ledger.likes[key] = kind == "like"
                        ledger.uncertain_likes.discard(key)
                elif kind == "comment":
                    r = await client.post(
                        f"/api/videos/{vid}/comments",
                        json={"body": f"burst by {handle}"},
                        headers=h,
                    )
                    if r.status_code == 201:
                        ledger.comments.add(r.json()["id"])
                elif other != handle:
                    key = (handle, other)
                    ledger.uncertain_follows.add(key)
                    r = await client.request(
                        "PUT" if kind == "follow" else "DELETE",
                        f"/api/users/{other}/follow",
                        headers=h,
                    )
                    if r.status_code == 204:
                        ledger.follows[key] = kind == "follow"
                        ledger.uncertain_follows.discard(key)
                else:
                    continue
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return  # the server is gone: this user's last request stays uncertain
            assert r.status_code < 500, r.text
            answered += 1
            if kill is not None and answered == kill_after:
                killing.append(asyncio.get_running_loop().run_in_executor(None, kill))

    limits = httpx.Limits(max_connections=len(handles) + 4)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        await asyncio.gather(*(one(client, h, random.Random(i)) for i, h in enumerate(handles)))
    for fut in killing:
        await fut
    print(f"burst: {answered} answered; the first errors: {errors[:3]}")
    return answered


def test_kill_during_write_burst(serve, tiny_clip: Path) -> None:
    server = serve()
    tokens = {f"burst{i}": register(server.url, f"burst{i}") for i in range(16)}
    videos = [upload(server.url, tokens["burst0"], tiny_clip, "burst target")["id"]]
    videos.append(upload(server.url, tokens["burst1"], tiny_clip, "burst target 2")["id"])
    ledger = Ledger()

    answered = asyncio.run(
        _burst(server.url, tokens, videos, ledger, time.monotonic() + 60, 200, server.kill9)
    )
    assert answered >= 200, f"only {answered} writes were answered before the kill"
    assert server.proc.poll() is not None

    server = serve(server.data_dir)
    assert audit(server.db_path, ledger) == []
    assert_clean(server.data_dir)
    for vid in videos:
        assert wait_status(server.url, vid)["status"] == "ready"
    # the API agrees with the acknowledged state too
    for (handle, vid), liked in ledger.likes.items():
        if (handle, vid) not in ledger.uncertain_likes:
            r = httpx.get(f"{server.url}/api/videos/{vid}", headers=auth(tokens[handle]))
            assert r.json()["liked_by_me"] is liked


def _backup_cmd(data_dir: Path, dest: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "shortstack",
        "backup",
        str(dest),
        "--data",
        str(data_dir),
        "--json",
    ]


def test_kill_server_during_backup(serve, tiny_clip: Path, tmp_path: Path) -> None:
    server = serve()
    tokens = {f"bk{i}": register(server.url, f"bk{i}") for i in range(8)}
    video = upload(server.url, tokens["bk0"], tiny_clip, "backed up")["id"]
    wait_status(server.url, video)
    bulk_events(server.db_path, 300_000)
    ledger = Ledger()
    dest = tmp_path / "backups" / "shortstack-backup.db"
    backup = subprocess.Popen(
        _backup_cmd(server.data_dir, dest), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    killer = threading.Timer(1.0, server.kill9)
    killer.start()
    try:
        asyncio.run(_burst(server.url, tokens, [video], ledger, time.monotonic() + 30))
    finally:
        killer.join(30)
    out, err = backup.communicate(timeout=300)
    assert backup.returncode == 0, err.decode()
    assert integrity(dest) == "ok"
    assert not list(dest.parent.glob(".*partial"))

    server = serve(server.data_dir)
    assert audit(server.db_path, ledger) == []
    assert_clean(server.data_dir)


def test_kill_backup_process_midway(serve, tiny_clip: Path, tmp_path: Path) -> None:
    server = serve()
    token = register(server.url, "bkp")
    video = upload(server.url, token, tiny_clip, "backed up")["id"]
    wait_status(server.url, video)
    bulk_events(server.db_path, 300_000)
    dest = tmp_path / "backups" / "b.db"
    dest.parent.mkdir()
    dest.write_bytes(b"the previous backup")
    backup = subprocess.Popen(
        _backup_cmd(server.data_dir, dest), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(1.0)
    backup.kill()
    backup.wait(30)
    # the previous backup is untouched or replaced whole; never a half file under its name
    assert dest.read_bytes() == b"the previous backup" or integrity(dest) == "ok"
    assert leftovers(server.data_dir)["tmp"] == []
    r = httpx.put(f"{server.url}/api/videos/{video}/like", headers=auth(token))
    assert r.status_code == 200
    server.stop()
    assert integrity(server.db_path) == "ok"


def test_delete_during_transcode_leaves_no_files(serve, long_clip: Path, tiny_clip: Path) -> None:
    """Not a crash, but the same question: a video deleted while its transcode runs leaves no
    folder behind once the worker finishes (without waiting for a restart's sweep)."""
    server = serve()
    token = register(server.url, "deleter")
    video = upload(server.url, token, long_clip, "deleted midway")
    deadline = time.monotonic() + 60
    while True:
        conn = connect(server.db_path)
        try:
            status = conn.execute("SELECT status FROM jobs").fetchone()["status"]
        finally:
            conn.close()
        if status == "running":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    r = httpx.delete(f"{server.url}/api/videos/{video['id']}", headers=auth(token))
    assert r.status_code == 204
    folder = server.data_dir / "media" / video["id"][:2] / video["id"]
    # one worker runs jobs in order: once a later upload is ready, the deleted one's run is over
    later = upload(server.url, token, tiny_clip, "after the delete")
    assert wait_status(server.url, later["id"], timeout=180)["status"] == "ready"
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    assert leftovers(server.data_dir)["orphans"] == []


def test_kill_again_during_recovery(serve, long_clip: Path, tmp_path: Path) -> None:
    """Crash mid-transcode, then crash again while the restarted server is still starting
    (migrations, sweep, job recovery); the third start still recovers everything."""
    from reliakit import ServeProcess, write_config

    server = serve()
    token = register(server.url, "twice")
    video = upload(server.url, token, long_clip, "crashed twice")
    deadline = time.monotonic() + 60
    owner = auth(token)  # a video is seen by its owner only until it is ready
    while (
        httpx.get(f"{server.url}/api/videos/{video['id']}", headers=owner).json()["progress"] <= 0
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (server.data_dir / "tmp" / "upload-stale.upload").write_bytes(b"half")
    assert server.kill9() == []
    for delay in (0.3, 1.0, 2.0):
        again = ServeProcess(server.data_dir, write_config(tmp_path / "again.toml"))
        try:
            again.start(timeout=delay)  # SIGKILLs its process group when not up by then
        except (TimeoutError, RuntimeError):
            pass
        else:
            again.kill9()
        again.kill()
        assert integrity(server.db_path) == "ok"
    server = serve(server.data_dir)
    assert wait_status(server.url, video["id"], timeout=180)["status"] == "ready"
    assert_clean(server.data_dir)
