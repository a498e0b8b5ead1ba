"""Likes, views, shares and not-interested marks; counters change in the same transaction."""

from __future__ import annotations

import aiosqlite

from .db import Database
from .events import log_event, notify
from .ids import now
from .videos import video_row

VIEW_COUNT_FRACTION = 0.5
VIEW_COUNT_MS = 10_000


async def _video_owner(conn: aiosqlite.Connection, video_id: str) -> tuple[int, float | None]:
    row = await video_row(conn, video_id, "SELECT v.author_id, v.duration_s FROM videos v")
    return row[0], row[1]


async def set_like(
    db: Database, user_id: int, video_id: str, liked: bool
) -> tuple[bool, int, int | None]:
    """Like or unlike (idempotent). Returns (liked, likes, owner to notify or None)."""
    async with db.write() as conn:
        owner, _ = await _video_owner(conn, video_id)
        if liked:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO likes (user_id, video_id, created_at) VALUES (?, ?, ?)",
                (user_id, video_id, now()),
            )
        else:
            cur = await conn.execute(
                "DELETE FROM likes WHERE user_id = ? AND video_id = ?", (user_id, video_id)
            )
        changed = cur.rowcount > 0
        if changed:
            delta = 1 if liked else -1
            await conn.execute(
                "UPDATE videos SET likes = likes + ? WHERE id = ?", (delta, video_id)
            )
            await conn.execute(
                "UPDATE users SET likes_received = likes_received + ? WHERE id = ?", (delta, owner)
            )
            await log_event(conn, user_id, video_id, "like" if liked else "unlike")
            if liked:
                await notify(conn, owner, "like", user_id, video_id)
        async with conn.execute("SELECT likes FROM videos WHERE id = ?", (video_id,)) as c:
            likes = (await c.fetchone())[0]
    return liked, likes, owner if (changed and liked and owner != user_id) else None


async def record_view(
    db: Database, video_id: str, user_id: int | None, viewer_key: str, watch_ms: int
) -> tuple[bool, int]:
    """Log watch time; count a view once per viewer when watched >= 50 % or >= 10 s.

    Returns (counted now, views)."""
    async with db.write() as conn:
        _, duration_s = await _video_owner(conn, video_id)
        qualifies = watch_ms >= VIEW_COUNT_MS or (
            bool(duration_s) and watch_ms >= VIEW_COUNT_FRACTION * duration_s * 1000
        )
        counted = False
        if qualifies:
            async with conn.execute(
                "SELECT 1 FROM views WHERE video_id = ? AND viewer_key = ? AND counted = 1",
                (video_id, viewer_key),
            ) as cur:
                counted = await cur.fetchone() is None
        await conn.execute(
            "INSERT INTO views (video_id, user_id, viewer_key, watch_ms, counted, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (video_id, user_id, viewer_key, watch_ms, int(counted), now()),
        )
        if counted:
            await conn.execute("UPDATE videos SET views = views + 1 WHERE id = ?", (video_id,))
        fraction = watch_ms / (duration_s * 1000) if duration_s else 0.0
        await log_event(conn, user_id, video_id, "view", round(fraction, 4))
        async with conn.execute("SELECT views FROM videos WHERE id = ?", (video_id,)) as c:
            views = (await c.fetchone())[0]
    return counted, views


async def record_share(db: Database, video_id: str, user_id: int) -> tuple[bool, int]:
    """Record an account's share: it counts (a row, the counter, an event) once per account
    and video; sharing again changes nothing. Returns (counted now, shares)."""
    async with db.write() as conn:
        await _video_owner(conn, video_id)
        async with conn.execute(
            "SELECT 1 FROM shares WHERE video_id = ? AND user_id = ? LIMIT 1", (video_id, user_id)
        ) as cur:
            counted = await cur.fetchone() is None
        if counted:
            await conn.execute(
                "INSERT INTO shares (video_id, user_id, created_at) VALUES (?, ?, ?)",
                (video_id, user_id, now()),
            )
            await conn.execute("UPDATE videos SET shares = shares + 1 WHERE id = ?", (video_id,))
            await log_event(conn, user_id, video_id, "share")
        async with conn.execute("SELECT shares FROM videos WHERE id = ?", (video_id,)) as c:
            return counted, (await c.fetchone())[0]


async def mark_not_interested(db: Database, user_id: int, video_id: str) -> None:
    async with db.write() as conn:
        await _video_owner(conn, video_id)
        cur = await conn.execute(
            "INSERT OR IGNORE INTO not_interested (user_id, video_id, created_at) VALUES (?, ?, ?)",
            (user_id, video_id, now()),
        )
        if cur.rowcount:
            await log_event(conn, user_id, video_id, "not_interested")
