"""Reliability harness kit: the load bench's server and audits, plus the after-crash checks."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
from mediakit import Transcoded, install_media
from servekit import bench

REPO = Path(__file__).resolve().parents[2]


ServeProcess = bench.ServeProcess
Ledger = bench.Ledger
write_config = bench.write_config
counter_mismatches = bench.counter_mismatches
audit = bench.audit
make_clip = bench.make_clip
children = bench._children
PASSWORD = "kettle-harbor-58"


def connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def integrity(db_path: Path) -> str:
    conn = connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def leftovers(data_dir: Path) -> dict[str, list[str]]:
    """Temp files in DATA/tmp, media folders no video row owns, hidden partial files in media."""
    conn = connect(data_dir / "shortstack.db")
    try:
        known = {r[0] for r in conn.execute("SELECT id FROM videos")}
    finally:
        conn.close()
    tmp = data_dir / "tmp"
    media = data_dir / "media"
    return {
        "tmp": sorted(p.name for p in tmp.iterdir()) if tmp.exists() else [],
        "orphans": sorted(d.name for d in media.glob("*/*") if d.is_dir() and d.name not in known),
        "partials": sorted(str(p.relative_to(media)) for p in media.glob("*/*/.*")),
    }


def assert_clean(data_dir: Path) -> None:
    """After a restart: the database is intact and the start-up sweep left nothing behind."""
    assert integrity(data_dir / "shortstack.db") == "ok"
    assert leftovers(data_dir) == {"tmp": [], "orphans": [], "partials": []}
    assert counter_mismatches(data_dir / "shortstack.db") == []


def register(url: str, handle: str, password: str = PASSWORD, **extra: str) -> str:
    r = httpx.post(
        url + "/api/auth/register",
        json={"handle": handle, "password": password, **extra},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(url: str, token: str, path: Path, caption: str = "a clip") -> dict:
    with path.open("rb") as fh:
        r = httpx.post(
            url + "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data={"caption": caption},
            headers=auth(token),
            timeout=60,
        )
    assert r.status_code == 202, r.text
    return r.json()


def wait_status(
    url: str,
    video_id: str,
    want: tuple[str, ...] = ("ready", "failed"),
    timeout: float = 120.0,
    headers: dict[str, str] | None = None,
) -> dict:
    """Poll a video until its status is one of `want` (only its owner, with `headers`,
    sees it before it is ready)."""
    deadline = time.monotonic() + timeout
    while True:
        video = httpx.get(f"{url}/api/videos/{video_id}", headers=headers, timeout=30).json()
        if video["status"] in want:
            return video
        assert time.monotonic() < deadline, f"video {video_id} stuck: {video}"
        time.sleep(0.2)


def seed_video(
    db_path: Path,
    handle: str,
    caption: str = "seeded",
    duration_s: float = 20.0,
    media: Transcoded | None = None,
) -> str:
    """Insert a ready video row (as a finished transcode leaves it) for @handle; its id.

    For tests about who may do what, where a real transcode would only cost time: with
    `media` (a clip of the `real_media` fixture) the row gets that transcode's renditions,
    poster and files, so its media, HLS and poster URLs answer for real."""
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    video_id = "".join(secrets.choice(alphabet) for _ in range(11))
    conn = connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        user_id = conn.execute("SELECT id FROM users WHERE handle = ?", (handle,)).fetchone()[0]
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
            " fps, created_at) VALUES (?, ?, ?, 'ready', 1, ?, 320, 240, 25, ?)",
            (video_id, user_id, caption, duration_s, time.time()),
        )
        conn.execute(
            "INSERT INTO renditions (video_id, name, width, height, bytes)"
            " VALUES (?, '240p', 320, 240, 1000)",
            (video_id,),
        )
        conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, '', ?)",
            (video_id, caption, handle),
        )
        conn.execute("UPDATE users SET videos = videos + 1 WHERE id = ?", (user_id,))
        if media is not None:
            install_media(conn, db_path.parent, video_id, media)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return video_id


def bulk_events(db_path: Path, rows: int) -> None:
    """Make the database big (300k rows is ~45 MB) so that a backup takes a while."""
    conn = connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, 'view', ?)",
            ((time.time(), 1, "x" * 11 + "y" * 80, i / rows) for i in range(rows)),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
