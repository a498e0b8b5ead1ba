"""Moderation rows: reports, removals, sensitive flags, suspensions, the audit log, blocked terms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from .db import Database, connect_sync
from .errors import Conflict, NotFound, TooMany, Unprocessable
from .ids import now

TARGETS = ("video", "comment", "user")
REPORT_WINDOW_S = 3600.0


# --- reports -------------------------------------------------------------------------------


async def _open_report(
    conn: aiosqlite.Connection, reporter_id: int, target_type: str, target_id: str
) -> dict | None:
    async with conn.execute(
        "SELECT * FROM reports WHERE reporter_id = ? AND target_type = ? AND target_id = ?"
        " AND resolved_at IS NULL",
        (reporter_id, target_type, target_id),
    ) as cur:
        row = await cur.fetchone()
    return dict(row) if row else None


async def create_report(
    db: Database,
    reporter_id: int,
    target_type: str,
    target_id: str,
    reason: str,
    text: str | None,
    *,
    per_hour: int,
) -> tuple[dict, bool]:
    """File a report; (the report, True) when new, (the open one, False) when this reporter
    already reported the target. TooMany beyond ``per_hour`` reports in any hour (0: no limit)."""
    at = now()
    async with db.write() as conn:
        existing = await _open_report(conn, reporter_id, target_type, target_id)
        if existing is not None:
            return existing, False
        if per_hour > 0:
            async with conn.execute(
                "SELECT created_at FROM reports WHERE reporter_id = ? AND created_at > ?"
                " ORDER BY created_at",
                (reporter_id, at - REPORT_WINDOW_S),
            ) as cur:
                recent = [r[0] for r in await cur.fetchall()]
            if len(recent) >= per_hour:
                wait = recent[len(recent) - per_hour] + REPORT_WINDOW_S - at
                raise TooMany(f"at most {per_hour} reports an hour", max(1.0, wait))
        await conn.execute(
            "INSERT INTO reports (reporter_id, target_type, target_id, reason, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (reporter_id, target_type, target_id, reason, text, at),
        )
        report = await _open_report(conn, reporter_id, target_type, target_id)
    assert report is not None
    return report, True


async def report_queue(db: Database, *, limit: int) -> list[dict]:
    """Open reports grouped by target, the most recently reported first: reporter count, reasons,
    texts and what the target is (caption, comment body or profile)."""
    rows = await db.fetchall(
        "SELECT target_type, target_id, COUNT(DISTINCT reporter_id) AS reporters,"
        " group_concat(DISTINCT reason) AS reasons, MAX(created_at) AS last_reported_at,"
        " MIN(created_at) AS first_reported_at"
        " FROM reports WHERE resolved_at IS NULL GROUP BY target_type, target_id"
        " ORDER BY last_reported_at DESC LIMIT ?",
        (limit,),
    )
    out = []
    for r in rows:
        item = dict(r)
        item["reasons"] = sorted(set((r["reasons"] or "").split(",")) - {""})
        texts = await db.fetchall(
            "SELECT text FROM reports WHERE target_type = ? AND target_id = ?"
            " AND resolved_at IS NULL AND text IS NOT NULL ORDER BY created_at DESC LIMIT 10",
            (r["target_type"], r["target_id"]),
        )
        item["texts"] = [t[0] for t in texts]
        item["content"] = await _content(db, r["target_type"], r["target_id"])
        out.append(item)
    return out


async def _content(db: Database, target_type: str, target_id: str) -> dict | None:
    if target_type == "video":
        row = await db.fetchone(
            "SELECT v.caption, u.handle AS author, v.status, v.removed_at, v.sensitive"
            " FROM videos v JOIN users u ON u.id = v.author_id WHERE v.id = ?",
            (target_id,),
        )
    elif target_type == "comment":
        row = await db.fetchone(
            "SELECT c.body, u.handle AS author, c.video_id, c.removed_at"
            " FROM comments c JOIN users u ON u.id = c.author_id WHERE c.id = ?",
            (target_id,),
        )
    else:
        row = await db.fetchone(
            "SELECT handle, display_name, bio, suspended_at, suspension_reason"
            " FROM users WHERE handle = ?",
            (target_id,),
        )
    return dict(row) if row else None


async def _resolve(
    conn: aiosqlite.Connection, target_type: str, target_id: str, resolution: str
) -> int:
    """Close the target's open reports and notify each reporter; how many were closed."""
    at = now()
    async with conn.execute(
        "SELECT DISTINCT reporter_id FROM reports WHERE target_type = ? AND target_id = ?"
        " AND resolved_at IS NULL",
        (target_type, target_id),
    ) as cur:
        reporters = [r[0] for r in await cur.fetchall()]
    await conn.execute(
        "UPDATE reports SET resolved_at = ?, resolution = ? WHERE target_type = ?"
        " AND target_id = ? AND resolved_at IS NULL",
        (at, resolution, target_type, target_id),
    )
    video_id = target_id if target_type == "video" else None
    comment_id = target_id if target_type == "comment" else None
    for reporter in reporters:
        await conn.execute(
            "INSERT INTO notifications (user_id, kind, actor_id, video_id, comment_id, created_at)"
            " VALUES (?, 'report_resolved', NULL, ?, ?, ?)",
            (reporter, video_id, comment_id, at),
        )
    return reporters


