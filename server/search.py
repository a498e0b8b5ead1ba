"""Search over videos (captions, #tags), users (@handles) and hashtags."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from .schemas import UserOut, VideoOut, user_out, video_out
from .store import search as store
from .store import users as users_store
from .store import videos as videos_store
from .store.db import Database
from .store.users import User
from .visibility import listed, may_see_user, relations, sees_moderated


class HashtagOut(msgspec.Struct):
    tag: str
    videos: int


class SearchOut(msgspec.Struct):
    query: str
    videos: list[VideoOut]
    users: list[UserOut]
    hashtags: list[HashtagOut]


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get(operation_id="search", summary="Search videos, users and hashtags (#tag and @handle work)")
    async def search(
        self,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
        q: Annotated[
            str, Parameter(min_length=1, max_length=200, description="Words, #tag or @handle")
        ],
        limit: Annotated[int, Parameter(ge=1, le=50)] = 10,
    ) -> SearchOut:
        text = q.strip()
        viewer_id = viewer.id if viewer else None
        admin = sees_moderated(viewer)
        video_ids: list[str] = []
        user_ids: list[int] = []
        tags: list[tuple[str, int]] = []
        if text.startswith("#"):
            tag = text[1:].strip().lower()
            video_ids = await store.videos_with_tag(db, tag, limit=limit)
            tags = await store.search_hashtags(db, tag, limit=limit)
        elif text.startswith("@"):
            user_ids = await store.search_users(db, text[1:], limit=limit, include_suspended=admin)
        else:
            video_ids = await store.search_videos(db, text, limit=limit)
            user_ids = await store.search_users(db, text, limit=limit, include_suspended=admin)
            tags = await store.search_hashtags(db, text, limit=limit)
        rel = await relations(db, viewer)
        records = await videos_store.get_videos(db, video_ids, viewer_id)
        users = [
            u
            for u in [await users_store.get_user_by_id(db, uid) for uid in user_ids]
            if u is not None and may_see_user(u.id, viewer, rel)
        ]
        return SearchOut(
            query=text,
            videos=[
                video_out(records[v])
                for v in video_ids
                if v in records and listed(records[v], viewer, rel)
            ],
            users=[user_out(u) for u in users],
            hashtags=[HashtagOut(t, n) for t, n in tags],
        )
