"""What the feed engine loads: ready videos, the interaction log, a viewer's recent events."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .db import Database

#: LIMIT for "all rows" that both SQLite (no NULL, -1 means none) and Postgres accept
NO_LIMIT = 2**62


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


def _in(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join('?' * len(kinds))})"


def count_events(conn: sqlite3.Connection, since_id: int, kinds: Sequence[str]) -> int:
    """Logged-in users' events of ``kinds`` after since_id (the refit trigger)."""
    return int(
        conn.execute(
            f"SELECT COUNT(*) FROM events WHERE id > ? AND user_id IS NOT NULL AND {_in(kinds)}",
            (since_id, *kinds),
        ).fetchone()[0]
    )


def read_viewer_events(
    conn: sqlite3.Connection, user_id: int, kinds: Sequence[str], limit: int | None
) -> list[tuple[str, str, float, float]]:
    """A user's ``limit`` most recent events of ``kinds`` about a video (None: all), oldest
    first, as (video_id, kind, value, ts) (sync: inside ``Database.run_read``)."""
    rows = conn.execute(
        "SELECT video_id, kind, value, ts FROM events"
        f" WHERE user_id = ? AND video_id IS NOT NULL AND {_in(kinds)}"
        " ORDER BY ts DESC, id DESC LIMIT ?",
        (user_id, *kinds, NO_LIMIT if limit is None else limit),
    ).fetchall()
    return [(r[0], r[1], float(r[2]), float(r[3])) for r in reversed(rows)]


async def viewer_events(
    db: Database, user_id: int, kinds: Sequence[str], *, limit: int | None
) -> list[tuple[str, str, float, float]]:
    """``read_viewer_events`` in one thread hop."""
    return await db.run_read(read_viewer_events, user_id, tuple(kinds), limit)


def read_viewer_marks(conn: sqlite3.Connection, user_id: int) -> tuple[list[str], list[int]]:
    """(videos the user marked not interested, users they follow): standing marks that no
    event window may forget (sync: inside ``Database.run_read``)."""
    negatives = conn.execute(
        "SELECT video_id FROM not_interested WHERE user_id = ?", (user_id,)
    ).fetchall()
    follows = conn.execute(
        "SELECT followee_id FROM follows WHERE follower_id = ?", (user_id,)
    ).fetchall()
    return [r[0] for r in negatives], [r[0] for r in follows]
