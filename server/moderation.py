"""Moderation API: users report content; admins work the report queue, suspend accounts, read
the audit log and keep the blocked-terms list."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from .broker import Broker
from .config import Config
from .deps import admin_guard
from .errors import problem
from .pagination import Cursor, decode_cursor, encode_cursor
from .schemas import iso
from .store import comments as comments_store
from .store import moderation as store
from .store import users as users_store
from .store.db import Database
from .store.users import User
from .text_rules import free_text
from .visibility import owned_video, visible_video

Target = Literal["video", "comment", "user"]
Reason = Literal["spam", "harassment", "sexual", "violence", "illegal", "other"]
TargetPath = Annotated[str, Parameter(max_length=64, description="video id, comment id or handle")]
TargetKind = Annotated[Target, Parameter(description="video, comment or user")]
Action = Literal["dismiss", "remove", "sensitive"]
#: a report action -> (the store call, the status the response reports)
_ACTIONS = {
    "dismiss": (store.dismiss, "dismissed"),
    "remove": (store.remove, "removed"),
    "sensitive": (store.mark_sensitive, "sensitive"),
}


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    target: Target
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: Reason
    text: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class ReportOut(msgspec.Struct):
    id: int
    target: str
    target_id: str
    reason: str
    text: str | None
    created_at: str
    status: str  # "open" or the resolution: dismissed, removed, sensitive, suspended


def report_out(r: dict) -> ReportOut:
    return ReportOut(
        id=r["id"],
        target=r["target_type"],
        target_id=r["target_id"],
        reason=r["reason"],
        text=r["text"],
        created_at=iso(r["created_at"]),
        status=r["resolution"] or "open",
    )


class QueueItem(msgspec.Struct):
    target: str
    target_id: str
    reporters: int
    reasons: list[str]
    texts: list[str]
    first_reported_at: str
    last_reported_at: str
    content: dict | None  # the caption, comment body or profile; null when it is gone


class QueuePage(msgspec.Struct):
    items: list[QueueItem]
    next_cursor: str | None = None


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class SuspendIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class AuditOut(msgspec.Struct):
    id: int
    actor: str
    action: str
    target: str
    target_id: str
    reason: str | None
    created_at: str


class AuditPage(msgspec.Struct):
    items: list[AuditOut]
    next_cursor: str | None


class TermsIn(msgspec.Struct, forbid_unknown_fields=True):
    terms: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]],
        msgspec.Meta(max_length=5000),
    ]


class TermsOut(msgspec.Struct):
    terms: list[str]


async def _target_key(db: Database, data: ReportIn, user: User) -> str:
    """The stored id of a report's target, after checking the reporter may see it (404)."""
    if data.target == "video":
        await visible_video(db, data.id, user)
        return data.id
    if data.target == "comment":
        await visible_video(db, await comments_store.live_comment_video(db, data.id), user)
        return data.id
    handle = data.id.removeprefix("@").lower()
    target = await users_store.get_user(db, handle)
    if target.id == user.id:
        raise problem(422, "Invalid report", "id: you cannot report yourself")
    return handle


def _notify(broker: Broker, reporters: list[int], target: str, target_id: str) -> None:
    """Tell each reporter live that their report was resolved (the rows are written already)."""
    refs = {"video_id": target_id} if target == "video" else {}
    if target == "comment":
        refs = {"comment_id": target_id}
    for reporter in reporters:
        broker.publish(
            "notification",
            {"kind": "report_resolved", "actor": None, "actor_name": None, **refs},
            user_id=reporter,
        )


def _accounts_only(target: str) -> None:
    if target != "user":
        raise problem(422, "Not an account", "target: only accounts (user) are suspended")


