"""Likes, views with watch time, shares and not-interested marks."""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from .broker import Broker
from .config import Config
from .events import publish_notification
from .share import share_url
from .store import interactions as store
from .store import relations as relations_store
from .store.db import Database
from .store.errors import Unprocessable
from .store.users import User
from .visibility import published_video

VideoId = Annotated[str, Parameter(max_length=32, description="A video's id")]


class LikeOut(msgspec.Struct):
    liked: bool
    likes: int


class ViewIn(msgspec.Struct, forbid_unknown_fields=True):
    watch_ms: Annotated[int, msgspec.Meta(ge=0, le=24 * 3600 * 1000)]


class ShareOut(msgspec.Struct):
    url: str
    shares: int


def viewer_key(request: Request, viewer: NamedDependency[User | None]) -> str:
    if viewer is not None:
        return f"u:{viewer.id}"
    host = request.client.host if request.client else "unknown"
    return "a:" + hashlib.sha256(host.encode()).hexdigest()[:16]


class InteractionsController(Controller):
    path = "/api/videos/{video_id:str}"
    tags = ["interactions"]

    async def _like(
        self,
        video_id: str,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
        liked: bool,
    ) -> LikeOut:
        await published_video(db, video_id, user)
        state, likes, notify_owner = await store.set_like(db, user.id, video_id, liked)
        broker.publish("counts", {"video_id": video_id, "likes": likes})
        if notify_owner is not None:
            publish_notification(broker, notify_owner, "like", user, video_id=video_id)
        return LikeOut(liked=state, likes=likes)

    @put("/like", operation_id="like", summary="Like a video (idempotent)", status_code=HTTP_200_OK)
    async def like(
        self,
        video_id: VideoId,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> LikeOut:
        return await self._like(video_id, user, db, broker, True)

    @delete(
        "/like",
        operation_id="unlike",
        summary="Remove your like (idempotent)",
        status_code=HTTP_200_OK,
    )
    async def unlike(
        self,
        video_id: VideoId,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> LikeOut:
        return await self._like(video_id, user, db, broker, False)

    @post(
        "/views", operation_id="view", summary="Report watch time", status_code=HTTP_204_NO_CONTENT
    )
    async def view(
        self,
        request: Request,
        video_id: VideoId,
        data: JSONBody[ViewIn],
        viewer: NamedDependency[User | None],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> None:
        await published_video(db, video_id, viewer)
        counted, views = await store.record_view(
            db, video_id, viewer.id if viewer else None, viewer_key(request, viewer), data.watch_ms
        )
        if counted:
            broker.publish("counts", {"video_id": video_id, "views": views})

    @post(
        "/share",
        operation_id="share",
        summary="Share a video: get its link",
        status_code=HTTP_200_OK,
    )
    async def share(
        self,
        request: Request,
        video_id: VideoId,
        viewer: NamedDependency[User | None],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
        config: NamedDependency[Config],
    ) -> ShareOut:
        video = await published_video(db, video_id, viewer)
        if viewer is None:  # anyone gets the link; only an account's first share counts
            shares = video.shares
        else:
            counted, shares = await store.record_share(db, video_id, viewer.id)
            if counted:
                broker.publish("counts", {"video_id": video_id, "shares": shares})
        return ShareOut(url=share_url(config, request, video_id), shares=shares)

    @post(
        "/not-interested",
        operation_id="not_interested",
        summary="Show me less like this",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def not_interested(
        self, video_id: VideoId, user: NamedDependency[User], db: NamedDependency[Database]
    ) -> None:
        await published_video(db, video_id, user)
        await store.mark_not_interested(db, user.id, video_id)

    @post(
        "/hide-creator",
        operation_id="hide_creator",
        summary="Hide this video's creator from your feeds (mutes them)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def hide_creator(
        self, video_id: VideoId, user: NamedDependency[User], db: NamedDependency[Database]
    ) -> None:
        video = await published_video(db, video_id, user)
        if video.author_id == user.id:
            raise Unprocessable("you cannot hide yourself")
        await relations_store.set_mute(db, user.id, video.author_id, True)
