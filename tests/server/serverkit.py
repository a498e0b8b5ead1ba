"""Helpers for the server tests: ready videos seeded into the database file, problem checks."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import string
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from mediakit import install_media

_ALPHABET = string.ascii_letters + string.digits


def db_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def seed_video(
    live,
    handle: str,
    caption: str = "a seeded clip",
    *,
    duration_s: float = 20.0,
    created_at: float | None = None,
    status: str = "ready",
    clip: str | None = None,
) -> str:
    """Insert a ready video row (as a finished transcode would leave it) for @handle; its id.

    On a server with real media (`live.media`), a ready video gets the renditions, poster and
    metadata of a real transcode (`clip` names which; the first by default), files included;
    `duration_s` stays what the row says, for the view rules."""
    video_id = "".join(secrets.choice(_ALPHABET) for _ in range(11))
    tags = list(dict.fromkeys(t.lower() for t in re.findall(r"#(\w{1,50})", caption)))
    conn = db_connect(live.db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        user_id = conn.execute("SELECT id FROM users WHERE handle = ?", (handle,)).fetchone()[0]
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
            " fps, created_at) VALUES (?, ?, ?, ?, 1, ?, 320, 240, 25, ?)",
            (video_id, user_id, caption, status, duration_s, created_at or time.time()),
        )
        conn.execute(
            "INSERT INTO renditions (video_id, name, width, height, bytes) VALUES (?, '240p', 320, 240, 1000)",
            (video_id,),
        )
        for tag in tags:
            conn.execute(
                "INSERT INTO hashtags (tag, videos) VALUES (?, 1)"
                " ON CONFLICT(tag) DO UPDATE SET videos = videos + 1",
                (tag,),
            )
            conn.execute(
                "INSERT INTO video_hashtags (video_id, hashtag_id) SELECT ?, id FROM hashtags WHERE tag = ?",
                (video_id, tag),
            )
        conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, ?, ?)",
            (video_id, caption, " ".join(tags), handle),
        )
        conn.execute("UPDATE users SET videos = videos + 1 WHERE id = ?", (user_id,))
        media = getattr(live, "media", None)
        if media is not None and status == "ready":
            chosen = media.clips[clip] if clip else media.default
            install_media(conn, live.data_dir, video_id, chosen)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return video_id


def query(live, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = db_connect(live.db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def assert_problem(r: httpx.Response, status: int | tuple[int, ...]) -> dict:
    """The response is an RFC 9457 problem with this status (or one of these); returns the body."""
    allowed = (status,) if isinstance(status, int) else status
    assert r.status_code in allowed, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == r.status_code
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def wait_ready(live, token: str, video_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        video = live.client.get(f"/api/videos/{video_id}", headers=live.auth(token)).json()
        if video["status"] != "processing":
            return video
        assert time.monotonic() < deadline, f"video {video_id} still processing: {video}"
        time.sleep(0.2)


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict | None]]:
    """(event, data) pairs parsed from a Server-Sent Events stream."""
    event, data = None, []
    for line in response.iter_lines():
        if line == "":
            if event is not None or data:
                yield event or "message", json.loads("\n".join(data)) if data else None
            event, data = None, []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
