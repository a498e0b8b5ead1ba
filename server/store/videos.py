"""Videos, renditions and hashtags: rows in, records out."""

from __future__ import annotations

import copy
import re
import sqlite3
from dataclasses import dataclass, field

import aiosqlite

from .db import Database
from .errors import Conflict, NotFound, TooMany
from .ids import new_id, now
from .rows import from_row, keyset_rows, one_row

HASHTAG_RE = re.compile(r"#(\w{1,50})", re.UNICODE)


def new_video_id() -> str:
    return new_id()


def parse_hashtags(caption: str) -> list[str]:
    """Lower-cased #hashtags of a caption, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(caption):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)[:30]


@dataclass(slots=True)
class RenditionRecord:
    name: str
    width: int
    height: int
    bytes: int


@dataclass(slots=True)
class VideoRecord:
    id: str
    author_id: int
    author_handle: str
    author_name: str
    caption: str
    status: str
    progress: float
    error: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    created_at: float
    likes: int
    comments: int
    shares: int
    views: int
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    hashtags: list[str] = field(default_factory=list)
    renditions: list[RenditionRecord] = field(default_factory=list)
    liked_by_me: bool = False
    has_poster: bool = False
    edit: str | None = None  # the edit recipe's canonical JSON
    removed_at: float | None = None  # removed by a moderator (kept for appeal, then purged)
    sensitive: bool = False  # marked sensitive by a moderator
    author_suspended: bool = False
    #: what the API layer built from this record (its VideoOut), kept with a cached record so
    #: it is built once per version of the video; never compared, never copied to a viewer
    presented: object = field(default=None, compare=False, repr=False)


VIDEO_SELECT = (
    "SELECT v.id, v.author_id, u.handle AS author_handle, u.display_name AS author_name, v.caption,"
    " v.status, v.progress, v.error, v.duration_s, v.width, v.height, v.created_at, v.likes, v.comments,"
    " v.shares, v.views, v.fps, v.video_codec, v.audio_codec, v.poster, v.edit, v.removed_at,"
    " v.sensitive, u.suspended_at"
    " FROM videos v JOIN users u ON u.id = v.author_id"
)


def _record(row: aiosqlite.Row | sqlite3.Row) -> VideoRecord:
    return from_row(
        VideoRecord,
        row,
        has_poster=bool(row["poster"]),
        sensitive=bool(row["sensitive"]),
        author_suspended=row["suspended_at"] is not None,
    )


async def _records(
    db: Database, rows: list[aiosqlite.Row], viewer_id: int | None
) -> list[VideoRecord]:
    """Records of VIDEO_SELECT rows with their hashtags, renditions and the viewer's likes."""
    records = [_record(r) for r in rows]
    await _attach(db, records, viewer_id)
    return records


async def _attach(db: Database, records: list[VideoRecord], viewer_id: int | None) -> None:
    if records:
        await db.run_read(_attach_sync, records, viewer_id)


def _attach_sync(
    conn: sqlite3.Connection, records: list[VideoRecord], viewer_id: int | None
) -> None:
    """Hashtags, renditions and the viewer's likes of fresh records, in one hop."""
    for start in range(0, len(records), 500):
        by_id = {r.id: r for r in records[start : start + 500]}
        ids = list(by_id)
        marks = ",".join("?" * len(ids))
        for vid, tag in conn.execute(
            "SELECT vh.video_id, h.tag FROM video_hashtags vh JOIN hashtags h ON h.id ="
            f" vh.hashtag_id WHERE vh.video_id IN ({marks}) ORDER BY vh.rowid",
            ids,
        ):
            by_id[vid].hashtags.append(tag)
        for vid, name, width, height, size in conn.execute(
            f"SELECT video_id, name, width, height, bytes FROM renditions WHERE video_id IN ({marks})"
            " ORDER BY height * width DESC",
            ids,
        ):
            by_id[vid].renditions.append(RenditionRecord(name, width, height, size))
        if viewer_id is not None:
            for vid in _liked(conn, viewer_id, ids):
                by_id[vid].liked_by_me = True


