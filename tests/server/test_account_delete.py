"""DELETE /api/me: everything of the account goes (rows and files), other people's counters
stay exact and a thread keeps a "[deleted]" placeholder for its replies. Real HTTP, real
transcodes."""

from __future__ import annotations

import sqlite3
import time

import pytest
from mediakit import upload_and_wait
from serverkit import assert_problem, db_connect, seed_video

PASSWORD = "kettle-harbor-58"
#: columns that hold a user id (events.value too, for follow events)
USER_COLUMNS = {
    "user_id", "author_id", "actor_id", "follower_id", "followee_id", "created_by",
    "blocker_id", "blocked_id", "muted_id", "reporter_id",
}  # fmt: skip
#: FTS5 index internals: binary segments, not rows (their content tables are walked)
FTS_INTERNALS = ("_data", "_idx", "_docsize", "_config")


@pytest.fixture(scope="module")
def live_server(module_server):
    return module_server


def _rows_naming(conn: sqlite3.Connection, user_id: int, texts: list[str]) -> dict[str, int]:
    """Per table.column, how many rows hold the user's id (in an id column) or one of texts."""
    found: dict[str, int] = {}
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].endswith(FTS_INTERNALS) and not r[0].startswith("sqlite_")
    ]
    for table in tables:
        for col in [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]:
            clauses, params = [], []
            if col in USER_COLUMNS or (table == "users" and col == "id"):
                clauses.append(f'"{col}" = ?')
                params.append(user_id)
            for text in texts:
                clauses.append(f'instr(CAST("{col}" AS TEXT), ?) > 0')
                params.append(text)
            n = conn.execute(
                f'SELECT COUNT(*) FROM "{table}" WHERE {" OR ".join(clauses)}', params
            ).fetchone()[0]
            if n:
                found[f"{table}.{col}"] = n
    n = conn.execute(
        "SELECT COUNT(*) FROM events WHERE kind IN ('follow', 'unfollow') AND value = ?",
        (float(user_id),),
    ).fetchone()[0]
    if n:
        found["events.value"] = n
    return found


