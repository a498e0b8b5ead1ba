"""Real transcoded media for server tests: tiny clips uploaded once through the API, then cloned.

A session fixture (`real_media` in tests/conftest.py) uploads a few tiny clips to a real server
and waits for `ready`; `install_media` then gives any seeded video row on any test server the
same renditions, poster and metadata as one of those transcodes (the files are copied into its
media folder), so media, HLS and poster requests reach their 200/206 paths without a transcode
per test.
"""

from __future__ import annotations

import shutil
import sqlite3
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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
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
    conn = _connect(data_dir / "shortstack.db")
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
