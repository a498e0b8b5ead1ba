"""Issue 14 attacks replayed over HTTP: unpublished videos, bought trending, forged client
addresses and dead share links."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from serverkit import assert_problem, db_connect, query, seed_video, sse_events


def _make_admin(live, handle: str) -> None:
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
    finally:
        conn.close()


# ------------------------------------------------------------------ 8: unpublished videos


def _every_route(c: httpx.Client, vid: str, headers: dict[str, str]) -> dict[str, httpx.Response]:
    return {
        "video": c.get(f"/api/videos/{vid}", headers=headers),
        "media": c.get(f"/api/videos/{vid}/media/240p", headers=headers),
        "media head": c.head(f"/api/videos/{vid}/media/240p", headers=headers),
        "poster": c.get(f"/api/videos/{vid}/poster", headers=headers),
        "hls": c.get(f"/api/videos/{vid}/hls/master.m3u8", headers=headers),
        "hls file": c.get(f"/api/videos/{vid}/hls/240p/index.m3u8", headers=headers),
        "comments": c.get(f"/api/videos/{vid}/comments", headers=headers),
        "comment": c.post(f"/api/videos/{vid}/comments", json={"body": "hi"}, headers=headers),
        "like": c.put(f"/api/videos/{vid}/like", headers=headers),
        "unlike": c.delete(f"/api/videos/{vid}/like", headers=headers),
        "view": c.post(f"/api/videos/{vid}/views", json={"watch_ms": 20_000}, headers=headers),
        "share": c.post(f"/api/videos/{vid}/share", headers=headers),
        "not interested": c.post(f"/api/videos/{vid}/not-interested", headers=headers),
        "share page": c.get(f"/v/{vid}", headers=headers),
        "delete": c.delete(f"/api/videos/{vid}", headers=headers),
    }


@pytest.mark.parametrize("status", ["processing", "failed"])
def test_unpublished_video_is_404_to_everyone_but_owner_and_admins(live_server, status):
    c, auth = live_server.client, live_server.auth
    owner = live_server.register("maker")
    stranger = live_server.register("stranger")
    admin = live_server.register("boss")
    _make_admin(live_server, "boss")
    vid = seed_video(live_server, "maker", "secret draft #soon", status=status)

    for who, headers in (("anonymous", {}), ("stranger", auth(stranger))):
        for route, r in _every_route(c, vid, headers).items():
            if who == "anonymous" and route in {"comment", "like", "unlike", "not interested"}:
                assert r.status_code == 401, (who, route, r.status_code)
            elif who == "anonymous" and route == "delete":
                assert r.status_code == 401
            elif route == "media head":
                assert r.status_code == 404
            else:
                assert_problem(r, 404)
                assert "secret" not in r.text, (who, route)

    # the owner and admins see it, nobody interacts with it, and it leaves no trace
    for headers in (auth(owner), auth(admin)):
        seen = c.get(f"/api/videos/{vid}", headers=headers)
        assert seen.status_code == 200 and seen.json()["caption"] == "secret draft #soon"
    for verb, path, body in (
        ("PUT", "like", None),
        ("POST", "views", {"watch_ms": 20_000}),
        ("POST", "share", None),
        ("POST", "comments", {"body": "me first"}),
        ("POST", "not-interested", None),
    ):
        r = c.request(verb, f"/api/videos/{vid}/{path}", json=body, headers=auth(owner))
        assert_problem(r, 409)
    row = query(
        live_server, "SELECT likes, views, shares, comments FROM videos WHERE id = ?", (vid,)
    )
    assert tuple(row[0]) == (0, 0, 0, 0)
    assert query(live_server, "SELECT COUNT(*) FROM events WHERE video_id = ?", (vid,))[0][0] == 0


def test_failed_video_error_never_shows_server_paths(live_server):
    owner = live_server.register("maker")
    vid = seed_video(live_server, "maker", "broken", status="failed")
    where = live_server.data_dir / "media" / vid[:2] / vid / "240p.mp4"
    conn = db_connect(live_server.db_path)
    try:  # what a crashed transcode records
        conn.execute(
            "UPDATE videos SET error = ? WHERE id = ?",
            (f"transcode failed: FileNotFoundError: [Errno 2] No such file: '{where}'", vid),
        )
    finally:
        conn.close()
    error = live_server.client.get(f"/api/videos/{vid}", headers=live_server.auth(owner)).json()[
        "error"
    ]
    assert "240p.mp4" in error and "No such file" in error
    assert str(live_server.data_dir) not in error and "/media/" not in error


def test_video_events_go_only_to_the_owner(live_server, clip):
    c, auth = live_server.client, live_server.auth
    owner = live_server.register("maker")
    stranger = live_server.register("stranger")
    public = seed_video(live_server, "maker", "already public")
    streams = {"owner": auth(owner), "stranger": auth(stranger), "anonymous": {}}
    seen: dict[str, list[tuple[str, dict | None]]] = {name: [] for name in streams}
    opened = threading.Barrier(len(streams) + 1)

    def listen(name: str) -> None:
        with (
            httpx.Client(base_url=live_server.url, timeout=60) as sse,
            sse.stream("GET", "/api/events", headers=streams[name]) as response,
        ):
            events = sse_events(response)
            next(events)  # hello: subscribed from here on
            opened.wait()
            for event, data in events:
                seen[name].append((event, data))
                # the marker below is published after the video is ready
                if event == "counts" and data and data.get("video_id") == public:
                    return

    threads = [threading.Thread(target=listen, args=(n,), daemon=True) for n in streams]
    for t in threads:
        t.start()
    opened.wait(timeout=30)
    with clip.open("rb") as f:
        r = c.post(
            "/api/videos",
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"caption": "private until ready"},
            headers=auth(owner),
        )
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    deadline = time.monotonic() + 90
    while c.get(f"/api/videos/{vid}", headers=auth(owner)).json()["status"] == "processing":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    c.put(f"/api/videos/{public}/like", headers=auth(stranger))  # the marker
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    assert ("video.ready", {"video_id": vid}) in seen["owner"]
    for name in ("stranger", "anonymous"):
        assert not [e for e, _ in seen[name] if e.startswith("video.")], seen[name]


# ------------------------------------------------------------------ 9: trending manipulation


def test_repeated_shares_count_once_per_account_and_cannot_buy_trending(make_server):
    live = make_server()
    c, auth = live.client, live.auth
    live.register("creator")
    spammed = seed_video(live, "creator", "nobody likes this")
    liked = seed_video(live, "creator", "people like this")
    fillers = [seed_video(live, "creator", f"filler {i}") for i in range(3)]
    for _ in range(5):  # five people like it
        fan = live.register()
        assert c.put(f"/api/videos/{liked}/like", headers=auth(fan)).status_code == 200

    for _ in range(20):
        r = c.post(f"/api/videos/{spammed}/share")
        assert r.status_code == 200 and r.json()["shares"] == 0  # the link, not a count
    spammer = live.register()
    for _ in range(20):
        r = c.post(f"/api/videos/{spammed}/share", headers=auth(spammer))
        assert r.status_code == 200 and r.json()["shares"] == 1
    assert query(live, "SELECT COUNT(*) FROM shares WHERE video_id = ?", (spammed,))[0][0] == 1
    for i in range(20):  # and one account comments on and on
        r = c.post(
            f"/api/videos/{spammed}/comments", json={"body": f"up {i}"}, headers=auth(spammer)
        )
        assert r.status_code == 201

    live.server.stop()  # a restart fits the recommender on everything logged so far
    live = make_server(data_dir=live.data_dir)
    items = live.client.get("/api/feed/trending", params={"limit": 10}).json()["items"]
    order = [item["video"]["id"] for item in items]
    assert order[0] == liked, "one account's 40 calls beat five people's likes"
    assert set(order[2:]) == set(fillers)


# ------------------------------------------------------------------ 10: forwarded headers


def test_forged_forwarded_for_neither_multiplies_views_nor_bypasses_the_login_limit(
    make_server,
):
    live = make_server(limits={"login_rate_per_minute": 3})
    live.register("viewer")  # one register attempt spent
    vid = seed_video(live, "viewer", "watch me")
    for i in range(20):
        r = live.client.post(
            f"/api/videos/{vid}/views",
            json={"watch_ms": 15_000},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        assert r.status_code == 204
    assert live.client.get(f"/api/videos/{vid}").json()["counts"]["views"] == 1

    codes = [
        live.client.post(
            "/api/auth/login",
            json={"handle": "viewer", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
        ).status_code
        for i in range(6)
    ]
    assert 429 in codes, codes


def test_a_trusted_proxy_is_believed(make_server):
    live = make_server(server={"trusted_proxies": ["127.0.0.1"]})
    live.register("viewer")
    vid = seed_video(live, "viewer", "watch me")
    for i in range(3):
        live.client.post(
            f"/api/videos/{vid}/views",
            json={"watch_ms": 15_000},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
    assert live.client.get(f"/api/videos/{vid}").json()["counts"]["views"] == 3


# ------------------------------------------------------------------ 15: share links


def test_share_link_opens_the_share_page(live_server, owner):
    _, token, vid = owner
    r = live_server.client.post(f"/api/videos/{vid}/share", headers=live_server.auth(token))
    assert r.status_code == 200
    url = r.json()["url"]
    assert url == f"{live_server.url}/v/{vid}"
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "hello #world" in page.text


def test_share_link_uses_public_url(make_server):
    live = make_server(server={"public_url": "https://clips.example.org/"})
    token = live.register("maker")
    vid = seed_video(live, "maker", "public")
    r = live.client.post(f"/api/videos/{vid}/share", headers=live.auth(token))
    assert r.json()["url"] == f"https://clips.example.org/v/{vid}"
