"""Profiles, a user's videos with cursor pagination, follows."""

from __future__ import annotations

import time

import pytest
from serverkit import assert_problem, seed_video


@pytest.fixture(scope="module")
def live_server(module_server):
    """These tests only touch their own users and videos: the module shares one server."""
    return module_server


def test_profile_counts_and_is_following(live_server):
    c, auth = live_server.client, live_server.auth
    star = live_server.register("star")
    fan = live_server.register("fan")
    video_id = seed_video(live_server, "star")
    seed_video(live_server, "star")
    assert c.put(f"/api/videos/{video_id}/like", headers=auth(fan)).status_code == 200
    assert c.put("/api/users/star/follow", headers=auth(fan)).status_code == 204

    profile = c.get("/api/users/star", headers=auth(fan)).json()
    for key in ("handle", "display_name", "bio", "followers", "following", "videos"):
        assert key in profile
    assert profile["followers"] == 1
    assert profile["following"] == 0
    assert profile["videos"] == 2
    assert profile["likes_received"] == 1
    assert profile["is_following"] is True
    fan_profile = c.get("/api/users/fan", headers=auth(star)).json()
    assert fan_profile["following"] == 1
    assert fan_profile["is_following"] is False
    # anonymous viewers and yourself: no follow state
    assert c.get("/api/users/star").json()["is_following"] is None
    assert c.get("/api/users/star", headers=auth(star)).json()["is_following"] is None


def test_follow_unfollow_idempotent(live_server):
    c, auth = live_server.client, live_server.auth
    live_server.register("target")
    me = live_server.register("follower")
    for _ in range(3):
        assert c.put("/api/users/target/follow", headers=auth(me)).status_code == 204
    assert c.get("/api/users/target").json()["followers"] == 1
    for _ in range(2):
        assert c.delete("/api/users/target/follow", headers=auth(me)).status_code == 204
    assert c.get("/api/users/target").json()["followers"] == 0
    assert c.get("/api/users/follower").json()["following"] == 0


def test_follow_errors(live_server):
    c, auth = live_server.client, live_server.auth
    me = live_server.register("selfie")
    assert_problem(c.put("/api/users/selfie/follow", headers=auth(me)), 422)
    assert_problem(c.put("/api/users/nobody_here/follow", headers=auth(me)), 404)
    assert_problem(c.delete("/api/users/nobody_here/follow", headers=auth(me)), 404)
    assert_problem(c.put("/api/users/selfie/follow"), 401)
    assert_problem(c.get("/api/users/nobody_here"), 404)
    assert_problem(c.get("/api/users/nobody_here/videos"), 404)


def test_user_videos_newest_first_with_cursor(live_server):
    c = live_server.client
    live_server.register("maker")
    base = time.time() - 1000
    ids = [seed_video(live_server, "maker", f"clip {i}", created_at=base + i) for i in range(7)]
    # same timestamp for two videos: the cursor must not lose or repeat either
    ids.append(seed_video(live_server, "maker", "tie a", created_at=base + 100))
    ids.append(seed_video(live_server, "maker", "tie b", created_at=base + 100))
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = c.get("/api/users/maker/videos", params=params).json()
        assert len(page["items"]) <= 2
        seen += [v["id"] for v in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 20
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    created = [c.get(f"/api/videos/{v}").json()["created_at"] for v in seen]
    assert created == sorted(created, reverse=True)
    assert seen[-7:] == ids[6::-1]


def test_processing_videos_only_visible_to_owner(live_server):
    c, auth = live_server.client, live_server.auth
    owner = live_server.register("busy")
    other = live_server.register("nosy")
    busy = seed_video(live_server, "busy", "still cooking #secretdish", status="processing")
    ready = seed_video(live_server, "busy", "done #secretdish")
    assert [v["id"] for v in c.get("/api/users/busy/videos").json()["items"]] == [ready]
    assert [
        v["id"] for v in c.get("/api/users/busy/videos", headers=auth(other)).json()["items"]
    ] == [ready]
    assert len(c.get("/api/users/busy/videos", headers=auth(owner)).json()["items"]) == 2
    # nor in search (words, #tag, as anyone), nor in any feed
    for headers in ({}, auth(other), auth(owner)):
        for q in ("cooking", "still", "#secretdish", "secretdish"):
            found = c.get("/api/search", params={"q": q}, headers=headers).json()["videos"]
            assert busy not in [v["id"] for v in found], q
        c.put("/api/users/busy/follow", headers=auth(other))
        for feed in ("for-you", "trending", "following"):
            r = c.get(f"/api/feed/{feed}", params={"limit": 50}, headers=headers)
            if r.status_code == 401:  # following needs a user
                continue
            assert busy not in [item["video"]["id"] for item in r.json()["items"]], feed
    # its media, poster, HLS and share page do not exist yet, for anyone
    for headers in ({}, auth(other), auth(owner)):
        for path in ("media/240p", "poster", "hls/master.m3u8"):
            assert_problem(c.get(f"/api/videos/{busy}/{path}", headers=headers), 404)
    assert "still cooking" not in c.get(f"/v/{busy}").text
    assert c.get(f"/v/{busy}").status_code != 200


def test_notifications_newest_first_with_cursor(live_server, owner):
    owner_handle, owner_token, video_id = owner
    c, auth = live_server.client, live_server.auth
    fan = live_server.register("fan_pages")
    c.put(f"/api/videos/{video_id}/like", headers=auth(fan))
    comment = c.post(
        f"/api/videos/{video_id}/comments", json={"body": "hi"}, headers=auth(fan)
    ).json()
    c.put(f"/api/users/{owner_handle}/follow", headers=auth(fan))
    items, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = c.get("/api/notifications", params=params, headers=auth(owner_token)).json()
        assert len(page["items"]) <= 2
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert [(n["kind"], n["video_id"], n["comment_id"]) for n in items] == [
        ("follow", None, None),
        ("comment", video_id, comment["id"]),
        ("like", video_id, None),
    ]
    assert {n["actor"] for n in items} == {"fan_pages"}
    assert all(n["read"] is False and n["created_at"].endswith("Z") for n in items)
    ids = [n["id"] for n in items]
    assert ids == sorted(ids, reverse=True)
