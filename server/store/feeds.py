"""Per-user feed rows: the Following page, stored blend weights, served impressions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .catalogue import read_viewer_events, read_viewer_marks
from .db import Database
from .relations import read_relation_ids


async def following_ids(
    db: Database,
    user_id: int,
    *,
    limit: int,
    before: tuple[float, str] | None,
    author_filter: tuple[str, list] = ("TRUE", []),
) -> list[tuple[str, float]]:
    """Newest ready videos of the accounts user_id follows; ``author_filter`` is an SQL
    condition on ``v.author_id`` (the visibility policy's pre-filter)."""
    params: list[object] = [user_id, *author_filter[1]]
    where = ""
    if before is not None:
        where = " AND (v.created_at, v.id) < (?, ?)"
        params += [before[0], before[1]]
    rows = await db.fetchall(
        "SELECT v.id, v.created_at FROM videos v JOIN follows f ON f.followee_id = v.author_id"
        f" WHERE f.follower_id = ? AND ({author_filter[0]}) AND v.status = 'ready'{where} ORDER BY v.created_at DESC, v.id DESC LIMIT ?",
        [*params, limit],
    )
    return [(r[0], r[1]) for r in rows]


def read_weights(conn: sqlite3.Connection, user_id: int) -> dict[str, float] | None:
    """The user's stored blend weights, if any (sync: inside ``Database.run_read``)."""
    row = conn.execute("SELECT weights FROM feed_weights WHERE user_id = ?", (user_id,)).fetchone()
    return json.loads(row[0]) if row else None


async def get_weights(db: Database, user_id: int) -> dict[str, float] | None:
    return await db.run_read(read_weights, user_id)


@dataclass(frozen=True)
class ViewerReads:
    """Everything a For You page reads about its viewer, read in one snapshot."""

    weights: dict[str, float] | None
    blocked: set[int]
    muted: set[int]
    events: list[tuple[str, str, float, float]]
    """recent events, oldest first (``catalogue.read_viewer_events``)"""
    not_interested: list[str]
    follows: list[int]


def _read_viewer(
    conn: sqlite3.Connection, user_id: int, kinds: tuple[str, ...], limit: int
) -> ViewerReads:
    blocked, muted = read_relation_ids(conn, user_id)
    said_no, follows = read_viewer_marks(conn, user_id)
    return ViewerReads(
        read_weights(conn, user_id),
        blocked,
        muted,
        read_viewer_events(conn, user_id, kinds, limit),
        said_no,
        follows,
    )


async def viewer_reads(
    db: Database, user_id: int, kinds: Sequence[str], *, limit: int
) -> ViewerReads:
    """The viewer's weights, blocks and mutes, ``limit`` recent events of ``kinds`` and
    standing marks, in one thread hop (each was a hop or two of its own)."""
    return await db.run_read(_read_viewer, user_id, tuple(kinds), limit)


async def put_weights(db: Database, user_id: int, weights: dict[str, float]) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO feed_weights (user_id, weights) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET weights = excluded.weights",
            (user_id, json.dumps(weights)),
        )


async def log_impressions(db: Database, rows: Sequence[tuple[float, int | None, str]]) -> None:
    """Served feed items count as exposure (so exploration can find under-exposed videos):
    ``(ts, user_id or None, video_id)`` rows, one transaction. Rows arrive a moment after
    they were served (``FeedEngine`` batches them), so a video deleted or an account
    deleted in between keeps no impression."""
    if not rows:
        return
    async with db.write() as conn:
        await conn.executemany(
            "INSERT INTO events (ts, user_id, video_id, kind, value) SELECT ?, ?, v.id, 'impression', 1 FROM videos v"
            " WHERE v.id = ? AND (CAST(? AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?))",
            [(ts, uid, vid, uid, uid) for ts, uid, vid in rows],
        )
