"""Feed queries: trending scores, following, per-user blend weights, and training-data loading."""

from __future__ import annotations

import json
import math

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