# --- the audit log -------------------------------------------------------------------------


async def _audit(
    conn: aiosqlite.Connection,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, action, target_type, target_id, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (actor, action, target_type, target_id, reason, now()),
    )


async def list_audit(db: Database, *, limit: int, before: int | None) -> list[dict]:
    rows = await db.fetchall(
        "SELECT * FROM audit_log WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        (before, before, limit),
    )
    return [dict(r) for r in rows]


# --- actions -------------------------------------------------------------------------------


async def _exists(conn: aiosqlite.Connection, target_type: str, target_id: str) -> None:
    table, column = {
        "video": ("videos", "id"),
        "comment": ("comments", "id"),
        "user": ("users", "handle"),
    }[target_type]
    async with conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (target_id,)) as cur:
        if await cur.fetchone() is None:
            raise NotFound(f"no {target_type} {target_id!r}")


async def dismiss(
    db: Database, actor: str, target_type: str, target_id: str, reason: str | None
) -> list[int]:
    """Close the target's open reports without acting on it."""
    async with db.write() as conn:
        await _exists(conn, target_type, target_id)
        reporters = await _resolve(conn, target_type, target_id, "dismissed")
        await _audit(conn, actor, "dismiss", target_type, target_id, reason)
    return reporters


async def remove(
    db: Database, actor: str, target_type: str, target_id: str, reason: str | None
) -> list[int]:
    """Hide a video or comment from everyone but admins (kept for appeal, purged later)."""
    if target_type not in ("video", "comment"):
        raise Unprocessable("only videos and comments are removed; suspend an account instead")
    table = "videos" if target_type == "video" else "comments"
    async with db.write() as conn:
        await _exists(conn, target_type, target_id)
        await conn.execute(
            f"UPDATE {table} SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
            (now(), target_id),
        )
        reporters = await _resolve(conn, target_type, target_id, "removed")
        await _audit(conn, actor, "remove", target_type, target_id, reason)
    return reporters


async def mark_sensitive(
    db: Database, actor: str, target_type: str, target_id: str, reason: str | None
) -> list[int]:
    if target_type != "video":
        raise Unprocessable("only videos are marked sensitive")
    async with db.write() as conn:
        await _exists(conn, target_type, target_id)
        await conn.execute("UPDATE videos SET sensitive = 1 WHERE id = ?", (target_id,))
        reporters = await _resolve(conn, target_type, target_id, "sensitive")
        await _audit(conn, actor, "mark_sensitive", target_type, target_id, reason)
    return reporters


