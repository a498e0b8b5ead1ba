"""Offline administration on the database file: make admins, check integrity, sweep orphans."""

from __future__ import annotations

from pathlib import Path

from ..storage import LocalStorage
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


def doctor(data_dir: Path, *, fix: bool) -> dict[str, object]:
    """Integrity check, counter check, orphan media folders and stale temp files."""
    db_path = data_dir / "shortstack.db"
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
    storage = LocalStorage(data_dir)
    orphans = [v for v in storage.video_ids_on_disk() if v not in known]
    temps = [p.name for p in storage.tmp.iterdir()] if storage.tmp.exists() else []
    report: dict[str, object] = {
        "integrity": integrity,
        "videos": len(known),
        "counter_mismatches": drift,
        "pending_jobs": stuck,
        "orphan_media_folders": len(orphans),
        "temp_files": len(temps),
    }
    if fix:
        report["removed"] = storage.sweep(known)
    return report
