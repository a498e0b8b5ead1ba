"""Feed-lab queries: the hashtags a user's feed showed them vs the ones they engaged with."""

from __future__ import annotations

from .db import Database

#: a view at least this far through the video counts as a completed watch
COMPLETED_FRACTION = 0.9

_ENGAGED = "(e.kind IN ('like', 'comment', 'share') OR (e.kind = 'view' AND e.value >= ?))"


async def feed_diet(db: Database, user_id: int, *, limit: int) -> dict[str, object]:
    """Per hashtag: distinct videos shown in the user's feeds (impressions) and engaged with.

    Engaged means liked, commented, shared or watched to the end. Deleted videos drop out
    (their hashtag links go with them). Tags come sorted by shown, then engaged, then name.
    """
    rows = await db.fetchall(
        "SELECT h.tag,"
        " COUNT(DISTINCT CASE WHEN e.kind = 'impression' THEN e.video_id END) AS shown,"
        f" COUNT(DISTINCT CASE WHEN {_ENGAGED} THEN e.video_id END) AS engaged"
        " FROM events e JOIN video_hashtags vh ON vh.video_id = e.video_id"
        " JOIN hashtags h ON h.id = vh.hashtag_id"
        " WHERE e.user_id = ? AND e.video_id IS NOT NULL"
        " GROUP BY h.tag HAVING shown > 0 OR engaged > 0"
        " ORDER BY shown DESC, engaged DESC, h.tag LIMIT ?",
        (COMPLETED_FRACTION, user_id, limit),
    )
    totals = await db.fetchone(
        "SELECT COUNT(DISTINCT CASE WHEN e.kind = 'impression' THEN e.video_id END),"
        f" COUNT(DISTINCT CASE WHEN {_ENGAGED} THEN e.video_id END)"
        " FROM events e WHERE e.user_id = ? AND e.video_id IS NOT NULL",
        (COMPLETED_FRACTION, user_id),
    )
    return {
        "topics": [(r[0], int(r[1]), int(r[2])) for r in rows],
        "videos_shown": int(totals[0]) if totals else 0,
        "videos_engaged": int(totals[1]) if totals else 0,
    }
