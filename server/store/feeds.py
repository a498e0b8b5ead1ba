"""Feed queries: trending scores, following, per-user blend weights, and training-data loading."""

from __future__ import annotations

import json
import math
import sqlite3

from .db import Database
from .ids import now


async def trending_ids(
    db: Database, *, half_life_h: float, limit: int, exclude: set[str]
) -> list[tuple[str, float]]:
    """Ready videos by time-decayed engagement (likes, comments, shares, views)."""
    rows = await db.fetchall(
        "SELECT id, likes, comments, shares, views, created_at FROM videos WHERE status = 'ready'"
        " ORDER BY created_at DESC LIMIT 5000"
    )
    ts = now()
    scored = []
    for r in rows:
        if r["id"] in exclude:
            continue
        engagement = 1.0 + r["views"] + 4 * r["likes"] + 3 * r["comments"] + 5 * r["shares"]
        age_h = max(0.0, (ts - r["created_at"]) / 3600.0)
        scored.append((r["id"], math.log1p(engagement) * 0.5 ** (age_h / half_life_h)))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return scored[:limit]


async def following_ids(
    db: Database, user_id: int, *, limit: int, before: tuple[float, str] | None
) -> list[tuple[str, float]]:
    params: list[object] = [user_id]
    where = ""
    if before is not None:
        where = " AND (v.created_at, v.id) < (?, ?)"
        params += [before[0], before[1]]
    rows = await db.fetchall(
        "SELECT v.id, v.created_at FROM videos v JOIN follows f ON f.followee_id = v.author_id"
        f" WHERE f.follower_id = ? AND v.status = 'ready'{where} ORDER BY v.created_at DESC, v.id DESC LIMIT ?",
        [*params, limit],
    )
    return [(r[0], r[1]) for r in rows]


async def get_weights(db: Database, user_id: int) -> dict[str, float] | None:
    row = await db.fetchone("SELECT weights FROM feed_weights WHERE user_id = ?", (user_id,))
    return json.loads(row[0]) if row else None


async def put_weights(db: Database, user_id: int, weights: dict[str, float]) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO feed_weights (user_id, weights) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET weights = excluded.weights",
            (user_id, json.dumps(weights)),
        )


def load_catalogue_rows(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Ready videos with what the recommender needs (sync: runs in a worker thread)."""
    return conn.execute(
        "SELECT v.id, v.caption, v.author_id, u.handle, v.created_at, COALESCE(v.duration_s, 0) AS duration_s,"
        " v.features, COALESCE((SELECT group_concat(h.tag, ' ') FROM video_hashtags vh"
        " JOIN hashtags h ON h.id = vh.hashtag_id WHERE vh.video_id = v.id), '') AS tags"
        " FROM videos v JOIN users u ON u.id = v.author_id WHERE v.status = 'ready' ORDER BY v.created_at, v.id"
    ).fetchall()


def load_event_rows(conn: sqlite3.Connection, *, since_id: int = 0) -> list[sqlite3.Row]:
    """The interaction log (logged-in users only), oldest first."""
    return conn.execute(
        "SELECT id, user_id, video_id, kind, value, ts FROM events WHERE user_id IS NOT NULL AND id > ?"
        " ORDER BY id",
        (since_id,),
    ).fetchall()


def catalogue_version(conn: sqlite3.Connection) -> tuple[int, float]:
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(created_at), 0) FROM videos WHERE status = 'ready'"
    ).fetchone()
    return int(row[0]), float(row[1])


def max_event_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])


def count_learning_events(conn: sqlite3.Connection, since_id: int) -> int:
    """Events after since_id that carry preference (impressions only count exposure)."""
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM events WHERE id > ? AND kind != 'impression' AND user_id IS NOT NULL",
            (since_id,),
        ).fetchone()[0]
    )


async def user_signals(db: Database, user_id: int, since_ts: float) -> dict[str, list]:
    """What the user did since the model was fitted, their not-interested marks and follows."""
    recent = await db.fetchall(
        "SELECT video_id, kind, value FROM events WHERE user_id = ? AND ts > ? AND video_id IS NOT NULL"
        " ORDER BY id DESC LIMIT 500",
        (user_id, since_ts),
    )
    negatives = await db.fetchall(
        "SELECT video_id FROM not_interested WHERE user_id = ?", (user_id,)
    )
    follows = await db.fetchall("SELECT followee_id FROM follows WHERE follower_id = ?", (user_id,))
    return {
        "recent": [(r[0], r[1], r[2]) for r in recent],
        "negatives": [r[0] for r in negatives],
        "follows": [r[0] for r in follows],
    }


async def log_impressions(db: Database, user_id: int | None, video_ids: list[str]) -> None:
    """Served feed items count as exposure (so exploration can find under-exposed videos)."""
    if not video_ids:
        return
    ts = now()
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, 'impression', 1)",
            [(ts, user_id, vid) for vid in video_ids],
        )
