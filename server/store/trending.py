"""Trending before the first fit: ready videos by time-decayed engagement counters."""

from __future__ import annotations

import math

from .db import Database
from .ids import now

#: The video counter that counts each event kind (counted views are at least half watched).
COUNTERS = {"view": "views", "like": "likes", "comment": "comments", "share": "shares"}


async def trending_ids(
    db: Database,
    *,
    kind_weight: dict[str, float],
    half_life_h: float,
    limit: int,
    exclude: set[str],
) -> list[tuple[str, float]]:
    """Ready videos by log engagement decayed by age; engagement is the counters weighted
    by ``kind_weight`` (the recommender's signal weight per event kind)."""
    weights = {col: max(0.0, kind_weight.get(kind, 0.0)) for kind, col in COUNTERS.items()}
    rows = await db.fetchall(
        f"SELECT id, created_at, {', '.join(weights)} FROM videos WHERE status = 'ready'"
        " ORDER BY created_at DESC LIMIT 5000"
    )
    ts = now()
    scored = []
    for r in rows:
        if r["id"] in exclude:
            continue
        engagement = 1.0 + sum(w * r[col] for col, w in weights.items())
        age_h = max(0.0, (ts - r["created_at"]) / 3600.0)
        scored.append((r["id"], math.log1p(engagement) * 0.5 ** (age_h / half_life_h)))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return scored[:limit]
