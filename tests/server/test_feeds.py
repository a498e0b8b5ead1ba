"""Feeds: For You (anonymous and empty DB too), cursor chains without repeats, following,
trending, and per-user blend weights."""

from __future__ import annotations

import time

from serverkit import assert_problem, query, seed_video


def _walk(live, path: str, headers=None, limit: int = 4, max_pages: int = 50) -> list[list[str]]:
    """Follow next_cursor until the chain ends; the video ids of each page."""
    pages, cursor = [], None
    while len(pages) < max_pages:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = live.client.get(path, params=params, headers=headers or {})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        pages.append([item["video"]["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    return pages


def _await_catalogue(live, n: int, timeout: float = 15.0) -> None:
    """The feed engine picks up new videos in the background: wait until n are served."""
    deadline = time.monotonic() + timeout
    while True:
        pages = _walk(live, "/api/feed/trending", limit=50)
        if sum(map(len, pages)) >= n:
            return
        assert time.monotonic() < deadline, f"the feed never reached {n} videos: {pages}"
        time.sleep(0.25)


def test_for_you_on_empty_database(live_server):
    r = live_server.client.get("/api/feed/for-you")
    assert r.status_code == 200
    assert r.json() == {"items": [], "next_cursor": None}
    token = live_server.register()
    r = live_server.client.get("/api/feed/for-you", headers=live_server.auth(token))
    assert r.status_code == 200
    assert r.json()["items"] == []
    assert live_server.client.get("/api/feed/trending").json()["items"] == []


def test_for_you_chain_never_repeats(live_server):
    live_server.register("creator_a")
    live_server.register("creator_b")
    ids = {
        seed_video(live_server, h, f"clip {i} #topic{i % 3}")
        for i in range(13)
        for h in (("creator_a", "creator_b")[i % 2],)
    }
    viewer = live_server.register()
    _await_catalogue(live_server, len(ids))
    for headers in ({}, live_server.auth(viewer)):
        pages = _walk(live_server, "/api/feed/for-you", headers=headers, limit=4)
        served = [v for page in pages for v in page]
        assert len(served) == len(set(served)), "a video repeated within one cursor chain"
        assert set(served) <= ids
        assert len(served) == len(ids)  # the chain reaches every ready video, then ends
        first = live_server.client.get(
            "/api/feed/for-you", params={"limit": 4}, headers=headers
        ).json()
        item = first["items"][0]
        assert set(item) >= {"video", "score", "reasons", "explanation"}
        assert isinstance(item["explanation"], str) and item["explanation"]
        for reason in item["reasons"]:
            assert set(reason) >= {"kind", "weight", "text"}


def test_for_you_skips_unready_videos(live_server):
    live_server.register("mixed")
    ready = seed_video(live_server, "mixed", "ready one")
    seed_video(live_server, "mixed", "not yet", status="processing")
    seed_video(live_server, "mixed", "broken", status="failed")
    _await_catalogue(live_server, 1)
    time.sleep(0.5)
    served = [v for p in _walk(live_server, "/api/feed/for-you") for v in p]
    assert served == [ready]


def test_trending_orders_by_engagement_and_never_repeats(make_server):
    live_server = make_server(feed={"refit_interval_s": 0.1})
    live_server.register("trendy")
    quiet = seed_video(live_server, "trendy", "quiet")
    loud = seed_video(live_server, "trendy", "loud")
    others = [seed_video(live_server, "trendy", f"filler {i}") for i in range(5)]
    for _ in range(3):
        fan = live_server.register()
        live_server.client.put(f"/api/videos/{loud}/like", headers=live_server.auth(fan))
    deadline = time.monotonic() + 15
    while True:  # likes reach the trending score at the next background refit
        body = live_server.client.get("/api/feed/trending", params={"limit": 10}).json()
        order = [item["video"]["id"] for item in body["items"]]
        if order and order[0] == loud and len(order) == 7:
            break
        assert time.monotonic() < deadline, order
        time.sleep(0.25)
    assert set(order) == {quiet, loud, *others}
    pages = _walk(live_server, "/api/feed/trending", limit=3)
    served = [v for p in pages for v in p]
    assert len(served) == len(set(served)) == 7


def test_following_feed(live_server):
    c, auth = live_server.client, live_server.auth
    assert_problem(c.get("/api/feed/following"), 401)
    me = live_server.register("watcher")
    live_server.register("followed")
    live_server.register("ignored")
    base = time.time() - 100
    mine = [seed_video(live_server, "followed", f"f{i}", created_at=base + i) for i in range(5)]
    seed_video(live_server, "ignored", "not for me")
    assert c.get("/api/feed/following", headers=auth(me)).json()["items"] == []
    c.put("/api/users/followed/follow", headers=auth(me))
    pages = _walk(live_server, "/api/feed/following", headers=auth(me), limit=2)
    served = [v for p in pages for v in p]
    assert served == mine[::-1]


def test_weights_get_put(live_server):
    c, auth = live_server.client, live_server.auth
    token = live_server.register()
    assert_problem(c.get("/api/feed/weights"), 401)
    defaults = c.get("/api/feed/weights", headers=auth(token)).json()
    expected = live_server.config.feed.weights
    assert defaults == {
        k: getattr(expected, k)
        for k in ("content", "collaborative", "following", "trending", "freshness", "explore")
    }
    r = c.put("/api/feed/weights", json={"trending": 2.5}, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.json() == defaults | {"trending": 2.5}
    r = c.put("/api/feed/weights", json={"explore": 0.0}, headers=auth(token))
    assert r.json() == defaults | {"trending": 2.5, "explore": 0.0}
    assert c.get("/api/feed/weights", headers=auth(token)).json() == r.json()
    for bad in (
        {"trending": -0.1},
        {"trending": 11},
        {"explore": 1.5},
        {"content": "high"},
        {"bogus": 1.0},
        [],
    ):
        r = c.put("/api/feed/weights", json=bad, headers=auth(token))
        assert r.status_code in (400, 422), (bad, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert c.get("/api/feed/weights", headers=auth(token)).json() == defaults | {
        "trending": 2.5,
        "explore": 0.0,
    }
    # another user still sees the defaults
    other = live_server.register()
    assert c.get("/api/feed/weights", headers=auth(other)).json() == defaults


def test_a_page_stays_full_when_a_ranked_video_was_just_removed(make_server):
    """The engine ranks from the catalogue it last read; a video removed since is skipped and
    the ranking asked again, so the page still holds `limit` videos (it came back short)."""
    from mediakit import make_admin

    live = make_server()
    live.register("fill_owner")
    ids = {seed_video(live, "fill_owner", f"fill clip {n} #fill") for n in range(6)}
    deadline = time.monotonic() + 15
    while True:
        ranked = live.client.get("/api/feed/for-you", params={"limit": 6}).json()["items"]
        if {i["video"]["id"] for i in ranked} == ids:
            break
        assert time.monotonic() < deadline, "the videos never reached the feed"
        time.sleep(0.2)
    admin = live.auth(make_admin(live, "fill_admin"))
    top = ranked[0]["video"]["id"]  # the first one the engine ranks for a new chain
    r = live.client.post(f"/api/admin/reports/video/{top}/remove", headers=admin)
    assert r.status_code == 200, r.text
    page = live.client.get("/api/feed/for-you", params={"limit": 5}).json()["items"]
    assert [i["video"]["id"] for i in page if i["video"]["id"] == top] == []
    assert len(page) == 5, [i["video"]["id"] for i in page]


def _impressions(live) -> list[tuple[int | None, str]]:
    rows = query(live, "SELECT user_id, video_id FROM events WHERE kind = 'impression' ORDER BY id")
    return [(r[0], r[1]) for r in rows]


def test_impressions_are_logged_after_the_page_and_at_shutdown(make_server):
    """A page's impressions are written off the request path: a moment later, in one batch
    with other pages', and whatever is pending when the server stops."""
    live = make_server()
    live.register("maker")
    ids = {seed_video(live, "maker", f"clip {i}") for i in range(6)}
    viewer = live.register("looker")
    (viewer_id,) = query(live, "SELECT id FROM users WHERE handle = 'looker'")[0]
    _await_catalogue(live, len(ids))
    first = live.client.get("/api/feed/for-you", params={"limit": 3}, headers=live.auth(viewer))
    shown = [item["video"]["id"] for item in first.json()["items"]]
    assert len(shown) == 3
    deadline = time.monotonic() + 10
    while _impressions(live) != [(viewer_id, v) for v in shown]:
        assert time.monotonic() < deadline, _impressions(live)
        time.sleep(0.05)
    # pending impressions are not lost when the server stops right after serving them
    live.client.get("/api/feed/for-you", params={"limit": 3}, headers=live.auth(viewer))
    live.server.stop()
    assert len(_impressions(live)) == 6
    assert {v for _, v in _impressions(live)} <= ids
