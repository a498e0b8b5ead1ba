"""Who may see and touch a video: the one visibility policy of every route, list and event.

Every video route asks here before answering: ``visible_video`` for what may be seen
(the video, its media, poster, HLS, comments, its share page), ``published_video`` for
what may be interacted with (like, view, share, comment, not-interested). Live events go
through ``EventFilter``, one per listener. A video someone may not see is a 404, the
same answer as an unknown id, so its existence does not leak either.

The rules today: a ready video is public; one still processing or failed is seen only by
its owner and admins, and nobody interacts with it; video.* events go only to the owner.
A video removed by a moderator, or any video of a suspended account, is seen by admins
only (``moderated_away`` / ``sees_moderated``); its owner too gets a 404.
Feeds and search show only what ``listed`` allows; a user's video list includes the
unpublished ones when ``sees_unpublished``. (Their SQL keeps a ``status = 'ready'`` filter
as a pre-filter.) Moderation (blocks, mutes, suspensions, removals) extends ``may_see``,
``listed`` and ``EventFilter.allows``; every caller follows.

Blocks and mutes (``Relations``, loaded once per request by ``relations``):
- a block works both ways: the two accounts do not see each other's videos (404, the same
  answer as an unknown id, so interacting with them -- like, share, comment, views -- is a 404
  too), profiles and video lists (``visible_user``: 404), comments, or notifications; a
  blocked account cannot follow the blocker (404). Follows both ways end when it starts.
- a mute hides the muted account's videos and comments from the muter's feeds (For You,
  Following, Trending), search results and comment threads; nothing else changes.
Paginated SQL lists (Following, comments, notifications) take ``author_filter`` as a
pre-filter, so a page is never cut short by rows this policy would drop afterwards.
The ranked feeds hand ``Relations.hidden`` to the feed engine, which treats those accounts'
videos as seen in its per-request state (a page is ranked without them, not cut short).
Notification rows are not written across a block (``store.events.notify``, the same rule
in the write transaction); ``EventFilter`` drops live ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .store import relations as relations_store
from .store import users as users_store
from .store import videos as store
from .store.db import Database
from .store.errors import Conflict, Forbidden, NotFound
from .store.users import User
from .store.videos import VideoRecord

#: An absolute filesystem path (POSIX or Windows) inside an error text.
_PATH = re.compile(r"""(?<![\w.])(?:[A-Za-z]:[\\/]|/)(?:[^\s'"\\/]+[\\/])+([^\s'"\\/]*)""")


@dataclass(frozen=True, slots=True)
class Relations:
    """One viewer's blocks and mutes: ``blocked`` holds accounts blocked either way."""

    blocked: frozenset[int] = field(default_factory=frozenset)
    muted: frozenset[int] = field(default_factory=frozenset)

    @property
    def hidden(self) -> frozenset[int]:
        """Accounts whose videos and comments stay out of this viewer's feeds and threads."""
        return self.blocked | self.muted


NO_RELATIONS = Relations()


async def relations(db: Database, viewer: User | None) -> Relations:
    """The viewer's blocks (either way) and mutes; none for anonymous viewers."""
    if viewer is None:
        return NO_RELATIONS
    blocked, muted = await relations_store.relation_ids(db, viewer.id)
    return Relations(frozenset(blocked), frozenset(muted))


def author_filter(column: str, viewer: User | None, *, threads: bool) -> tuple[str, list]:
    """SQL pre-filter on an author/actor ``column`` for viewer: blocks either way always,
    mutes too for feeds and comment threads (``threads``)."""
    if viewer is None:
        return "TRUE", []
    return relations_store.author_filter(column, viewer.id, mutes=threads)


def may_see_user(user_id: int, viewer: User | None, rel: Relations) -> bool:
    """Whether viewer may see this account's profile and video list: not blocked either way."""
    return viewer is None or user_id not in rel.blocked


async def visible_user(db: Database, handle: str, viewer: User | None) -> User:
    """The account if viewer may see it; NotFound (404) otherwise, as for an unknown handle."""
    target = await users_store.get_user(db, handle)
    if not may_see_user(target.id, viewer, await relations(db, viewer)):
        raise NotFound(f"no user @{handle}")
    return target


def sees_unpublished(viewer: User | None, author_id: int) -> bool:
    """Whether viewer may see author_id's videos that are not ready: the owner and admins."""
    return viewer is not None and (viewer.id == author_id or viewer.is_admin)


def moderated_away(video: VideoRecord) -> bool:
    """Whether moderation hides the video: removed by an admin, or its author is suspended."""
    return video.removed_at is not None or video.author_suspended


def sees_moderated(viewer: User | None) -> bool:
    """Whether viewer sees what moderation hides (removed content, suspended accounts): admins."""
    return viewer is not None and viewer.is_admin


def may_see(video: VideoRecord, viewer: User | None, rel: Relations = NO_RELATIONS) -> bool:
    """Whether viewer may see this video at all (never across a block, never what moderation
    hid unless an admin)."""
    if moderated_away(video) and not sees_moderated(viewer):
        return False
    if video.author_id in rel.blocked:
        return False
    return video.status == "ready" or sees_unpublished(viewer, video.author_id)


def listed(video: VideoRecord, viewer: User | None, rel: Relations = NO_RELATIONS) -> bool:
    """Whether a video appears in viewer's feeds and search results: published, visible and
    not by an account viewer muted."""
    return (
        video.status == "ready" and may_see(video, viewer, rel) and video.author_id not in rel.muted
    )


def shown_comment(author_id: int, rel: Relations) -> bool:
    """Whether a comment appears in viewer's threads: not blocked either way, not muted."""
    return author_id not in rel.hidden


async def visible_video(db: Database, video_id: str, viewer: User | None) -> VideoRecord:
    """The video if viewer may see it; NotFound (404) otherwise, as for an unknown id."""
    video = await store.get_video(db, video_id, viewer.id if viewer else None)
    if not may_see(video, viewer, await relations(db, viewer)):
        raise NotFound(f"no video {video_id!r}")
    return video


async def owned_video(db: Database, video_id: str, user: User, doing: str) -> VideoRecord:
    """The video if user may change it: visible to them (else 404) and theirs, or they are an
    admin (else 403, saying what they tried: ``doing``)."""
    video = await visible_video(db, video_id, user)
    if not (user.is_admin or user.id == video.author_id):
        raise Forbidden(f"only the video's owner or an admin can {doing}")
    return video


async def published_video(db: Database, video_id: str, viewer: User | None) -> VideoRecord:
    """The video if viewer may interact with it: visible (else 404) and ready (else 409)."""
    video = await visible_video(db, video_id, viewer)
    if video.status != "ready":
        raise Conflict(f"video {video_id} is not published (it is {video.status})")
    return video


def public_error(text: str | None) -> str | None:
    """A video's error text as users see it: server paths reduced to their file name."""
    if not text:
        return text
    return _PATH.sub(lambda m: m.group(1) or "(path)", text)


class EventFilter:
    """What one live-event listener may receive (one per stream; remembers video owners)."""

    def __init__(self, db: Database, viewer: User | None) -> None:
        self.db = db
        self.viewer = viewer
        self._owners: dict[str, int | None] = {}

    async def _owner(self, video_id: str) -> int | None:
        if video_id not in self._owners:
            self._owners[video_id] = await store.video_author(self.db, video_id)
        return self._owners[video_id]

    async def allows(self, event: str, data: Any) -> bool:
        """video.* events (progress, ready, failed) go to the video's owner only; no
        notification comes from an account blocked either way; any other event about a video
        (live counts) goes only to those who may see that video (``may_see``)."""
        if event == "notification" and self.viewer is not None and isinstance(data, dict):
            rel = await relations(self.db, self.viewer)
            if not rel.blocked:
                return True
            actor = await users_store.get_user_by_handle(self.db, str(data.get("actor")))
            return actor is None or actor.id not in rel.blocked
        if event.startswith("video."):
            if self.viewer is None or not isinstance(data, dict):
                return False
            return await self._owner(str(data.get("video_id"))) == self.viewer.id
        if isinstance(data, dict) and data.get("video_id") is not None:
            viewer = self.viewer
            try:
                video = await store.get_video(self.db, str(data["video_id"]), None)
            except NotFound:
                return False
            return may_see(video, viewer, await relations(self.db, viewer))
        return True