def _read_records(
    conn: sqlite3.Connection, video_ids: list[str], viewer_id: int | None, also_liked: list[str]
) -> tuple[dict[str, VideoRecord], set[str]]:
    """On a reader thread (``Database.run_read``): the records of the ids that exist, with
    hashtags and renditions, and which of them (and of ``also_liked``) viewer liked; every
    statement in one hop."""
    records: dict[str, VideoRecord] = {}
    liked: set[str] = set()
    for start in range(0, len(video_ids), 500):
        ids = video_ids[start : start + 500]
        marks = ",".join("?" * len(ids))
        chunk = {
            r["id"]: _record(r)
            for r in conn.execute(f"{VIDEO_SELECT} WHERE v.id IN ({marks})", ids)
        }
        if not chunk:
            continue
        found = list(chunk)
        marks = ",".join("?" * len(found))
        for vid, tag in conn.execute(
            "SELECT vh.video_id, h.tag FROM video_hashtags vh JOIN hashtags h ON h.id ="
            f" vh.hashtag_id WHERE vh.video_id IN ({marks}) ORDER BY vh.rowid",
            found,
        ):
            chunk[vid].hashtags.append(tag)
        for vid, name, width, height, size in conn.execute(
            f"SELECT video_id, name, width, height, bytes FROM renditions WHERE video_id IN ({marks})"
            " ORDER BY height * width DESC",
            found,
        ):
            chunk[vid].renditions.append(RenditionRecord(name, width, height, size))
        records.update(chunk)
        if viewer_id is not None:
            liked.update(_liked(conn, viewer_id, found))
    if viewer_id is not None:
        for start in range(0, len(also_liked), 500):
            liked.update(_liked(conn, viewer_id, also_liked[start : start + 500]))
    return records, liked


def _liked(conn: sqlite3.Connection, viewer_id: int, video_ids: list[str]) -> set[str]:
    marks = ",".join("?" * len(video_ids))
    rows = conn.execute(
        f"SELECT video_id FROM likes WHERE user_id = ? AND video_id IN ({marks})",
        [viewer_id, *video_ids],
    )
    return {r[0] for r in rows}


def _for_viewer(record: VideoRecord, liked: bool) -> VideoRecord:
    """The cached record itself when the viewer did not like it (records are read-only to
    callers: nothing outside this module assigns to one), else a copy with liked_by_me set
    (``copy.copy``: a tenth of ``dataclasses.replace``, which runs ``__init__`` again)."""
    if not liked:
        return record
    own = copy.copy(record)
    own.presented = None
    own.hashtags = list(record.hashtags)
    own.renditions = list(record.renditions)
    own.liked_by_me = liked
    return own


async def get_videos(
    db: Database, video_ids: list[str], viewer_id: int | None = None
) -> dict[str, VideoRecord]:
    """Records for the ids that exist (missing ones are simply absent), in one thread hop at
    most: records come from ``db.videos`` while nothing was committed since they were read;
    the rest (and the viewer's likes) are read together."""
    if not video_ids:
        return {}
    version = db.data_version()  # before the read: see ReadCache.put
    cached: dict[str, VideoRecord] = {}
    missing: list[str] = []
    for vid in dict.fromkeys(video_ids):
        record = db.videos.get(vid, version)
        if record is None:
            missing.append(vid)
        else:
            cached[vid] = record
    liked: set[str] = set()
    if missing:
        fresh, liked = await db.run_read(_read_records, missing, viewer_id, list(cached))
        for vid, record in fresh.items():
            db.videos.put(vid, version, record)
        cached.update(fresh)
    elif viewer_id is not None:
        liked = await db.run_read(_liked, viewer_id, list(cached))
    return {vid: _for_viewer(cached[vid], vid in liked) for vid in video_ids if vid in cached}


async def get_video(db: Database, video_id: str, viewer_id: int | None = None) -> VideoRecord:
    """One video (NotFound if there is none); see ``get_videos``."""
    record = (await get_videos(db, [video_id], viewer_id)).get(video_id)
    if record is None:
        raise NotFound(f"no video {video_id!r}")
    return record


