"""Feed-lab queries: the hashtags a user's feed showed them vs the ones they engaged with."""

from __future__ import annotations

import json
from collections.abc import Collection

from .db import Database


async def video_durations(db: Database, video_ids: Collection[str]) -> dict[str, float]:
    """Duration in seconds of each of these videos that still exists (0 when unknown)."""
    rows = await db.fetchall(
        "SELECT id, COALESCE(duration_s, 0) FROM videos WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(video_ids)),),
    )
    return {r[0]: float(r[1]) for r in rows}


async def feed_diet(
    db: Database, user_id: int, engaged: Collection[str], *, limit: int
) -> dict[str, object]:
    """Per hashtag: distinct videos shown in the user's feeds (impressions) and engaged with.

    ``engaged`` are the videos the user engaged with (the caller applies the recommender's
    signal rules). Deleted videos drop out (their hashtag links go with them). Tags come
    sorted by shown, then engaged, then name.
    """
    marked = (
        "WITH shown AS (SELECT DISTINCT video_id FROM events"
        " WHERE user_id = ? AND kind = 'impression' AND video_id IS NOT NULL),"
        " engaged AS (SELECT DISTINCT value AS video_id FROM json_each(?)),"
        " marked AS (SELECT video_id, 1 AS s, 0 AS g FROM shown"
        " UNION ALL SELECT video_id, 0, 1 FROM engaged)"
    )
    params = (user_id, json.dumps(sorted(engaged)))
    rows = await db.fetchall(
        f"{marked} SELECT h.tag, SUM(m.s) AS shown, SUM(m.g) AS engaged FROM marked m"
        " JOIN video_hashtags vh ON vh.video_id = m.video_id JOIN hashtags h ON h.id = vh.hashtag_id"
        " GROUP BY h.tag HAVING SUM(m.s) > 0 OR SUM(m.g) > 0"
        " ORDER BY shown DESC, engaged DESC, h.tag LIMIT ?",
        (*params, limit),
    )
    totals = await db.fetchone(
        f"{marked} SELECT COALESCE(SUM(s), 0), COALESCE(SUM(g), 0) FROM marked", params
    )
    return {
        "topics": [(r[0], int(r[1]), int(r[2])) for r in rows],
        "videos_shown": int(totals[0]) if totals else 0,
        "videos_engaged": int(totals[1]) if totals else 0,
    }
