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
    """A notification row; none to oneself, none across a block (either way)."""
    if user_id == actor_id:
        return
    await conn.execute(
        "INSERT INTO notifications (user_id, kind, actor_id, video_id, comment_id, created_at)"
        " SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE"
        " (blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?))",
        (
            user_id,
            kind,
            actor_id,
            video_id,
            comment_id,
            now(),
            user_id,
            actor_id,
            actor_id,
            user_id,
        ),
    )


async def list_notifications(
    db: Database,
    user_id: int,
    *,
    limit: int,
    before: int | None,
    actor_filter: tuple[str, list] = ("TRUE", []),
) -> list[dict]:
    """The user's notifications, newest first; ``actor_filter`` is an SQL condition on
    ``n.actor_id`` (the visibility policy's pre-filter)."""
    cond, cond_params = actor_filter
    rows = await db.fetchall(
        "SELECT n.id, n.kind, n.video_id, n.comment_id, n.created_at, n.read_at,"
        " u.handle AS actor_handle, u.display_name AS actor_name"
        " FROM notifications n LEFT JOIN users u ON u.id = n.actor_id"
        f" WHERE n.user_id = ? AND (? IS NULL OR n.id < ?) AND ({cond}) ORDER BY n.id DESC LIMIT ?",
        (user_id, before, before, *cond_params, limit),
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
