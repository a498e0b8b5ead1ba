"""Online, consistent backup of the database (SQLite backup API) plus a media manifest."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from ..storage import LocalStorage
from .ids import now


def backup(data_dir: Path, dest: Path) -> dict[str, object]:
    """Copy the live database to dest (safe while the server writes) and list its media files.

    The copy is written to a temp name and renamed, so a crash never leaves a half backup."""
    src = sqlite3.connect(str(data_dir / "shortstack.db"), timeout=30)
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        target = sqlite3.connect(str(tmp))
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
        if check != "ok":
            raise RuntimeError(f"backup failed its integrity check: {check}")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    finally:
        src.close()
        tmp.unlink(missing_ok=True)
    storage = LocalStorage(data_dir)
    files: dict[str, list[dict[str, object]]] = {}
    for video_id, name, size in rows:
        entry = files.setdefault(video_id, [])
        if name is not None:
            path = storage.rendition_path(video_id, name)
            entry.append(
                {"path": str(path.relative_to(data_dir)), "bytes": size, "present": path.exists()}
            )
    for video_id, entry in files.items():  # the poster and the original upload too
        for path in (storage.poster_path(video_id), storage.source_path(video_id)):
            if path.exists():
                entry.append(
                    {
                        "path": str(path.relative_to(data_dir)),
                        "bytes": path.stat().st_size,
                        "present": True,
                    }
                )
    manifest = dest.with_name(dest.name + ".manifest.json")
    manifest_tmp = manifest.with_name(f".{manifest.name}.partial")
    manifest_tmp.write_text(
        json.dumps({"created_at": now(), "data_dir": str(data_dir), "videos": files}, indent=1)
    )
    os.replace(manifest_tmp, manifest)
    return {"file": str(dest), "manifest": str(manifest), "videos": len(files)}