async def set_sensitive(db: Database, actor: str, video_id: str, on: bool) -> None:
    """Mark a video sensitive or clear the mark, audited; who may is the server's
    ``visibility.owned_video`` (its uploader or an admin)."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE videos SET sensitive = ? WHERE id = ?", (int(on), video_id)
        )
        if cur.rowcount == 0:
            raise NotFound(f"no video {video_id}")
        action = "mark_sensitive" if on else "unmark_sensitive"
        await _audit(conn, actor, action, "video", video_id, None)


async def suspend(db: Database, actor: str, handle: str, reason: str) -> list[int]:
    """Suspend an account: no login, every token revoked, its content hidden; the reporters
    notified."""
    async with db.write() as conn:
        async with conn.execute(
            "SELECT id, is_admin FROM users WHERE handle = ?", (handle,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no user @{handle}")
        if row["is_admin"]:
            raise Conflict("an admin account is not suspended; take its admin rights first")
        at = now()
        await conn.execute(
            "UPDATE users SET suspended_at = ?, suspension_reason = ? WHERE id = ?",
            (at, reason, row["id"]),
        )
        await conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            (at, row["id"]),
        )
        reporters = await _resolve(conn, "user", handle, "suspended")
        await _audit(conn, actor, "suspend", "user", handle, reason)
    return reporters


async def unsuspend(db: Database, actor: str, handle: str, reason: str | None) -> None:
    async with db.write() as conn:
        await _exists(conn, "user", handle)
        await conn.execute(
            "UPDATE users SET suspended_at = NULL, suspension_reason = NULL WHERE handle = ?",
            (handle,),
        )
        await _audit(conn, actor, "unsuspend", "user", handle, reason)


async def suspension(db: Database, handle: str) -> str | None:
    """Why @handle is suspended (a reason text, maybe empty); None when it is not."""
    row = await db.fetchone(
        "SELECT suspended_at, suspension_reason FROM users WHERE handle = ?", (handle,)
    )
    if row is None or row["suspended_at"] is None:
        return None
    return row["suspension_reason"] or ""


async def removed_before(db: Database, cutoff: float) -> tuple[list[str], list[str]]:
    """Ids of the videos and comments removed before ``cutoff`` (due for purging)."""
    videos = await db.fetchall("SELECT id FROM videos WHERE removed_at < ?", (cutoff,))
    comments = await db.fetchall("SELECT id FROM comments WHERE removed_at < ?", (cutoff,))
    return [r[0] for r in videos], [r[0] for r in comments]


# --- instance settings -------------------------------------------------------------------


async def instance_settings(db: Database) -> dict[str, str]:
    """The settings an admin changed at run time (they override config.toml's defaults)."""
    rows = await db.fetchall("SELECT key, value FROM instance_settings")
    return {r[0]: r[1] for r in rows}


async def set_instance_setting(db: Database, actor: str, key: str, value: str) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, now()),
        )
        await _audit(conn, actor, f"set_{key}", "instance", key, value)


# --- blocked terms -------------------------------------------------------------------------


async def blocked_terms(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT term FROM blocked_terms ORDER BY term")
    return [r[0] for r in rows]


async def set_blocked_terms(db: Database, actor: str, terms: list[str]) -> list[str]:
    """Replace the list (terms are stored case-folded, without repeats); the new list."""
    clean = sorted({t.strip().casefold() for t in terms if t.strip()})
    async with db.write() as conn:
        await conn.execute("DELETE FROM blocked_terms")
        await conn.executemany(
            "INSERT INTO blocked_terms (term, created_at) VALUES (?, ?)",
            [(t, now()) for t in clean],
        )
        await _audit(conn, actor, "set_blocked_terms", "terms", str(len(clean)), None)
    return clean


def edit_terms_sync(
    db_path: Path, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[str]:
    """Add and remove blocked terms offline (the CLI); the list afterwards."""
    conn = connect_sync(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for term in add:
            conn.execute(
                "INSERT OR IGNORE INTO blocked_terms (term, created_at) VALUES (?, ?)",
                (term.strip().casefold(), now()),
            )
        for term in remove:
            conn.execute("DELETE FROM blocked_terms WHERE term = ?", (term.strip().casefold(),))
        if add or remove:
            conn.execute(
                "INSERT INTO audit_log (actor, action, target_type, target_id, reason, created_at)"
                " VALUES ('(shell)', 'edit_blocked_terms', 'terms', ?, NULL, ?)",
                (f"+{len(add)} -{len(remove)}", now()),
            )
        conn.execute("COMMIT")
        return [r[0] for r in conn.execute("SELECT term FROM blocked_terms ORDER BY term")]
    finally:
        conn.close()
