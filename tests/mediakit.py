"""Real transcoded media for server tests: tiny clips uploaded once through the API, then cloned.

A session fixture (`real_media` in tests/conftest.py) uploads a few tiny clips to a real server
and waits for `ready`; `install_media` then gives any seeded video row on any test server the
same renditions, poster and metadata as one of those transcodes (the files are copied into its
media folder), so media, HLS and poster requests reach their 200/206 paths without a transcode
per test.
"""

from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: the columns a finished transcode fills in (server/store/jobs.py: complete_transcode)
MEDIA_COLUMNS = ("duration_s", "width", "height", "fps", "video_codec", "audio_codec", "poster")


@dataclass(frozen=True)
class Transcoded:
    """One clip as the server transcoded it: its row values, renditions and files."""

    name: str
    video_id: str
    media_dir: Path
    columns: dict[str, object]
    renditions: tuple[tuple[str, int, int, int], ...]  # (name, width, height, bytes)

    @property
    def rendition_names(self) -> list[str]:
        return [r[0] for r in self.renditions]


@dataclass
class RealMedia:
    """The session's transcoded clips, by name (the server that made them is stopped)."""

    clips: dict[str, Transcoded] = field(default_factory=dict)

    @property
    def default(self) -> Transcoded:
        return next(iter(self.clips.values()))


def db_connect(path: Path | str) -> sqlite3.Connection:
    """A connection to a test server's database: its SQLite file, or its Postgres URL (the
    store's sqlite3-shaped psycopg connection)."""
    if isinstance(path, str) and path.startswith("postgresql://"):
        from shortstack.server.store.db import connect_sync

        return connect_sync(path)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def upload_and_wait(url: str, token: str, path: Path, caption: str, timeout: float = 120.0) -> dict:
    """POST /api/videos, then poll until the video leaves `processing`; the final video."""
    headers = {"Authorization": f"Bearer {token}"}
    with path.open("rb") as fh:
        r = httpx.post(
            url + "/api/videos",
            files={"file": (path.name, fh, "video/mp4")},
            data={"caption": caption},
            headers=headers,
            timeout=60,
        )
    assert r.status_code == 202, r.text
    video_id = r.json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        video = httpx.get(f"{url}/api/videos/{video_id}", headers=headers, timeout=30).json()
        if video["status"] != "processing":
            return video
        assert time.monotonic() < deadline, f"{path.name} still processing: {video}"
        time.sleep(0.1)


def collect(data_dir: Path, name: str, video_id: str) -> Transcoded:
    """Read what the transcode of `video_id` left in the database and on disk."""
    conn = db_connect(data_dir / "shortstack.db")
    try:
        row = conn.execute(
            f"SELECT {', '.join(MEDIA_COLUMNS)} FROM videos WHERE id = ?", (video_id,)
        ).fetchone()
        renditions = conn.execute(
            "SELECT name, width, height, bytes FROM renditions WHERE video_id = ? ORDER BY rowid",
            (video_id,),
        ).fetchall()
    finally:
        conn.close()
    media_dir = data_dir / "media" / video_id[:2] / video_id
    assert renditions and (media_dir / "poster.jpg").exists(), (video_id, renditions)
    return Transcoded(
        name=name,
        video_id=video_id,
        media_dir=media_dir,
        columns=dict(zip(MEDIA_COLUMNS, row, strict=True)),
        renditions=tuple(tuple(r) for r in renditions),
    )


def install_media(
    conn: sqlite3.Connection, data_dir: Path, video_id: str, clip: Transcoded
) -> None:
    """Give the (seeded, ready) row `video_id` the clip's renditions, metadata and files.

    Runs inside the caller's transaction on `conn`; the files are copied first (a row never
    points at files that are not there). Keeps the row's own duration_s when it has one."""
    target = data_dir / "media" / video_id[:2] / video_id
    target.mkdir(parents=True, exist_ok=True)
    for src in clip.media_dir.iterdir():
        if src.is_file() and src.name != "source" and not src.name.startswith("."):
            shutil.copyfile(src, target / src.name)
    columns = {k: v for k, v in clip.columns.items() if k != "duration_s"}
    conn.execute(
        f"UPDATE videos SET {', '.join(f'{k} = ?' for k in columns)},"
        " duration_s = COALESCE(duration_s, ?) WHERE id = ?",
        (*columns.values(), clip.columns["duration_s"], video_id),
    )
    conn.execute("DELETE FROM renditions WHERE video_id = ?", (video_id,))
    conn.executemany(
        "INSERT INTO renditions (video_id, name, width, height, bytes) VALUES (?, ?, ?, ?, ?)",
        [(video_id, *r) for r in clip.renditions],
    )


_ALPHABET = string.ascii_letters + string.digits


def seed_video(
    live,
    handle: str,
    caption: str = "a seeded clip",
    *,
    duration_s: float = 20.0,
    created_at: float | None = None,
    status: str = "ready",
    clip: str | None = None,
) -> str:
    """Insert a ready video row (as a finished transcode would leave it) for @handle; its id.

    On a server with real media (`live.media`), a ready video gets the renditions, poster and
    metadata of a real transcode (`clip` names which; the first by default), files included;
    `duration_s` stays what the row says, for the view rules."""
    video_id = "".join(secrets.choice(_ALPHABET) for _ in range(11))
    tags = list(dict.fromkeys(t.lower() for t in re.findall(r"#(\w{1,50})", caption)))
    conn = db_connect(live.db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        user_id = conn.execute("SELECT id FROM users WHERE handle = ?", (handle,)).fetchone()[0]
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
            " fps, created_at) VALUES (?, ?, ?, ?, 1, ?, 320, 240, 25, ?)",
            (video_id, user_id, caption, status, duration_s, created_at or time.time()),
        )
        conn.execute(
            "INSERT INTO renditions (video_id, name, width, height, bytes) VALUES (?, '240p', 320, 240, 1000)",
            (video_id,),
        )
        for tag in tags:
            conn.execute(
                "INSERT INTO hashtags (tag, videos) VALUES (?, 1)"
                " ON CONFLICT(tag) DO UPDATE SET videos = hashtags.videos + 1",
                (tag,),
            )
            conn.execute(
                "INSERT INTO video_hashtags (video_id, hashtag_id) SELECT ?, id FROM hashtags WHERE tag = ?",
                (video_id, tag),
            )
        conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, ?, ?)",
            (video_id, caption, " ".join(tags), handle),
        )
        conn.execute("UPDATE users SET videos = videos + 1 WHERE id = ?", (user_id,))
        media = getattr(live, "media", None)
        if media is not None and status == "ready":
            chosen = media.clips[clip] if clip else media.default
            install_media(conn, live.data_dir, video_id, chosen)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return video_id


def make_admin(live, handle: str, password: str = "kettle-harbor-58") -> str:
    """Register @handle, make it an admin in the database file; its token."""
    token = live.register(handle, password)
    conn = db_connect(live.db_path)
    try:
        conn.execute("UPDATE users SET is_admin = 1 WHERE handle = ?", (handle,))
    finally:
        conn.close()
    return token
