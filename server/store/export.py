"""The rows of one account's data export (read in one consistent snapshot)."""

from __future__ import annotations

import sqlite3
from typing import Any


def _rows(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def export_rows_sync(conn: sqlite3.Connection, user_id: int) -> dict[str, Any]:
    """Everything the account owns or did, by category (``conn`` has ``sqlite3.Row`` rows)."""
    conn.execute("BEGIN")
    try:
        profile = _rows(
            conn,
            "SELECT handle, display_name, bio, is_admin, created_at, followers, following, videos,"
            " likes_received FROM users WHERE id = ?",
            (user_id,),
        )
        videos = _rows(
            conn,
            "SELECT v.id, v.caption, v.status, v.duration_s, v.width, v.height, v.fps,"
            " v.created_at, v.likes, v.comments, v.shares, v.views, v.edit, v.source_bytes,"
            " COALESCE((SELECT group_concat(h.tag, ' ') FROM video_hashtags vh"
            " JOIN hashtags h ON h.id = vh.hashtag_id WHERE vh.video_id = v.id), '') AS hashtags"
            " FROM videos v WHERE v.author_id = ? ORDER BY v.created_at",
            (user_id,),
        )
        renditions = _rows(
            conn,
            "SELECT r.video_id, r.name, r.width, r.height, r.bytes FROM renditions r"
            " JOIN videos v ON v.id = r.video_id WHERE v.author_id = ?"
            " ORDER BY r.video_id, r.height DESC",
            (user_id,),
        )
        captions = _rows(
            conn,
            "SELECT c.video_id, c.lang, c.kind, c.cues, c.updated_at, c.vtt FROM captions c"
            " JOIN videos v ON v.id = c.video_id WHERE v.author_id = ? ORDER BY c.video_id, c.lang",
            (user_id,),
        )
        comments = _rows(
            conn,
            "SELECT id, video_id, parent_id, body, created_at FROM comments WHERE author_id = ?"
            " ORDER BY created_at",
            (user_id,),
        )
        likes = _rows(
            conn,
            "SELECT video_id, created_at FROM likes WHERE user_id = ? ORDER BY created_at",
            (user_id,),
        )
        follows = _rows(
            conn,
            "SELECT u.handle, f.created_at, 'following' AS direction FROM follows f"
            " JOIN users u ON u.id = f.followee_id WHERE f.follower_id = ?"
            " UNION ALL SELECT u.handle, f.created_at, 'follower' FROM follows f"
            " JOIN users u ON u.id = f.follower_id WHERE f.followee_id = ?"
            " ORDER BY 2",
            (user_id, user_id),
        )
        history = _rows(
            conn,
            "SELECT video_id, watch_ms, counted, created_at FROM views WHERE user_id = ?"
            " ORDER BY created_at",
            (user_id,),
        )
    finally:
        conn.execute("COMMIT")
    by_video: dict[str, list[dict[str, Any]]] = {}
    for r in renditions:
        by_video.setdefault(r.pop("video_id"), []).append(r)
    tracks: dict[str, list[dict[str, Any]]] = {}
    for c in captions:
        tracks.setdefault(c.pop("video_id"), []).append(c)
    for v in videos:
        v["hashtags"] = v["hashtags"].split() if v["hashtags"] else []
        v["renditions"] = by_video.get(v["id"], [])
        v["captions"] = tracks.get(v["id"], [])  # each with its WebVTT text (``vtt``)
    return {
        "profile": profile[0] if profile else {},
        "videos": videos,
        "comments": comments,
        "likes": likes,
        "follows": follows,
        "watch_history": history,
    }