async def video_row(
    source: Database | aiosqlite.Connection,
    video_id: str,
    select: str = "SELECT v.id FROM videos v",
) -> aiosqlite.Row:
    """The row of one video (`select` names the columns, the table as `v`); NotFound if none."""
    return await one_row(
        source, f"{select} WHERE v.id = ?", (video_id,), missing=f"no video {video_id!r}"
    )


async def list_user_videos(
    db: Database,
    author_id: int,
    *,
    limit: int,
    before: tuple[float, str] | None,
    viewer_id: int | None,
    include_unready: bool,
    include_moderated: bool = False,
) -> list[VideoRecord]:
    """A user's videos, newest first; removed ones and a suspended author's only with
    include_moderated (admins)."""
    where = "v.author_id = ?" if include_unready else "v.author_id = ? AND v.status = 'ready'"
    if not include_moderated:
        where += " AND v.removed_at IS NULL AND u.suspended_at IS NULL"
    rows = await keyset_rows(
        db,
        VIDEO_SELECT,
        where,
        [author_id],
        alias="v",
        after=before,
        limit=limit,
        newest_first=True,
    )
    return await _records(db, rows, viewer_id)


@dataclass(frozen=True, slots=True)
class UploadQuota:
    """What one user may upload per ``window_s`` seconds; 0 means no limit."""

    max_count: int = 0
    max_bytes: int = 0
    window_s: float = 86400.0


def quota_wait(
    used: list[tuple[float, int]], quota: UploadQuota, size: int, at: float
) -> tuple[str, float] | None:
    """Why and for how many seconds an upload of ``size`` bytes must wait, or None if it fits.

    ``used`` is (created_at, bytes) of the user's uploads in the window, oldest first; an
    upload frees its share of the quota ``window_s`` after it was made."""
    expiry = [created + quota.window_s - at for created, _ in used]
    if quota.max_count and len(used) >= quota.max_count:
        return (
            f"you may upload {quota.max_count} videos a day",
            expiry[len(used) - quota.max_count],
        )
    total = sum(n for _, n in used)
    if quota.max_bytes and total + size > quota.max_bytes:
        mib = quota.max_bytes / (1024 * 1024)
        for (_, n), wait in zip(used, expiry, strict=True):
            total -= n
            if total + size <= quota.max_bytes:
                return f"you may upload {mib:g} MiB a day", wait
        return f"you may upload {mib:g} MiB a day", quota.window_s
    return None


