"""Threaded comments on videos."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from .broker import Broker
from .config import Config
from .errors import problem
from .events import publish_notification
from .interactions import VideoId
from .pagination import Cursor, Limit, keyset_cursor, page_of
from .schemas import CommentOut, Page, comment_out
from .store import comments as store
from .store import moderation as moderation_store
from .store import videos as videos_store
from .store.db import Database
from .store.errors import Forbidden
from .store.users import User
from .text_rules import blocked_terms, free_text
from .visibility import author_filter, published_video, sees_moderated, visible_video


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    parent_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class CommentsController(Controller):
    path = "/api"
    tags = ["comments"]

    @get(
        "/videos/{video_id:str}/comments",
        operation_id="list_comments",
        summary="Comments (top level or replies)",
    )
    async def list_comments(
        self,
        video_id: VideoId,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
        limit: Limit = 10,
        cursor: Cursor = None,
        parent_id: Annotated[
            str | None, Parameter(max_length=32, description="List replies to this comment")
        ] = None,
    ) -> Page[CommentOut]:
        after = keyset_cursor(cursor)
        await visible_video(db, video_id, viewer)
        records = await store.list_comments(
            db,
            video_id,
            parent_id=parent_id,
            limit=limit + 1,
            after=after,
            author_filter=lambda column: author_filter(column, viewer, threads=True),
            include_moderated=sees_moderated(viewer),
        )
        return page_of(records, limit, comment_out)

    @post(
        "/videos/{video_id:str}/comments", operation_id="post_comment", summary="Comment or reply"
    )
    async def post_comment(
        self,
        video_id: VideoId,
        data: JSONBody[CommentIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
        config: NamedDependency[Config],
    ) -> CommentOut:
        await published_video(db, video_id, user)
        body = free_text(data.body, field="body").strip()
        blocked_terms(body, await moderation_store.blocked_terms(db), field="body")
        if not body:
            raise problem(422, "Empty comment", "the comment body is empty")
        if len(body) > config.limits.comment_max_chars:
            raise problem(
                422,
                "Comment too long",
                f"a comment is at most {config.limits.comment_max_chars} characters",
            )
        record, notify_ids = await store.add_comment(db, video_id, user.id, body, data.parent_id)
        out = comment_out(record)
        video = await videos_store.get_video(db, video_id)
        broker.publish("counts", {"video_id": video_id, "comments": video.comments})
        for uid, kind in notify_ids:  # the kind stored for each, so live and stored agree
            publish_notification(broker, uid, kind, user, video_id=video_id, comment_id=record.id)
        return out

    @delete(
        "/comments/{comment_id:str}",
        operation_id="delete_comment",
        summary="Delete a comment and its replies",
    )
    async def delete_comment(
        self,
        comment_id: Annotated[str, Parameter(max_length=32)],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> None:
        comment = await store.get_comment(db, comment_id)
        video = await visible_video(db, comment.video_id, user)
        if not (user.is_admin or user.id == comment.author_id or user.id == video.author_id):
            raise Forbidden(
                "only the comment's author, the video's owner or an admin can delete it"
            )
        await store.delete_comment(db, comment_id)
        updated = await videos_store.get_video(db, comment.video_id)
        broker.publish("counts", {"video_id": comment.video_id, "comments": updated.comments})