class ReportsController(Controller):
    path = "/api/reports"
    tags = ["moderation"]

    @post(
        "/",
        operation_id="report",
        summary="Report a video, comment or user (201; the same report again: 200)",
        responses={
            200: ResponseSpec(ReportOut, description="This reporter's open report on the target")
        },
    )
    async def report(
        self,
        data: JSONBody[ReportIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> Response[ReportOut]:
        text = free_text(data.text, field="text").strip() if data.text is not None else ""
        if data.reason == "other" and not text:
            raise problem(422, "Invalid report", "text: required when the reason is other")
        key = await _target_key(db, data, user)
        report, created = await store.create_report(
            db,
            user.id,
            data.target,
            key,
            data.reason,
            text or None,
            per_hour=config.limits.reports_per_hour,
        )
        return Response(report_out(report), status_code=HTTP_201_CREATED if created else 200)


class ModerationController(Controller):
    path = "/api/admin"
    tags = ["admin", "moderation"]
    guards = [admin_guard]

    @get("/reports", operation_id="admin_reports", summary="Open reports by target, newest first")
    async def reports(
        self,
        db: NamedDependency[Database],
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> QueuePage:
        rows = await store.report_queue(db, limit=limit)
        return QueuePage(
            items=[
                QueueItem(
                    target=r["target_type"],
                    target_id=r["target_id"],
                    reporters=r["reporters"],
                    reasons=r["reasons"],
                    texts=r["texts"],
                    first_reported_at=iso(r["first_reported_at"]),
                    last_reported_at=iso(r["last_reported_at"]),
                    content=r["content"],
                )
                for r in rows
            ]
        )

    @post(
        "/reports/{target:str}/{target_id:str}/{action:str}",
        operation_id="admin_act",
        summary="Resolve a target's reports: dismiss, remove (videos, comments) or mark sensitive",
        description=(
            "dismiss closes the reports without acting; remove hides a video or comment from"
            " all but admins at once (kept for appeal, then purged); sensitive marks a video"
            " sensitive. Every reporter is notified; the action is written to the audit log."
        ),
        status_code=HTTP_200_OK,
    )
    async def act(
        self,
        target: TargetKind,
        target_id: TargetPath,
        action: Annotated[Action, Parameter(description="dismiss, remove or sensitive")],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
        data: JSONBody[ActionIn | None] = None,
    ) -> dict:
        if target == "user":
            target_id = target_id.removeprefix("@").lower()
        reporters = await _ACTIONS[action][0](
            db, user.handle, target, target_id, data.reason if data else None
        )
        _notify(broker, reporters, target, target_id)
        return {"target": target, "target_id": target_id, "status": _ACTIONS[action][1]}

    @post(
        "/reports/{target:str}/{handle:str}/suspend",
        operation_id="admin_suspend",
        summary="Suspend an account: no login, tokens revoked, content hidden",
        status_code=HTTP_200_OK,
    )
    async def suspend(
        self,
        target: TargetKind,
        handle: TargetPath,
        data: JSONBody[SuspendIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> dict:
        _accounts_only(target)
        handle = handle.removeprefix("@").lower()
        reporters = await store.suspend(db, user.handle, handle, data.reason)
        target = await users_store.get_user(db, handle)
        broker.revoke(user_id=target.id)  # its event streams end now
        _notify(broker, reporters, "user", handle)
        return {"target": "user", "target_id": handle, "status": "suspended"}

    @post(
        "/reports/{target:str}/{handle:str}/unsuspend",
        operation_id="admin_unsuspend",
        summary="Lift an account's suspension",
        status_code=HTTP_200_OK,
    )
    async def unsuspend(
        self,
        target: TargetKind,
        handle: TargetPath,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        data: JSONBody[ActionIn | None] = None,
    ) -> dict:
        _accounts_only(target)
        handle = handle.removeprefix("@").lower()
        await store.unsuspend(db, user.handle, handle, data.reason if data else None)
        return {"target": "user", "target_id": handle, "status": "active"}

    @get("/audit", operation_id="admin_audit", summary="The moderation audit log, newest first")
    async def audit(
        self,
        db: NamedDependency[Database],
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        before = decode_cursor(cursor, int)
        rows = await store.list_audit(db, limit=limit + 1, before=before)
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(
            items=[
                AuditOut(
                    id=r["id"],
                    actor=r["actor"],
                    action=r["action"],
                    target=r["target_type"],
                    target_id=r["target_id"],
                    reason=r["reason"],
                    created_at=iso(r["created_at"]),
                )
                for r in rows
            ],
            next_cursor=encode_cursor(rows[-1]["id"]) if more else None,
        )

    @get("/blocked-terms", operation_id="admin_blocked_terms", summary="The blocked terms")
    async def terms(self, db: NamedDependency[Database]) -> TermsOut:
        return TermsOut(await store.blocked_terms(db))

    @put(
        "/blocked-terms",
        operation_id="admin_set_blocked_terms",
        summary="Replace the blocked terms (case-insensitive substrings)",
    )
    async def set_terms(
        self, data: JSONBody[TermsIn], user: NamedDependency[User], db: NamedDependency[Database]
    ) -> TermsOut:
        return TermsOut(await store.set_blocked_terms(db, user.handle, data.terms))


async def _set_sensitive(db: Database, user: User, video_id: str, on: bool) -> dict:
    """Uploaders mark their own videos; admins any (the one owner-or-admin rule)."""
    await owned_video(db, video_id, user, "mark it sensitive")
    await store.set_sensitive(db, user.handle, video_id, on)
    return {"id": video_id, "sensitive": on}


class SensitiveController(Controller):
    """The uploader (or an admin) marks a video sensitive, or clears the mark."""

    path = "/api/videos/{video_id:str}/sensitive"
    tags = ["moderation"]

    @put(operation_id="mark_sensitive", summary="Mark your video sensitive (admins: any video)")
    async def mark(
        self,
        video_id: Annotated[str, Parameter(max_length=64)],
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> dict:
        return await _set_sensitive(db, user, video_id, True)

    @delete(
        operation_id="unmark_sensitive",
        summary="Clear the sensitive mark of your video (admins: any video)",
        status_code=HTTP_200_OK,
    )
    async def unmark(
        self,
        video_id: Annotated[str, Parameter(max_length=64)],
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> dict:
        return await _set_sensitive(db, user, video_id, False)
