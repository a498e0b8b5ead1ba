"""Offline SQL on the database file: make admins and the facts `shortstack doctor` checks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .db import connect_sync
from .migrations import migrate


def make_admin_sync(db_path: Path, handle: str) -> bool:
    migrate(str(db_path))
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
