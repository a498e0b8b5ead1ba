"""Online, consistent copy of the database (SQLite backup API) and the rows its manifest lists."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def copy_database(src_path: Path, target_path: Path) -> list[tuple[str, str | None, int | None]]:
    """Copy the live database at src_path into target_path (safe while the server writes).

    Returns (video id, rendition name, bytes) per rendition of the copy, (id, None, None) for
    a video without one. Raises RuntimeError when the copy fails its integrity check."""
    src = sqlite3.connect(str(src_path), timeout=30)
    try:
        target = sqlite3.connect(str(target_path))
        try:
            # one step: a stepwise copy restarts whenever the server commits, so under steady
            # writes it never finished; a single step reads one WAL snapshot, writers go on
            src.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            check = target.execute("PRAGMA integrity_check").fetchone()[0]
            rows = target.execute(
                "SELECT v.id, r.name, r.bytes FROM videos v LEFT JOIN renditions r ON r.video_id = v.id"
            ).fetchall()
        finally:
            target.close()
    finally:
        src.close()
    if check != "ok":
        raise RuntimeError(f"backup failed its integrity check: {check}")
    return rows


def rendition_rows(conn: Any) -> list[tuple[str, str | None, int | None]]:
    """(video id, rendition name, bytes) per rendition, (id, None, None) for a video without
    one: what a backup's media manifest lists (any backend's connection)."""
    rows = conn.execute(
        "SELECT v.id, r.name, r.bytes FROM videos v LEFT JOIN renditions r ON r.video_id = v.id"
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def server_major_version(conn: Any) -> int:
    """The Postgres server's major version on ``conn`` (16 for 16.2): pg_dump must be as new."""
    return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
