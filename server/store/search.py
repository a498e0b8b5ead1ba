"""Full-text search over captions, hashtags and handles: FTS5 on SQLite, tsvector on Postgres.

Both keep one ranking contract: every word of the query must match (as a prefix), a hashtag
weighs twice a caption or handle word, ties go to the more liked video; an exact handle
comes first among accounts."""

from __future__ import annotations

import re

from .db import Database

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """Turn user text into a safe FTS5 query: each word quoted, prefix-matched, AND-ed.

    FTS syntax in the input ("", *, NEAR(, ', AND/OR) is treated as plain words."""
    words = _WORD.findall(text)[:8]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


def tsquery(text: str) -> str | None:
    """The same query for Postgres' ``to_tsquery('simple', ...)``: each word quoted,
    prefix-matched, AND-ed (words are ``\\w+``, so no quote can be inside one)."""
    words = _WORD.findall(text.lower())[:8]
    if not words:
        return None
    return " & ".join(f"'{w}':*" for w in words)


#: ts_rank weights {D, C, B, A}: hashtags (A) twice captions and handles (B), as bm25's on SQLite
_PG_WEIGHTS = "'{0.1, 0.2, 0.5, 1.0}'"


async def search_videos(
    db: Database, text: str, *, limit: int, ready_only: bool = True
) -> list[str]:
    if db.dialect == "postgres":
        query = tsquery(text)
        if query is None:
            return []
        rows = await db.fetchall(
            "SELECT f.video_id FROM videos_fts f JOIN videos v ON v.id = f.video_id,"
            " to_tsquery('simple', ?) AS q WHERE f.doc @@ q"
            f" {'AND v.status = ' + repr('ready') if ready_only else ''}"
            f" ORDER BY ts_rank({_PG_WEIGHTS}, f.doc, q) DESC, v.likes DESC, v.id LIMIT ?",
            (query, limit),
        )
        return [r[0] for r in rows]
    query = fts_query(text)
    if query is None:
        return []
    rows = await db.fetchall(
        "SELECT f.video_id FROM videos_fts f JOIN videos v ON v.id = f.video_id"
        f" WHERE videos_fts MATCH ? {'AND v.status = ' + repr('ready') if ready_only else ''}"
        " ORDER BY bm25(videos_fts, 0, 1.0, 2.0, 1.0), v.likes DESC LIMIT ?",
        (query, limit),
    )
    return [r[0] for r in rows]


async def videos_with_tag(db: Database, tag: str, *, limit: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT v.id FROM videos v JOIN video_hashtags vh ON vh.video_id = v.id JOIN hashtags h ON h.id = vh.hashtag_id"
        " WHERE h.tag = ? AND v.status = 'ready' ORDER BY v.likes DESC, v.created_at DESC LIMIT ?",
        (tag.lower(), limit),
    )
    return [r[0] for r in rows]


async def search_users(
    db: Database, text: str, *, limit: int, include_suspended: bool = False
) -> list[int]:
    """Ids of the accounts matching text; suspended ones only with include_suspended."""
    if db.dialect == "postgres":
        query = tsquery(text)
        if query is None:
            return []
        rows = await db.fetchall(
            "SELECT f.user_id FROM users_fts f JOIN users u ON u.id = f.user_id,"
            " to_tsquery('simple', ?) AS q WHERE f.doc @@ q AND (u.suspended_at IS NULL OR ?)"
            " ORDER BY (u.handle = ?) DESC, ts_rank(f.doc, q) DESC, u.followers DESC, u.id"
            " LIMIT ?",
            (query, bool(include_suspended), text.lower(), limit),
        )
        return [r[0] for r in rows]
    query = fts_query(text)
    if query is None:
        return []
    rows = await db.fetchall(
        "SELECT f.user_id FROM users_fts f JOIN users u ON u.id = f.user_id WHERE users_fts MATCH ?"
        " AND (u.suspended_at IS NULL OR ?) ORDER BY (u.handle = ?) DESC, bm25(users_fts), u.followers DESC LIMIT ?",
        (query, bool(include_suspended), text.lower(), limit),
    )
    return [r[0] for r in rows]


async def search_hashtags(db: Database, text: str, *, limit: int) -> list[tuple[str, int]]:
    words = _WORD.findall(text.lower())
    if not words:
        return []
    prefix = words[0]
    rows = await db.fetchall(
        "SELECT tag, videos FROM hashtags WHERE tag >= ? AND tag < ? AND videos > 0 ORDER BY videos DESC, tag LIMIT ?",
        (prefix, prefix + "\uffff", limit),
    )
    return [(r[0], r[1]) for r in rows]
