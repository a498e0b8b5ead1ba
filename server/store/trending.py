"""Trending before the first fit: ready videos by time-decayed engagement counters."""

from __future__ import annotations

import math
from collections.abc import Set

from .db import Database
from .ids import now

#: How many distinct people did each event kind to a video: likers, counted viewers (one
#: per account or address, at least half watched), commenters, sharing accounts. Repeated
#: calls by one person count once, so calls cannot buy a place in Trending.
PEOPLE = {
    "view": "views",
    "like": "likes",
    "comment": "(SELECT COUNT(DISTINCT c.author_id) FROM comments c WHERE c.video_id = v.id)",
    "share": "(SELECT COUNT(DISTINCT s.user_id) FROM shares s WHERE s.video_id = v.id)",
}


async def trending_ids(
    db: Database,
    *,
    kind_weight: dict[str, float],
    half_life_h: float,
    limit: int,
    exclude: set[str],
    hidden_authors: Set[int] = frozenset(),
) -> list[tuple[str, float]]:
    """Ready videos by log engagement decayed by age; engagement is the people per kind
    (``PEOPLE``) weighted by ``kind_weight`` (the recommender's signal weight per kind)."""
    weights = {kind: max(0.0, kind_weight.get(kind, 0.0)) for kind in PEOPLE}
    columns = ", ".join(f"{expr} AS {kind}" for kind, expr in PEOPLE.items())
    rows = await _candidates(db, columns)
    ts = now()
    scored = []
    for r in rows:
        if r["id"] in exclude or r["author_id"] in hidden_authors:
            continue
        engagement = 1.0 + sum(w * r[kind] for kind, w in weights.items())
        age_h = max(0.0, (ts - r["created_at"]) / 3600.0)
        scored.append((r["id"], math.log1p(engagement) * 0.5 ** (age_h / half_life_h)))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return scored[:limit]


async def _candidates(db: Database, columns: str) -> list:
    """The newest 5000 ready videos with their people per kind: one scan with a correlated
    count per video, so reused (``db.trending``) until the next commit anywhere."""
    version = db.data_version()  # before the read: see ReadCache.put
    rows = db.trending.get(columns, version)
    if rows is None:
        rows = await db.fetchall(
            f"SELECT v.id, v.author_id, v.created_at, {columns} FROM videos v"
            " WHERE v.status = 'ready' ORDER BY v.created_at DESC LIMIT 5000"
        )
        db.trending.put(columns, version, rows)
    return rows
