"""Profiles, a user's videos, follows and notifications."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from .broker import Broker
from .errors import problem
from .events import publish_notification
from .pagination import Cursor, Limit, decode_cursor, keyset_cursor, page_of
from .schemas import Page, UserOut, VideoOut, iso, user_out, video_out
from .store import events as events_store
from .store import relations as relations_store
from .store import users as store
from .store import videos as videos_store
from .store.db import Database
from .store.errors import Unprocessable
from .store.users import User
from .visibility import author_filter, sees_unpublished, visible_user

HandlePath = Annotated[str, Parameter(max_length=64, description="A user's handle")]


class NotificationOut(msgspec.Struct):
    id: int
    kind: str
    actor: str | None
    actor_name: str | None
    video_id: str | None
    comment_id: str | None
    created_at: str
    read: bool


def notification_out(row: dict) -> NotificationOut:
    return NotificationOut(
        id=row["id"],
        kind=row["kind"],
        actor=row["actor_handle"],
        actor_name=row["actor_name"],
        video_id=row["video_id"],
        comment_id=row["comment_id"],
        created_at=iso(row["created_at"]),
        read=row["read_at"] is not None,
    )


class RelationOut(msgspec.Struct):
    """An account you blocked or muted."""

    handle: str
    display_name: str
    created_at: str


def relation_out(row: dict) -> RelationOut:
    return RelationOut(row["handle"], row["display_name"], iso(row["created_at"]))


async def set_relation(db: Database, user: User, handle: str, table: str, on: bool) -> User:
    """Block/mute (``table``) @handle or undo it; yourself is a 422."""
    target = await store.get_user(db, handle.lower().lstrip("@"))
    if target.id == user.id:
        verb = "block" if table == "blocks" else "mute"
        raise Unprocessable(f"you cannot {verb} yourself")
    if table == "blocks":
        await relations_store.set_block(db, user.id, target.id, on)
    else:
        await relations_store.set_mute(db, user.id, target.id, on)
    return target


RelationKind = Annotated[Literal["block", "mute"], Parameter(description="block or mute")]
#: a relation in a path -> its table
RELATION_TABLES = {"block": "blocks", "mute": "mutes"}


class UsersController(Controller):
    path = "/api"
    tags = ["users"]

    @get("/users/{handle:str}", operation_id="get_user", summary="A user's profile")
    async def get_user(
        self,
        handle: HandlePath,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
    ) -> UserOut:
        target = await visible_user(db, handle.lower(), viewer)
        following = None
        if viewer is not None and viewer.id != target.id:
            following = await store.is_following(db, viewer.id, target.id)
        return user_out(target, is_following=following)

    @get(
        "/users/{handle:str}/videos",
        operation_id="user_videos",
        summary="A user's videos, newest first",
    )
    async def user_videos(
        self,
        handle: HandlePath,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[VideoOut]:
        target = await visible_user(db, handle.lower(), viewer)
        before = keyset_cursor(cursor)
        own = sees_unpublished(viewer, target.id)
        records = await videos_store.list_user_videos(
            db,
            target.id,
            limit=limit + 1,
            before=before,
            viewer_id=viewer.id if viewer else None,
            include_unready=own,
            include_moderated=viewer is not None and viewer.is_admin,
        )
        return page_of(records, limit, video_out)

    @put(
        "/users/{handle:str}/follow",
        operation_id="follow",
        summary="Follow a user",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def follow(
        self,
        handle: HandlePath,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> None:
        await visible_user(db, handle.lower(), user)  # across a block: 404
        target = await store.set_follow(db, user, handle.lower(), True)
        publish_notification(broker, target.id, "follow", user)

    @delete("/users/{handle:str}/follow", operation_id="unfollow", summary="Stop following a user")
    async def unfollow(
        self, handle: HandlePath, user: NamedDependency[User], db: NamedDependency[Database]
    ) -> None:
        await store.set_follow(db, user, handle.lower(), False)

    @get("/notifications", operation_id="notifications", summary="Your notifications, newest first")
    async def notifications(
        self,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[NotificationOut]:
        before = decode_cursor(cursor, int)
        rows = await events_store.list_notifications(
            db,
            user.id,
            limit=limit + 1,
            before=before,
            actor_filter=author_filter("n.actor_id", user, threads=False),
        )
        return page_of(rows, limit, notification_out, position=lambda r: r["id"])

    @put(
        "/users/{handle:str}/{relation:str}",
        operation_id="add_relation",
        summary="Block a user (both of you stop seeing each other; follows end) or mute one"
        " (their videos and comments leave your feeds and threads)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def add_relation(
        self,
        handle: HandlePath,
        relation: RelationKind,
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> None:
        await set_relation(db, user, handle, RELATION_TABLES[relation], True)

    @delete(
        "/users/{handle:str}/{relation:str}",
        operation_id="remove_relation",
        summary="Unblock or unmute a user",
    )
    async def remove_relation(
        self,
        handle: HandlePath,
        relation: RelationKind,
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> None:
        await set_relation(db, user, handle, RELATION_TABLES[relation], False)

    @get(
        "/me/{relations:str}",
        operation_id="my_relations",
        summary="Accounts you blocked (blocks) or muted (mutes), newest first",
    )
    async def my_relations(
        self,
        relations: Annotated[Literal["blocks", "mutes"], Parameter(description="blocks or mutes")],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[RelationOut]:
        before = decode_cursor(cursor, int)
        rows = await relations_store.list_relations(
            db, relations, user.id, limit=limit + 1, before=before
        )
        return page_of(rows, limit, relation_out, position=lambda r: r["id"])

    @post(
        "/notifications/read-all",
        operation_id="notifications_read_all",
        summary="Mark all your notifications read",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def read_all(self, user: NamedDependency[User], db: NamedDependency[Database]) -> None:
        await events_store.mark_all_notifications_read(db, user.id)

    @post(
        "/notifications/{notification_id:int}/read",
        operation_id="notification_read",
        summary="Mark one of your notifications read",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def read_one(
        self,
        notification_id: Annotated[int, Parameter(ge=1, le=2**62)],
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> None:
        if not await events_store.mark_notification_read(db, user.id, notification_id):
            raise problem(404, "Not found", f"no notification {notification_id}")
