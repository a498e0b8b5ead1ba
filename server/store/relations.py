"""Blocks and mutes between accounts: the rows, and SQL pre-filters for paginated lists."""

from __future__ import annotations

import sqlite3

from .db import Database
from .events import log_event
from .ids import now


async def set_block(db: Database, blocker_id: int, blocked_id: int, block: bool) -> None:
    """Block or unblock (idempotent). A new block ends follows both ways; counters follow in
    the same transaction."""
    async with db.write() as conn:
        if not block:
            await conn.execute(
                "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
                (blocker_id, blocked_id),
            )
            return
        await conn.execute(
            "INSERT OR IGNORE INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)",
            (blocker_id, blocked_id, now()),
        )
        for follower, followee in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
            cur = await conn.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                (follower, followee),
            )
            if cur.rowcount:
                await conn.execute(
                    "UPDATE users SET followers = followers - 1 WHERE id = ?", (followee,)
                )
                await conn.execute(
                    "UPDATE users SET following = following - 1 WHERE id = ?", (follower,)
                )
                await log_event(conn, follower, None, "unfollow", float(followee))


async def set_mute(db: Database, user_id: int, muted_id: int, mute: bool) -> None:
    """Mute or unmute (idempotent)."""
    async with db.write() as conn:
        if mute:
            await conn.execute(
                "INSERT OR IGNORE INTO mutes (user_id, muted_id, created_at) VALUES (?, ?, ?)",
                (user_id, muted_id, now()),
            )
        else:
            await conn.execute(
                "DELETE FROM mutes WHERE user_id = ? AND muted_id = ?", (user_id, muted_id)
            )


def read_relation_ids(conn: sqlite3.Connection, user_id: int) -> tuple[set[int], set[int]]:
    """(accounts blocked by or blocking user_id, accounts user_id muted) (sync: inside
    ``Database.run_read``)."""
    blocked = conn.execute(*_blocks_sql(user_id)).fetchall()
    muted = conn.execute("SELECT muted_id FROM mutes WHERE user_id = ?", (user_id,)).fetchall()
    return {r[0] for r in blocked}, {r[0] for r in muted}


async def relation_ids(db: Database, user_id: int) -> tuple[set[int], set[int]]:
    """``read_relation_ids`` in one thread hop."""
    return await db.run_read(read_relation_ids, user_id)


def _blocks_sql(user_id: int) -> tuple[str, list[object]]:
    return (
        "SELECT blocked_id FROM blocks WHERE blocker_id = ?"
        " UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?",
        [user_id, user_id],
    )


def author_filter(column: str, user_id: int, *, mutes: bool) -> tuple[str, list[object]]:
    """SQL condition (and its parameters) that ``column`` (a user id) is not blocked either
    way with user_id, nor, with ``mutes``, muted by them: the pre-filter of paginated lists.
    A NULL ``column`` (a deleted account's comment placeholder, a notification without an
    actor) passes: ``NULL NOT IN (...)`` alone would drop it for anyone who blocked someone."""
    sql, params = _blocks_sql(user_id)
    if mutes:
        sql += " UNION SELECT muted_id FROM mutes WHERE user_id = ?"
        params.append(user_id)
    return f"({column} IS NULL OR {column} NOT IN ({sql}))", params


async def list_relations(
    db: Database, table: str, user_id: int, *, limit: int, before: int | None
) -> list[dict]:
    """The accounts user_id blocked (``table="blocks"``) or muted (``"mutes"``), newest first."""
    owner, other = {"blocks": ("blocker_id", "blocked_id"), "mutes": ("user_id", "muted_id")}[table]
    rows = await db.fetchall(
        f"SELECT r.id, r.created_at, u.handle, u.display_name FROM {table} r"
        f" JOIN users u ON u.id = r.{other} WHERE r.{owner} = ? AND (? IS NULL OR r.id < ?)"
        " ORDER BY r.id DESC LIMIT ?",
        (user_id, before, before, limit),
    )
    return [dict(r) for r in rows]