def test_delete_account_removes_everything(live_server, clip, clip2):
    s, c, auth = live_server, live_server.client, live_server.auth
    handle = "leaverzq"
    me = s.register(handle)
    ana, bob = s.register("anadel"), s.register("bobdel")
    conn = db_connect(s.db_path)
    uid = conn.execute("SELECT id FROM users WHERE handle = ?", (handle,)).fetchone()[0]
    conn.close()

    # their videos: two real uploads (transcoded, HLS made) and a seeded one
    mine = [
        upload_and_wait(s.url, me, p, f"mine {i} #leaving")["id"]
        for i, p in enumerate([clip, clip2])
    ]
    for vid in mine:
        assert c.get(f"/api/videos/{vid}", headers=auth(me)).json()["status"] == "ready"
        assert c.get(f"/api/videos/{vid}/hls/master.m3u8").status_code == 200
    mine.append(seed_video(s, handle, "seeded #leaving"))
    theirs = seed_video(s, "anadel", "ana's clip #staying")
    before = c.get(f"/api/videos/{theirs}").json()["counts"]

    # what they did to others, and what others did to them
    assert c.put(f"/api/videos/{theirs}/like", headers=auth(me)).status_code == 200
    assert (
        c.post(
            f"/api/videos/{theirs}/views", json={"watch_ms": 15000}, headers=auth(me)
        ).status_code
        == 204
    )
    assert c.post(f"/api/videos/{theirs}/share", headers=auth(me)).status_code == 200
    assert c.post(f"/api/videos/{theirs}/not-interested", headers=auth(me)).status_code == 204
    threaded = c.post(
        f"/api/videos/{theirs}/comments", json={"body": "mine, answered"}, headers=auth(me)
    ).json()
    answer = c.post(
        f"/api/videos/{theirs}/comments",
        json={"body": "bob answers", "parent_id": threaded["id"]},
        headers=auth(bob),
    ).json()
    c.post(f"/api/videos/{theirs}/comments", json={"body": "mine, alone"}, headers=auth(me))
    bobs = c.post(
        f"/api/videos/{theirs}/comments", json={"body": "bob top"}, headers=auth(bob)
    ).json()
    c.post(
        f"/api/videos/{theirs}/comments",
        json={"body": "my reply to bob", "parent_id": bobs["id"]},
        headers=auth(me),
    )
    assert c.put("/api/users/anadel/follow", headers=auth(me)).status_code == 204
    assert c.put(f"/api/users/{handle}/follow", headers=auth(ana)).status_code == 204
    assert c.put(f"/api/videos/{mine[0]}/like", headers=auth(bob)).status_code == 200
    assert (
        c.post(
            f"/api/videos/{mine[0]}/views", json={"watch_ms": 15000}, headers=auth(bob)
        ).status_code
        == 204
    )
    c.post(f"/api/videos/{mine[0]}/comments", json={"body": "bob on leaver"}, headers=auth(bob))
    assert c.get("/api/me", headers=auth(me)).json()["unread_notifications"] >= 3

    # the password is asked again
    assert_problem(
        c.request("DELETE", "/api/me", json={"password": "wrong-password-1"}, headers=auth(me)), 401
    )
    assert_problem(c.request("DELETE", "/api/me", json={}, headers=auth(me)), (400, 422))
    assert_problem(c.request("DELETE", "/api/me", json={"password": PASSWORD}), 401)
    assert c.get("/api/me", headers=auth(me)).status_code == 200
    started = time.perf_counter()
    r = c.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=auth(me))
    assert r.status_code == 204, r.text
    assert time.perf_counter() - started < 10

    assert_problem(c.get("/api/me", headers=auth(me)), 401)
    assert_problem(c.get(f"/api/users/{handle}"), 404)
    assert (
        c.post("/api/auth/login", json={"handle": handle, "password": PASSWORD}).status_code == 401
    )
    for vid in mine:
        assert_problem(c.get(f"/api/videos/{vid}"), 404)

    # other people's counters
    after = c.get(f"/api/videos/{theirs}").json()["counts"]
    assert after["likes"] == before["likes"] == 0
    assert after["views"] == before["views"] and after["shares"] == before["shares"]
    # left: the placeholder (it has bob's answer), bob's answer, bob's top comment
    assert after["comments"] == 3
    top = c.get(f"/api/videos/{theirs}/comments").json()["items"]
    by_id = {x["id"]: x for x in top}
    assert by_id[threaded["id"]]["author"] is None and by_id[threaded["id"]]["body"] == "[deleted]"
    assert by_id[threaded["id"]]["reply_count"] == 1
    assert by_id[bobs["id"]]["reply_count"] == 0
    assert len(top) == 2
    replies = c.get(f"/api/videos/{theirs}/comments", params={"parent_id": threaded["id"]}).json()
    assert [x["id"] for x in replies["items"]] == [answer["id"]]
    # a reply to the placeholder works (nobody to notify)
    assert (
        c.post(
            f"/api/videos/{theirs}/comments",
            json={"body": "still here", "parent_id": threaded["id"]},
            headers=auth(ana),
        ).status_code
        == 201
    )
    a = c.get("/api/users/anadel").json()
    assert (a["followers"], a["following"], a["likes_received"]) == (0, 0, 0)
    b = c.get("/api/users/bobdel").json()
    assert (b["followers"], b["following"]) == (0, 0)
    assert c.get("/api/search", params={"q": "#leaving"}).json()["videos"] == []

    # every table: nothing names them or their videos; counters match the rows
    conn = db_connect(s.db_path)
    try:
        assert _rows_naming(conn, uid, [handle, *mine]) == {}
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM videos v WHERE v.likes != (SELECT COUNT(*) FROM likes WHERE video_id = v.id)"
                " OR v.comments != (SELECT COUNT(*) FROM comments WHERE video_id = v.id)"
                " OR v.shares != (SELECT COUNT(*) FROM shares WHERE video_id = v.id)"
                " OR v.views != (SELECT COUNT(*) FROM views WHERE video_id = v.id AND counted = 1)"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM comments p WHERE p.reply_count !="
                " (SELECT COUNT(*) FROM comments r WHERE r.parent_id = p.id)"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM hashtags h WHERE h.videos !="
                " (SELECT COUNT(*) FROM video_hashtags WHERE hashtag_id = h.id)"
            ).fetchone()[0]
            == 0
        )
    finally:
        conn.close()
    # the data dir: no file or folder of their videos
    left = [p for p in s.data_dir.rglob("*") if any(v in p.name for v in mine)]
    assert left == []


def test_delete_big_account_timing(live_server, capsys):
    """An account with 100 videos (real files) and 10k events goes in one request, quickly."""
    s, c, auth = live_server, live_server.client, live_server.auth
    me = s.register("bigleaver")
    fan = s.register("bigfan")
    mine = [seed_video(s, "bigleaver", f"clip {i} #big") for i in range(100)]
    conn = db_connect(s.db_path)
    try:
        uid = conn.execute("SELECT id FROM users WHERE handle = 'bigleaver'").fetchone()[0]
        fan_id = conn.execute("SELECT id FROM users WHERE handle = 'bigfan'").fetchone()[0]
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, ?, ?)",
            [
                (now - i, uid, mine[i % 100], ("view", "like", "impression")[i % 3], 0.5)
                for i in range(10_000)
            ]
            + [(now - i, fan_id, mine[i % 100], "view", 1.0) for i in range(1000)],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    for vid in mine[:20]:
        assert c.put(f"/api/videos/{vid}/like", headers=auth(fan)).status_code == 200
    started = time.perf_counter()
    r = c.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=auth(me))
    elapsed = time.perf_counter() - started
    assert r.status_code == 204, r.text
    with capsys.disabled():
        print(
            f"\ndeleting an account with 100 videos (files) and 10k events: {elapsed * 1000:.0f} ms"
        )
    assert elapsed < 10
    conn = db_connect(s.db_path)
    try:
        assert _rows_naming(conn, uid, ["bigleaver", *mine]) == {}
    finally:
        conn.close()
    assert [p for p in (s.data_dir / "media").rglob("*") if any(v in p.name for v in mine)] == []
