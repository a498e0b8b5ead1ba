"""Likes, views (counted once, by the 50 % / 10 s rules), shares, not-interested."""

from __future__ import annotations

import pytest
from serverkit import assert_problem, query, seed_video


@pytest.fixture(scope="module")
def live_server(module_server):
    """These tests only touch their own users and videos: the module shares one server."""
    return module_server


def test_like_unlike_idempotent(live_server, owner):
    _, owner_token, video_id = owner
    c, auth = live_server.client, live_server.auth
    fan = live_server.register()
    for _ in range(3):
        r = c.put(f"/api/videos/{video_id}/like", headers=auth(fan))
        assert r.status_code == 200
        assert r.json() == {"liked": True, "likes": 1}
    video = c.get(f"/api/videos/{video_id}", headers=auth(fan)).json()
    assert video["counts"]["likes"] == 1
    assert video["liked_by_me"] is True
    assert (
        c.get(f"/api/videos/{video_id}", headers=auth(owner_token)).json()["liked_by_me"] is False
    )
    for _ in range(2):
        r = c.delete(f"/api/videos/{video_id}/like", headers=auth(fan))
        assert r.status_code == 200
        assert r.json() == {"liked": False, "likes": 0}
    assert (
        query(live_server, "SELECT COUNT(*) FROM likes WHERE video_id = ?", (video_id,))[0][0] == 0
    )
    assert_problem(c.put(f"/api/videos/{video_id}/like"), 401)


def test_unknown_video_is_404(live_server):
    c, auth = live_server.client, live_server.auth
    token = live_server.register()
    for method, path in (
        ("PUT", "like"),
        ("DELETE", "like"),
        ("POST", "share"),
        ("POST", "not-interested"),
    ):
        assert_problem(
            c.request(method, f"/api/videos/nosuchvideo1/{path}", headers=auth(token)), 404
        )
    assert_problem(c.post("/api/videos/nosuchvideo1/views", json={"watch_ms": 5}), 404)
    assert_problem(c.get("/api/videos/nosuchvideo1"), 404)
    assert_problem(c.get("/api/videos/nosuchvideo1/comments"), 404)


def _views(live_server, video_id: str) -> int:
    return live_server.client.get(f"/api/videos/{video_id}").json()["counts"]["views"]


def test_view_counts_at_half_the_duration_once(live_server, owner):
    _, _, video_id = owner  # a 20-second video: 50 % is 10 s, so use a shorter one
    handle = owner[0]
    short = seed_video(live_server, handle, "four seconds", duration_s=4.0)
    c, auth = live_server.client, live_server.auth
    viewer = live_server.register()
    assert (
        c.post(
            f"/api/videos/{short}/views", json={"watch_ms": 1500}, headers=auth(viewer)
        ).status_code
        == 204
    )
    assert _views(live_server, short) == 0  # 37 % of 4 s: not a view
    assert (
        c.post(
            f"/api/videos/{short}/views", json={"watch_ms": 2000}, headers=auth(viewer)
        ).status_code
        == 204
    )
    assert _views(live_server, short) == 1  # exactly 50 %
    c.post(f"/api/videos/{short}/views", json={"watch_ms": 4000}, headers=auth(viewer))
    assert _views(live_server, short) == 1  # once per viewer
    other = live_server.register()
    c.post(f"/api/videos/{short}/views", json={"watch_ms": 3000}, headers=auth(other))
    assert _views(live_server, short) == 2
    # every report is logged for the recommender, counted or not
    logged = query(
        live_server,
        "SELECT COUNT(*) FROM events WHERE kind = 'view' AND video_id = ?",
        (short,),
    )[0][0]
    assert logged == 4
    assert _views(live_server, video_id) == 0


def test_view_counts_at_ten_seconds_on_long_video(live_server):
    c, auth = live_server.client, live_server.auth
    live_server.register("longform")
    long_video = seed_video(live_server, "longform", "two minutes", duration_s=120.0)
    viewer = live_server.register()
    c.post(f"/api/videos/{long_video}/views", json={"watch_ms": 9_999}, headers=auth(viewer))
    assert _views(live_server, long_video) == 0  # 8 % and < 10 s
    c.post(f"/api/videos/{long_video}/views", json={"watch_ms": 10_000}, headers=auth(viewer))
    assert _views(live_server, long_video) == 1
    rows = query(
        live_server,
        "SELECT watch_ms, counted FROM views WHERE video_id = ? ORDER BY id",
        (long_video,),
    )
    assert [(r[0], r[1]) for r in rows] == [(9_999, 0), (10_000, 1)]
    events = query(
        live_server, "SELECT value FROM events WHERE kind = 'view' AND video_id = ?", (long_video,)
    )
    assert len(events) == 2
    assert 0 < events[0][0] < 0.1


def test_anonymous_views_count_once_per_address(live_server, owner):
    c = live_server.client
    video_id = owner[2]
    for _ in range(3):
        assert c.post(f"/api/videos/{video_id}/views", json={"watch_ms": 15_000}).status_code == 204
    assert _views(live_server, video_id) == 1


def test_view_body_validation(live_server, owner):
    c = live_server.client
    video_id = owner[2]
    for body in ({}, {"watch_ms": -1}, {"watch_ms": "ten"}, {"watch_ms": 5, "extra": 1}, [1]):
        assert_problem(c.post(f"/api/videos/{video_id}/views", json=body), 422)
    assert _views(live_server, video_id) == 0


def test_share_returns_url_and_count(live_server, owner):
    c, auth = live_server.client, live_server.auth
    video_id = owner[2]
    r = c.post(f"/api/videos/{video_id}/share")
    assert r.status_code == 200
    assert r.json()["shares"] == 0  # anyone gets the link; an account's share counts
    assert r.json()["url"].endswith(video_id)
    r = c.post(f"/api/videos/{video_id}/share", headers=auth(live_server.register()))
    assert r.json()["shares"] == 1
    r = c.post(f"/api/videos/{video_id}/share", headers=auth(live_server.register()))
    assert r.json()["shares"] == 2
    assert c.get(f"/api/videos/{video_id}").json()["counts"]["shares"] == 2


def test_not_interested(live_server, owner):
    c, auth = live_server.client, live_server.auth
    video_id = owner[2]
    token = live_server.register()
    for _ in range(2):
        assert (
            c.post(f"/api/videos/{video_id}/not-interested", headers=auth(token)).status_code == 204
        )
    rows = query(live_server, "SELECT COUNT(*) FROM not_interested WHERE video_id = ?", (video_id,))
    assert rows[0][0] == 1
    assert_problem(c.post(f"/api/videos/{video_id}/not-interested"), 401)
