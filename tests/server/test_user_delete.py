"""Deleting a user keeps every counter on other users, videos and comments exact."""

from __future__ import annotations

import asyncio
import sqlite3

from shortstack.server.store.db import Database
from shortstack.server.store.users import delete_user


def _insert_ready_video(db_path, author_handle: str, video_id: str, caption: str) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        author = conn.execute("SELECT id FROM users WHERE handle = ?", (author_handle,)).fetchone()[
            0
        ]
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, created_at, duration_s) VALUES (?, ?, ?, 'ready', 1, 6)",
            (video_id, author, caption),
        )
    conn.close()


def test_deleting_a_user_fixes_counters_and_revokes_tokens(live_server):
    s = live_server
    ana, bob = s.register("ana"), s.register("bob")
    _insert_ready_video(s.db_path, "ana", "videoAna001", "ana's clip")
    _insert_ready_video(s.db_path, "bob", "videoBob001", "bob's clip")
    c = s.client
    assert c.put("/api/videos/videoAna001/like", headers=s.auth(bob)).status_code == 200
    assert c.put("/api/videos/videoBob001/like", headers=s.auth(ana)).status_code == 200
    top = c.post(
        "/api/videos/videoAna001/comments", json={"body": "nice"}, headers=s.auth(ana)
    ).json()
    reply = c.post(
        "/api/videos/videoAna001/comments",
        json={"body": "thanks", "parent_id": top["id"]},
        headers=s.auth(bob),
    ).json()
    c.post(
        "/api/videos/videoAna001/comments",
        json={"body": "and more", "parent_id": reply["id"]},
        headers=s.auth(ana),
    )
    c.post("/api/videos/videoAna001/comments", json={"body": "bob on ana"}, headers=s.auth(bob))
    assert c.put("/api/users/ana/follow", headers=s.auth(bob)).status_code == 204
    assert c.put("/api/users/bob/follow", headers=s.auth(ana)).status_code == 204

    bob_id = c.get("/api/me", headers=s.auth(bob)).json()
    assert bob_id["handle"] == "bob"

    async def remove() -> None:
        db = Database(s.db_path, readers=1)
        await db.open()
        try:
            row = await db.fetchone("SELECT id FROM users WHERE handle = 'bob'")
            assert await delete_user(db, row[0]) == ["videoBob001"]
        finally:
            await db.close()

    asyncio.run(remove())

    assert c.get("/api/me", headers=s.auth(bob)).status_code == 401
    assert c.get("/api/videos/videoBob001").status_code == 404
    video = c.get("/api/videos/videoAna001").json()
    assert video["counts"]["likes"] == 0
    # ana's top comment stays; bob's reply becomes a placeholder (ana's reply below it
    # stays readable); bob's comment without replies goes
    assert video["counts"]["comments"] == 3
    comments = c.get("/api/videos/videoAna001/comments").json()["items"]
    assert [x["body"] for x in comments] == ["nice"] and comments[0]["reply_count"] == 1
    (placeholder,) = c.get(
        "/api/videos/videoAna001/comments", params={"parent_id": comments[0]["id"]}
    ).json()["items"]
    assert placeholder["author"] is None and placeholder["body"] == "[deleted]"
    (kept,) = c.get(
        "/api/videos/videoAna001/comments", params={"parent_id": placeholder["id"]}
    ).json()["items"]
    assert kept["body"] == "and more" and kept["author"]["handle"] == "ana"
    profile = c.get("/api/users/ana").json()
    assert (profile["followers"], profile["following"], profile["likes_received"]) == (0, 0, 0)
    conn = sqlite3.connect(s.db_path)
    try:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM videos_fts WHERE video_id = 'videoBob001'"
            ).fetchone()[0]
            == 0
        )
        mismatched = conn.execute(
            "SELECT COUNT(*) FROM videos v WHERE v.likes != (SELECT COUNT(*) FROM likes WHERE video_id = v.id)"
            " OR v.comments != (SELECT COUNT(*) FROM comments WHERE video_id = v.id)"
        ).fetchone()[0]
        assert mismatched == 0
    finally:
        conn.close()
