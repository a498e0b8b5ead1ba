"""Response Structs shared by several controllers (videos, pages) and their builders."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any, Generic, TypeVar

import msgspec

from .object_storage import MEDIA_URLS, S3Storage
from .store.comments import CommentRecord
from .store.users import User
from .store.videos import VideoRecord
from .visibility import public_error

T = TypeVar("T")


@lru_cache(maxsize=8192)
def iso(ts: float) -> str:
    """A timestamp as ISO 8601 UTC (memoised: the same videos are listed over and over)."""
    return (
        dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


class Author(msgspec.Struct):
    handle: str
    display_name: str


class Counts(msgspec.Struct):
    likes: int
    comments: int
    shares: int
    views: int


class RenditionOut(msgspec.Struct):
    name: str
    width: int
    height: int
    bytes: int
    url: str


class VideoOut(msgspec.Struct):
    id: str
    author: Author
    caption: str
    hashtags: list[str]
    status: str
    progress: float
    error: str | None
    duration_s: float | None
    width: int | None
    height: int | None
    created_at: str
    counts: Counts
    liked_by_me: bool
    renditions: list[RenditionOut]
    poster_url: str | None
    url: str
    fps: float | None = None
    edit: dict[str, Any] | None = None  # the edit recipe it was published with
    hls_url: str | None = None  # master playlist (fMP4 segments of the renditions) when ready
    sensitive: bool = False  # marked sensitive by a moderator


def video_out(v: VideoRecord) -> VideoOut:
    """The API shape of a video record (built once per cached record: ``v.presented``).

    With media in a bucket (``MEDIA_URLS`` set for the request), rendition and poster URLs
    are absolute (CDN base URL or presigned); presigned ones are rebuilt when they age."""
    urls = MEDIA_URLS.get()
    if urls is None:
        if isinstance(v.presented, VideoOut):
            return v.presented
        out = v.presented = _video_out(v, None)
        return out
    stamp = (id(urls), urls.url_epoch())
    cached = v.presented
    if isinstance(cached, tuple) and cached[0] == stamp:
        return cached[1]
    out = _video_out(v, urls)
    v.presented = (stamp, out)
    return out


def _video_out(v: VideoRecord, urls: S3Storage | None) -> VideoOut:
    base = f"/api/videos/{v.id}"
    ready = v.status == "ready"
    if urls is None:
        renditions = [
            RenditionOut(r.name, r.width, r.height, r.bytes, f"{base}/media/{r.name}")
            for r in v.renditions
        ]
        poster = f"{base}/poster" if v.has_poster else None
    else:  # straight from the bucket or the CDN; the master playlist stays the API's
        renditions = (
            [
                RenditionOut(r.name, r.width, r.height, r.bytes, urls.url(v.id, f"{r.name}.mp4"))
                for r in v.renditions
            ]
            if ready
            else []
        )
        poster = urls.url(v.id, "poster.jpg") if v.has_poster else None
    return VideoOut(
        id=v.id,
        author=Author(v.author_handle, v.author_name),
        caption=v.caption,
        hashtags=v.hashtags,
        status=v.status,
        progress=round(v.progress, 4),
        error=public_error(v.error),
        duration_s=v.duration_s,
        width=v.width,
        height=v.height,
        created_at=iso(v.created_at),
        counts=Counts(v.likes, v.comments, v.shares, v.views),
        liked_by_me=v.liked_by_me,
        renditions=renditions if ready else [],
        poster_url=poster,
        url=base,
        fps=v.fps,
        edit=json.loads(v.edit) if v.edit else None,
        # the master playlist names caption playlists the API serves: the API answers it
        hls_url=f"{base}/hls/master.m3u8" if ready and v.renditions else None,
        sensitive=v.sensitive,
    )


class UserOut(msgspec.Struct):
    handle: str
    display_name: str
    bio: str
    followers: int
    following: int
    videos: int
    likes_received: int
    is_admin: bool
    created_at: str
    is_following: bool | None = None
    #: only in ``GET /api/me``: how many of your notifications are unread
    unread_notifications: int | None = None
    #: only in ``GET /api/me``: sensitive media is shown without the notice
    show_sensitive: bool | None = None


def user_out(
    u: User,
    *,
    is_following: bool | None = None,
    unread_notifications: int | None = None,
    me: bool = False,
) -> UserOut:
    return UserOut(
        handle=u.handle,
        display_name=u.display_name,
        bio=u.bio,
        followers=u.followers,
        following=u.following,
        videos=u.videos,
        likes_received=u.likes_received,
        is_admin=u.is_admin,
        created_at=iso(u.created_at),
        is_following=is_following,
        unread_notifications=unread_notifications,
        show_sensitive=u.show_sensitive if me else None,
    )


class CommentOut(msgspec.Struct):
    id: str
    video_id: str
    author: Author | None  # null: the comment of a deleted account, kept for its replies
    body: str
    parent_id: str | None
    created_at: str
    reply_count: int


def comment_out(c: CommentRecord) -> CommentOut:
    return CommentOut(
        id=c.id,
        video_id=c.video_id,
        author=Author(c.author_handle, c.author_name or c.author_handle)
        if c.author_handle is not None
        else None,
        body=c.body,
        parent_id=c.parent_id,
        created_at=iso(c.created_at),
        reply_count=c.reply_count,
    )


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None