async def _used(
    conn: aiosqlite.Connection, user_id: int, quota: UploadQuota, at: float
) -> list[tuple[float, int]]:
    async with conn.execute(
        "SELECT created_at, bytes FROM upload_log WHERE user_id = ? AND created_at > ?"
        " ORDER BY created_at",
        (user_id, at - quota.window_s),
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


def _check_quota(used: list[tuple[float, int]], quota: UploadQuota, size: int, at: float) -> None:
    refused = quota_wait(used, quota, size, at)
    if refused is not None:
        why, wait = refused
        later = f"{wait / 3600:.1f} h" if wait >= 3600 else f"{max(1, round(wait / 60))} min"
        raise TooMany(f"{why}; try again in {later}", max(1.0, wait))


async def check_upload_quota(db: Database, user_id: int, quota: UploadQuota, size: int) -> None:
    """TooMany (with when to retry) if ``size`` more bytes would pass the user's quota."""
    at = now()
    async with db.read() as conn:
        _check_quota(await _used(conn, user_id, quota, at), quota, size, at)


async def create_video(
    db: Database,
    author_id: int,
    caption: str,
    *,
    video_id: str | None = None,
    content_hash: str | None = None,
    source_bytes: int | None = None,
    info: dict | None = None,
    job_payload: str = "{}",
    max_attempts: int = 3,
    edit: str | None = None,
    quota: UploadQuota | None = None,
    sensitive: bool = False,
) -> str:
    """Insert a processing video, its hashtags, search row and transcode job in one transaction.

    The upload is logged against the author's ``quota`` (TooMany when it does not fit)."""
    video_id = video_id or new_id()
    info = info or {}
    ts = now()
    async with db.write() as conn:
        if quota is not None:  # checked in the write: parallel uploads cannot overrun it
            _check_quota(await _used(conn, author_id, quota, ts), quota, source_bytes or 0, ts)
            await conn.execute(
                "DELETE FROM upload_log WHERE user_id = ? AND created_at <= ?",
                (author_id, ts - quota.window_s),
            )
        await conn.execute(
            "INSERT INTO upload_log (user_id, bytes, created_at) VALUES (?, ?, ?)",
            (author_id, source_bytes or 0, ts),
        )
        if content_hash is not None:  # checked again here: two identical uploads may race
            async with conn.execute(DUPLICATE_SQL, (author_id, content_hash, edit)) as cur:
                twin = await cur.fetchone()
            if twin is not None:
                raise Conflict(f"you already posted this file with this edit as video {twin[0]}")
        await conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, created_at, content_hash, source_bytes,"
            " duration_s, width, height, fps, video_codec, audio_codec, edit, sensitive)"
            " VALUES (?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                video_id,
                author_id,
                caption,
                ts,
                content_hash,
                source_bytes,
                info.get("duration_s"),
                info.get("width"),
                info.get("height"),
                info.get("fps"),
                info.get("video_codec"),
                info.get("audio_codec"),
                edit,
                int(sensitive),
            ),
        )
        tags = parse_hashtags(caption)
        for tag in tags:
            await conn.execute(
                "INSERT INTO hashtags (tag, videos) VALUES (?, 1) ON CONFLICT(tag) DO UPDATE SET videos = hashtags.videos + 1",
                (tag,),
            )
            await conn.execute(
                "INSERT OR IGNORE INTO video_hashtags (video_id, hashtag_id) SELECT ?, id FROM hashtags WHERE tag = ?",
                (video_id, tag),
            )
        async with conn.execute("SELECT handle FROM users WHERE id = ?", (author_id,)) as cur:
            handle = (await cur.fetchone())[0]
        await conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, ?, ?)",
            (video_id, caption, " ".join(tags), handle),
        )
        await conn.execute("UPDATE users SET videos = videos + 1 WHERE id = ?", (author_id,))
        await conn.execute(
            "INSERT INTO jobs (kind, video_id, status, max_attempts, payload, created_at, updated_at)"
            " VALUES ('transcode', ?, 'queued', ?, ?, ?, ?)",
            (video_id, max_attempts, job_payload, ts, ts),
        )
    return video_id


async def delete_video(db: Database, video_id: str) -> None:
    """Delete a video's rows (renditions, likes, comments cascade) and fix the counters."""
    async with db.write() as conn:
        row = await video_row(conn, video_id, "SELECT v.author_id, v.likes FROM videos v")
        await conn.execute(
            "UPDATE hashtags SET videos = videos - 1 WHERE id IN"
            " (SELECT hashtag_id FROM video_hashtags WHERE video_id = ?)",
            (video_id,),
        )
        await conn.execute(
            "UPDATE users SET videos = videos - 1, likes_received = likes_received - ? WHERE id = ?",
            (row["likes"], row["author_id"]),
        )
        await conn.execute("DELETE FROM videos_fts WHERE video_id = ?", (video_id,))
        await conn.execute("DELETE FROM videos WHERE id = ?", (video_id,))


# a duplicate is the same file with the same edit recipe (canonical JSON, NULL when unedited)
DUPLICATE_SQL = (
    "SELECT id FROM videos WHERE author_id = ? AND content_hash = ? AND edit IS ?"
    " AND status != 'failed'"
)


async def find_duplicate(
    db: Database, author_id: int, content_hash: str, edit: str | None
) -> str | None:
    """The author's live video made from this file with this recipe, if any."""
    row = await db.fetchone(DUPLICATE_SQL, (author_id, content_hash, edit))
    return row[0] if row else None


async def video_author(db: Database, video_id: str) -> int | None:
    """The author of a video, None if there is no such video."""
    row = await db.fetchone("SELECT author_id FROM videos WHERE id = ?", (video_id,))
    return row[0] if row else None


async def all_video_ids(db: Database) -> set[str]:
    return {r[0] for r in await db.fetchall("SELECT id FROM videos")}
