"""The append-only interaction log and notification rows (written inside callers' transactions)."""

from __future__ import annotations

import aiosqlite

from .db import Database
from .ids import now


async def log_event(
    conn: aiosqlite.Connection,
    user_id: int | None,
    video_id: str | None,
    kind: str,
    value: float = 1.0,
) -> None:
    await conn.execute(
        "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, ?, ?)",
        (now(), user_id, video_id, kind, value),
    )


async def notify(
    conn: aiosqlite.Connection,
    user_id: int,
    kind: str,
    actor_id: int,
    video_id: str | None = None,
    comment_id: str | None = None,
) -> None:
    if user_id == actor_id:
        return
    await conn.execute(
        "INSERT INTO notifications (user_id, kind, actor_id, video_id, comment_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, kind, actor_id, video_id, comment_id, now()),
    )


async def list_notifications(
    db: Database, user_id: int, *, limit: int, before: int | None
) -> list[dict]:
    rows = await db.fetchall(
        "SELECT n.id, n.kind, n.video_id, n.comment_id, n.created_at, n.read_at,"
        " u.handle AS actor_handle, u.display_name AS actor_name"
        " FROM notifications n LEFT JOIN users u ON u.id = n.actor_id"
        " WHERE n.user_id = ? AND (? IS NULL OR n.id < ?) ORDER BY n.id DESC LIMIT ?",
        (user_id, before, before, limit),
    )
    return [dict(r) for r in rows]


async def unread_notifications(db: Database, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL", (user_id,)
    )
    return row["n"] if row else 0


async def mark_notification_read(db: Database, user_id: int, notification_id: int) -> bool:
    """Mark one of the user's notifications read (idempotent); False when it is not theirs."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?",
            (now(), notification_id, user_id),
        )
        return cur.rowcount > 0


async def mark_all_notifications_read(db: Database, user_id: int) -> int:
    """Mark every unread notification of the user read; how many were unread."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
            (now(), user_id),
        )
        return cur.rowcount
