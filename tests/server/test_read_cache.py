"""The read caches (video records, trending's first page, /healthz counts) never serve what
a write changed: each test warms a cache, writes, and reads again at once.

Writes come through the API (the server's own writer) and behind the server's back (another
connection, as `shortstack admin` or a worker process would): both must invalidate."""

from __future__ import annotations

import asyncio
import time

import pytest
from serverkit import assert_problem, db_connect, seed_video


def _admin(live, handle: str) -> dict[str, str]:
    token = live.register(handle)
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
    finally:
        conn.close()
    return live.auth(token)


def _behind_the_back(live, sql: str, params: tuple) -> None:
    conn = db_connect(live.db_path)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


def _warm(c, vid: str, headers: dict[str, str] | None = None, times: int = 3) -> dict:
    for _ in range(times):
        r = c.get(f"/api/videos/{vid}", headers=headers or {})
        assert r.status_code == 200, r.text
    return r.json()


def _in_trending(c, vid: str) -> None:
    """Wait until the feed engine has taken in the seeded video (its catalogue refresh)."""
    deadline = time.monotonic() + 30
    while vid not in _trending_ids(c):
        assert time.monotonic() < deadline, "the seeded video never reached trending"
        time.sleep(0.2)
    assert vid in _trending_ids(c)  # and again: the first page is now memoised


def _trending_ids(c, headers: dict[str, str] | None = None) -> list[str]:
    r = c.get("/api/feed/trending?limit=50", headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["video"]["id"] for item in r.json()["items"]]


def test_removed_video_leaves_every_cache_at_once(live_server):
    live, c = live_server, live_server.client
    live.register("maker")
    admin = _admin(live, "boss")
    vid = seed_video(live, "maker", "soon removed #x")
    _warm(c, vid)
    _in_trending(c, vid)
    r = c.post(f"/api/admin/reports/video/{vid}/remove", json={"reason": "spam"}, headers=admin)
    assert r.status_code == 200, r.text
    body = assert_problem(c.get(f"/api/videos/{vid}"), 404)
    assert "soon removed" not in str(body)
    assert vid not in _trending_ids(c)
    assert c.get(f"/api/videos/{vid}", headers=admin).status_code == 200  # admins still see it


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("UPDATE videos SET status = 'processing' WHERE id = ?", "unpublished"),
        ("UPDATE videos SET removed_at = 1 WHERE id = ?", "removed"),
        (
            "UPDATE users SET suspended_at = 1 WHERE id = (SELECT author_id FROM videos WHERE id = ?)",
            "author suspended",
        ),
        ("DELETE FROM videos WHERE id = ?", "deleted"),
    ],
)
def test_a_write_by_another_connection_invalidates(live_server, sql, why):
    live, c = live_server, live_server.client
    live.register("maker")
    stranger = live.auth(live.register("stranger"))
    vid = seed_video(live, "maker", "cached then hidden")
    _warm(c, vid)
    _warm(c, vid, stranger)
    _in_trending(c, vid)
    _behind_the_back(live, sql, (vid,))
    for headers in ({}, stranger):
        assert_problem(c.get(f"/api/videos/{vid}", headers=headers), 404)
        assert vid not in _trending_ids(c, headers), why


def test_block_hides_a_cached_video_from_the_blocked_viewer_only(live_server):
    live, c = live_server, live_server.client
    maker = live.auth(live.register("maker"))
    viewer = live.auth(live.register("viewer"))
    vid = seed_video(live, "maker", "blocked soon")
    _warm(c, vid, viewer)
    assert c.put("/api/users/viewer/block", headers=maker).status_code == 204
    assert_problem(c.get(f"/api/videos/{vid}", headers=viewer), 404)
    assert c.get(f"/api/videos/{vid}").status_code == 200  # others still see it


