"""Per-user feed rows: the Following page, stored blend weights, served impressions."""

from __future__ import annotations

import json

from .db import Database
from .ids import now


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
