"""Offline SQL on the database file: accounts, admins, invites and the facts `shortstack doctor`
checks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .db import connect_sync, secure_database_file
from .dialect import integrity_errors, is_postgres
from .ids import new_token, now
from .migrations import migrate, migrate_postgres


class HandleTaken(Exception):
    """create_user_sync: the handle belongs to someone already."""


def prepare(location: Path | str) -> None:
    """Make the database ready for an offline command: the SQLite file created private and
    migrated, or the Postgres database (a ``postgresql://`` URL) migrated."""
    if is_postgres(location):
        migrate_postgres(str(location))
    else:
        secure_database_file(location)
        migrate(str(location))


def create_user_sync(
    db_path: Path, handle: str, password_hash: str, display_name: str | None, *, is_admin: bool
) -> None:
    """Insert an account with its search row (the same rows the register endpoint writes)."""
    prepare(db_path)
    conn = connect_sync(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute(
                "INSERT INTO users (handle, display_name, password_hash, is_admin, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (handle, display_name or handle, password_hash, int(is_admin), now()),
            )
            user_id = cur.fetchone()[0]
        except integrity_errors():
            conn.execute("ROLLBACK")
            raise HandleTaken(f"the handle @{handle} is taken") from None
        conn.execute(
            "INSERT INTO users_fts (user_id, handle, display_name) VALUES (?, ?, ?)",
            (user_id, handle, display_name or handle),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def create_invite_sync(db_path: Path, *, uses: int, expires_in_s: float) -> tuple[str, float]:
    """A new invite code (stored hashed, like tokens) and when it expires."""
    prepare(db_path)
    code, digest = new_token()
    at = now()
    conn = connect_sync(db_path)
    try:
        conn.execute(
            "INSERT INTO invites (hash, created_by, uses_left, expires_at, created_at)"
            " VALUES (?, NULL, ?, ?, ?)",
            (digest, uses, at + expires_in_s, at),
        )
    finally:
        conn.close()
    return code, at + expires_in_s


def make_admin_sync(db_path: Path, handle: str) -> bool:
    prepare(db_path)
    conn = connect_sync(db_path)
    try:
        cur = conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
        return cur.rowcount > 0
    finally:
        conn.close()


@dataclass(frozen=True)
class DatabaseFacts:
    """What the database says about itself: integrity, its videos, counter drift, open jobs."""

    integrity: str
    video_ids: set[str]
    counter_mismatches: int
    pending_jobs: int


def inspect_sync(db_path: Path) -> DatabaseFacts:
    """Integrity check, the video ids, videos whose counters disagree with their rows, open jobs."""
    conn = connect_sync(db_path)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        known = {r[0] for r in conn.execute("SELECT id FROM videos")}
        drift = conn.execute(
            "SELECT COUNT(*) FROM videos v WHERE v.likes != (SELECT COUNT(*) FROM likes l WHERE l.video_id = v.id)"
            " OR v.comments != (SELECT COUNT(*) FROM comments c WHERE c.video_id = v.id)"
        ).fetchone()[0]
        stuck = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')"
        ).fetchone()[0]
    finally:
        conn.close()
    return DatabaseFacts(integrity, known, drift, stuck)


def count_videos_sync(db_path: Path) -> int | None:
    """How many videos the file holds; None when it is not a Shortstack database (yet)."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        conn.close()
