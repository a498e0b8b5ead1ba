"""Caption tracks: one WebVTT text per video and language, uploaded or automatic."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database
from .errors import Unprocessable
from .ids import now
from .rows import one_row


@dataclass(slots=True)
class CaptionTrack:
    video_id: str
    lang: str
    kind: str  # "uploaded" | "automatic"
    cues: int
    updated_at: float


async def list_tracks(db: Database, video_id: str) -> list[CaptionTrack]:
    """The video's caption tracks, by language."""
    rows = await db.fetchall(
        "SELECT video_id, lang, kind, cues, updated_at FROM captions WHERE video_id = ?"
        " ORDER BY lang",
        (video_id,),
    )
    return [CaptionTrack(*row) for row in rows]


async def get_vtt(db: Database, video_id: str, lang: str) -> tuple[CaptionTrack, str]:
    """One track and its WebVTT text; NotFound when the video has none in ``lang``."""
    row = await one_row(
        db,
        "SELECT video_id, lang, kind, cues, updated_at, vtt FROM captions"
        " WHERE video_id = ? AND lang = ?",
        (video_id, lang),
        missing=f"video {video_id} has no captions in {lang!r}",
    )
    return CaptionTrack(*row[:5]), row[5]


async def put_track(
    db: Database,
    video_id: str,
    lang: str,
    vtt: str,
    cues: int,
    *,
    kind: str = "uploaded",
    max_tracks: int,
) -> bool:
    """Store (or replace) a track. An automatic track never replaces an uploaded one (False
    then, as when the video is gone). Unprocessable beyond ``max_tracks`` languages."""
    t = now()
    async with db.write() as conn:
        async with conn.execute(
            "SELECT lang, kind FROM captions WHERE video_id = ?", (video_id,)
        ) as cur:
            existing = {lang_: kind_ for lang_, kind_ in await cur.fetchall()}
        if kind == "automatic" and existing.get(lang) == "uploaded":
            return False
        if lang not in existing and len(existing) >= max_tracks:
            raise Unprocessable(f"a video has at most {max_tracks} caption languages")
        cur = await conn.execute(
            "INSERT INTO captions (video_id, lang, kind, vtt, cues, created_at, updated_at)"
            " SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM videos WHERE id = ?)"
            " ON CONFLICT (video_id, lang) DO UPDATE SET kind = excluded.kind,"
            " vtt = excluded.vtt, cues = excluded.cues, updated_at = excluded.updated_at",
            (video_id, lang, kind, vtt, cues, t, t, video_id),
        )
        return cur.rowcount > 0


async def delete_track(db: Database, video_id: str, lang: str) -> bool:
    """Remove one track; False when there was none."""
    async with db.write() as conn:
        cur = await conn.execute(
            "DELETE FROM captions WHERE video_id = ? AND lang = ?", (video_id, lang)
        )
        return cur.rowcount > 0
