"""Health check and the published OpenAPI document."""

from __future__ import annotations

import os
import signal
import time

from serverkit import db_connect, wait_ready

from shortstack.server.jobs import JobRunner


def test_healthz(module_server):
    r = module_server.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "db": "ok",
        "workers": "ok",
        "jobs": {"queued": 0, "running": 0, "failed": 0},
        "failing": [],
    }


def test_openapi_document_lists_the_contract(module_server):
    r = module_server.client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/me",
        "/api/users/{handle}",
        "/api/videos",
        "/api/videos/{video_id}",
        "/api/videos/{video_id}/media/{rendition}",
        "/api/videos/{video_id}/like",
        "/api/videos/{video_id}/comments",
        "/api/comments/{comment_id}",
        "/api/feed/for-you",
        "/api/feed/weights",
        "/api/search",
        "/api/events",
        "/healthz",
    ):
        assert path in paths, path
    assert "bearer" in doc["components"]["securitySchemes"]


def _runner(live) -> JobRunner:
    """The server's job runner, as its handlers get it (the `jobs` dependency)."""
    return live.server.app.dependencies["jobs"].dependency()


def test_killed_worker_is_degraded_until_the_next_job_restarts_it(make_server, clip):
    """A transcode worker killed (as the OOM killer would) makes /healthz a 503 "degraded"
    naming the workers; the next job starts a new one and it is "ok" again. The job counts
    come from a real query: a job row added behind the server's back is counted."""
    live = make_server(media={"prestart_workers": True})
    assert live.client.get("/healthz").json()["workers"] == "ok"
    (state,) = _runner(live).liveness()
    assert state.loop_running and state.pid is not None and state.pid != os.getpid()
    os.kill(state.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while (r := live.client.get("/healthz")).status_code == 200:
        assert time.monotonic() < deadline, "healthz still ok with its worker killed"
        time.sleep(0.05)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "degraded" and body["failing"] == ["workers"]
    assert "process not running" in body["workers"]
    assert body["db"] == "ok"
    assert body["jobs"] == {"queued": 0, "running": 0, "failed": 0}

    token = live.register()
    with clip.open("rb") as fh:
        r = live.client.post(
            "/api/videos",
            files={"file": ("clip.mp4", fh, "video/mp4")},
            data={"caption": "after the crash"},
            headers=live.auth(token),
        )
    assert r.status_code == 202, r.text
    assert wait_ready(live, token, r.json()["id"])["status"] == "ready"
    r = live.client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["failing"] == [] and r.json()["jobs"]["running"] == 0

    conn = db_connect(live.db_path)
    try:
        conn.execute(
            "INSERT INTO jobs (kind, video_id, status, max_attempts, payload, created_at,"
            " updated_at) VALUES ('transcode', NULL, 'failed', 1, '{}', 0, 0)"
        )
    finally:
        conn.close()
    body = live.client.get("/healthz").json()
    assert body["jobs"]["failed"] == 1 and body["status"] == "ok"


def test_a_stopped_job_loop_is_degraded(live_server):
    """A job loop that ended (e.g. crashed on a database error) takes no more jobs: 503."""
    (task,) = _runner(live_server)._tasks
    task.get_loop().call_soon_threadsafe(task.cancel)
    deadline = time.monotonic() + 20
    while (r := live_server.client.get("/healthz")).status_code == 200:
        assert time.monotonic() < deadline, "healthz still ok with its job loop stopped"
        time.sleep(0.05)
    assert r.status_code == 503
    assert r.json()["failing"] == ["workers"]
    assert "job loop stopped" in r.json()["workers"]


def test_a_lazy_worker_is_healthy_before_its_first_job_and_starts_on_it(make_server, clip):
    """`media.prestart_workers = false`: no transcode child until the first job, and /healthz
    says ok meanwhile (nothing has failed); the upload then starts one and is transcoded."""
    from mediakit import upload_and_wait

    live = make_server(media={"prestart_workers": False})
    (state,) = _runner(live).liveness()
    assert state.pid is None and not state.started
    assert live.client.get("/healthz").json()["workers"] == "ok"
    token = live.register("lazyworker")
    video = upload_and_wait(live.url, token, clip, "first job")
    assert video["status"] == "ready", video
    (state,) = _runner(live).liveness()
    assert state.pid is not None and state.started
    assert live.client.get("/healthz").status_code == 200
