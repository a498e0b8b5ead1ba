"""A real server on a real Postgres ([database] url): the main paths through HTTP, the same
answers as on SQLite. `pytest --postgres tests/server` runs every live-server test there too."""

from __future__ import annotations

import time

import httpx
import pytest
from mediakit import upload_and_wait
from serverkit import assert_problem, query, seed_video, sse_events


@pytest.fixture
def pg_server(make_server, pg_url):
    return make_server(database={"url": pg_url})


def _await_feed(live, n: int, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        items = live.client.get("/api/feed/for-you", params={"limit": 20}).json()["items"]
        if len(items) >= n or time.monotonic() > deadline:
            return [item["video"]["id"] for item in items]
        time.sleep(0.2)


def test_server_runs_on_postgres_and_keeps_no_sqlite_file(pg_server):
    assert str(pg_server.db_path).startswith("postgresql://")
    assert not (pg_server.data_dir / "shortstack.db").exists()
    tables = {r[0] for r in query(pg_server, "SELECT tablename FROM pg_tables")}
    assert {"users", "videos", "likes", "videos_fts", "shortstack_migrations"} <= tables


def test_register_like_comment_follow_feeds_search_and_events(pg_server):
    c, auth = pg_server.client, pg_server.auth
    alice = pg_server.register("alice_pg")
    bob = pg_server.register("bob_pg")
    assert_problem(
        c.post("/api/auth/register", json={"handle": "alice_pg", "password": "kettle-harbor-58"}),
        409,
    )
    video = seed_video(pg_server, "alice_pg", "Sunset over the harbour #sea #evening")
    other = seed_video(pg_server, "bob_pg", "Morning run #fitness")

    # alice's live events: bob's like reaches her as counts and a notification
    with (
        httpx.Client(base_url=pg_server.url, timeout=10.0) as sse,
        sse.stream("GET", "/api/events", headers=auth(alice)) as response,
    ):
        stream = sse_events(response)
        assert next(stream) == ("hello", {"user": "alice_pg"})
        r = c.put(f"/api/videos/{video}/like", headers=auth(bob))
        assert r.status_code == 200, r.text
        got: dict[str, dict] = {}
        deadline = time.monotonic() + 10
        for event, data in stream:
            got.setdefault(event, data)
            if {"counts", "notification"} <= set(got) or time.monotonic() > deadline:
                break
    assert got["counts"] == {"video_id": video, "likes": 1}
    assert got["notification"]["kind"] == "like"
    assert got["notification"]["actor"] == "bob_pg"

    assert c.put(f"/api/videos/{video}/like", headers=auth(bob)).status_code == 200  # idempotent
    assert c.get(f"/api/videos/{video}", headers=auth(bob)).json()["counts"]["likes"] == 1
    r = c.post(
        f"/api/videos/{video}/comments", json={"body": "lovely 100% 'quoted'"}, headers=auth(bob)
    )
    assert r.status_code == 201, r.text
    comment = r.json()
    r = c.post(
        f"/api/videos/{video}/comments",
        json={"body": "thanks!", "parent_id": comment["id"]},
        headers=auth(alice),
    )
    assert r.status_code == 201, r.text
    listed = c.get(f"/api/videos/{video}/comments").json()["items"]
    assert [x["body"] for x in listed] == ["lovely 100% 'quoted'"]
    assert listed[0]["reply_count"] == 1
    assert c.get(f"/api/videos/{video}").json()["counts"]["comments"] == 2

    assert c.put("/api/users/alice_pg/follow", headers=auth(bob)).status_code == 204
    profile = c.get("/api/users/alice_pg", headers=auth(bob)).json()
    assert profile["followers"] == 1
    following = c.get("/api/feed/following", headers=auth(bob)).json()["items"]
    assert [item["video"]["id"] for item in following] == [video]

    assert set(_await_feed(pg_server, 2)) == {video, other}
    trending = c.get("/api/feed/trending").json()["items"]
    assert {item["video"]["id"] for item in trending} == {video, other}

    res = c.get("/api/search", params={"q": "harb"}).json()  # prefix of a caption word
    assert [v["id"] for v in res["videos"]] == [video]
    res = c.get("/api/search", params={"q": "#sea"}).json()
    assert [v["id"] for v in res["videos"]] == [video]
    assert {"tag": "sea", "videos": 1} in res["hashtags"]
    res = c.get("/api/search", params={"q": "@bob"}).json()
    assert [u["handle"] for u in res["users"]] == ["bob_pg"]
    assert c.get("/api/search", params={"q": "nothing\x00here"}).status_code == 200

    # the counters in the rows agree with the rows they count
    row = query(
        pg_server,
        "SELECT v.likes, v.comments, (SELECT COUNT(*) FROM likes l WHERE l.video_id = v.id),"
        " (SELECT COUNT(*) FROM comments m WHERE m.video_id = v.id) FROM videos v WHERE v.id = ?",
        (video,),
    )[0]
    assert tuple(row) == (1, 2, 1, 2)

    # unlike, delete the comment thread: counters follow
    assert c.delete(f"/api/videos/{video}/like", headers=auth(bob)).json()["likes"] == 0
    assert c.delete(f"/api/comments/{comment['id']}", headers=auth(bob)).status_code == 204
    assert c.get(f"/api/videos/{video}").json()["counts"]["comments"] == 0


def test_upload_transcodes_on_postgres(pg_server, clip):
    token = pg_server.register("uploader_pg")
    video = upload_and_wait(pg_server.url, token, clip, "made on postgres #pg")
    assert video["status"] == "ready", video
    assert video["renditions"] and video["hashtags"] == ["pg"]
    res = pg_server.client.get("/api/search", params={"q": "#pg"}).json()
    assert [v["id"] for v in res["videos"]] == [video["id"]]
    jobs = query(pg_server, "SELECT status FROM jobs WHERE video_id = ?", (video["id"],))
    assert [r["status"] for r in jobs] == ["done"]


# uvicorn ends its thread with SystemExit when the app's start-up fails: that is the point here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_unreachable_postgres_stops_the_start_with_a_clear_log_line(tmp_path):
    from liveserver import test_config

    from shortstack.server.embedded import EmbeddedServer

    url = "postgresql://nobody:hunter2@127.0.0.1:9/none?connect_timeout=2"
    server = EmbeddedServer(test_config(database={"url": url}), tmp_path / "data")
    with pytest.raises(RuntimeError):
        server.start(timeout=30)
    log = (tmp_path / "data" / "server.log").read_text()
    assert "cannot reach the Postgres database postgresql://nobody:***@127.0.0.1:9/none" in log
    assert "hunter2" not in log