def test_counts_likes_and_edits_are_fresh_and_liked_by_me_is_per_viewer(live_server):
    live, c = live_server, live_server.client
    maker_token = live.register("maker")
    fan = live.auth(live.register("fan"))
    other = live.auth(live.register("other"))
    vid = seed_video(live, "maker", "counted")
    before = _warm(c, vid, fan)
    _warm(c, vid, other)
    assert before["counts"]["likes"] == 0 and before["liked_by_me"] is False

    assert c.put(f"/api/videos/{vid}/like", headers=fan).status_code == 200
    assert c.get(f"/api/videos/{vid}", headers=fan).json()["liked_by_me"] is True
    theirs = c.get(f"/api/videos/{vid}", headers=other).json()
    assert theirs["liked_by_me"] is False and theirs["counts"]["likes"] == 1
    assert c.get(f"/api/videos/{vid}").json()["counts"]["likes"] == 1

    r = c.post(f"/api/videos/{vid}/comments", json={"body": "nice"}, headers=other)
    assert r.status_code == 201, r.text
    assert c.get(f"/api/videos/{vid}").json()["counts"]["comments"] == 1

    r = c.patch("/api/me", json={"display_name": "New Name"}, headers=live.auth(maker_token))
    assert r.status_code == 200, r.text
    assert c.get(f"/api/videos/{vid}").json()["author"]["display_name"] == "New Name"

    _behind_the_back(live, "UPDATE videos SET caption = 'edited' WHERE id = ?", (vid,))
    assert c.get(f"/api/videos/{vid}").json()["caption"] == "edited"

    assert c.delete(f"/api/videos/{vid}/like", headers=fan).status_code == 200
    mine = c.get(f"/api/videos/{vid}", headers=fan).json()
    assert mine["liked_by_me"] is False and mine["counts"]["likes"] == 0


def test_a_published_video_appears_at_once(live_server):
    """The other way round: a video cached while processing (seen by its owner) is public as
    soon as it is ready."""
    live, c = live_server, live_server.client
    owner = live.auth(live.register("maker"))
    vid = seed_video(live, "maker", "draft", status="processing")
    assert _warm(c, vid, owner)["status"] == "processing"
    assert_problem(c.get(f"/api/videos/{vid}"), 404)
    _behind_the_back(live, "UPDATE videos SET status = 'ready' WHERE id = ?", (vid,))
    assert c.get(f"/api/videos/{vid}").json()["status"] == "ready"


def test_healthz_counts_follow_a_write_at_once(live_server):
    c = live_server.client
    for _ in range(3):
        assert c.get("/healthz").json()["jobs"]["failed"] == 0
    _behind_the_back(
        live_server,
        "INSERT INTO jobs (kind, video_id, status, max_attempts, payload, created_at, updated_at)"
        " VALUES ('transcode', NULL, 'failed', 1, '{}', 0, 0)",
        (),
    )
    assert c.get("/healthz").json()["jobs"]["failed"] == 1


def test_pre_fit_sql_trending_candidates_follow_writes(live_server):
    """The SQL trending (before the first fit) reuses its candidate scan until a commit: a
    like moves a video up, a removal takes it out, at once."""
    live, c = live_server, live_server.client
    live.register("poster")
    fan = live.auth(live.register("fan"))
    first, second = (seed_video(live, "poster", f"clip {n}") for n in ("a", "b"))
    engine = live.server.app.state.engine

    def sql_trending() -> list[str]:
        future = asyncio.run_coroutine_threadsafe(
            engine._sql_trending(k=5, exclude=set()), engine._task.get_loop()
        )
        return [item.video_id for item in future.result(10)]

    before = sql_trending()
    assert set(before) >= {first, second}
    assert sql_trending() == before  # served from the cached scan
    liked = before[-1]
    assert c.put(f"/api/videos/{liked}/like", headers=fan).is_success
    assert sql_trending()[0] == liked
    _behind_the_back(live, "UPDATE videos SET status = 'failed' WHERE id = ?", (liked,))
    assert liked not in sql_trending()
