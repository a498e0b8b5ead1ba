"""Admin API: create accounts (the way in when registration is closed) and invite codes."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from .auth import (
    DisplayName,
    Handle,
    Password,
    RegistrationMode,
    checked_password,
    registration_mode,
)
from .config import Config
from .deps import admin_guard
from .schemas import Page, UserOut, iso, user_out
from .store import moderation as moderation_store
from .store import users as store
from .store.db import Database
from .store.users import User
from .text_rules import display_name as checked_name


class NewUserIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: Handle
    password: Password
    display_name: DisplayName | None = None
    admin: bool = False


class NewInviteIn(msgspec.Struct, forbid_unknown_fields=True):
    uses: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    expires_in_days: Annotated[float, msgspec.Meta(gt=0, le=365)] | None = None


class InviteOut(msgspec.Struct):
    id: str
    uses: int
    uses_left: int
    expires_at: str
    created_at: str
    created_by: str | None
    code: str | None = None


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    registration: RegistrationMode | None = None


class SettingsOut(msgspec.Struct):
    registration: RegistrationMode


class AdminController(Controller):
    path = "/api/admin"
    tags = ["admin"]
    guards = [admin_guard]

    @post("/users", operation_id="admin_create_user", summary="Create an account (admins)")
    async def create_user(
        self,
        data: JSONBody[NewUserIn],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> UserOut:
        name = checked_name(data.display_name) if data.display_name is not None else None
        await asyncio.to_thread(checked_password, config, data.password, data.handle, name)
        password_hash = await asyncio.to_thread(store.hash_password, data.password)
        user = await store.create_user(db, data.handle, password_hash, name, is_admin=data.admin)
        return user_out(user)

    @post("/invites", operation_id="admin_create_invite", summary="Create an invite code (admins)")
    async def create_invite(
        self,
        data: JSONBody[NewInviteIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> InviteOut:
        days = data.expires_in_days or config.accounts.invite_days
        invite = await store.create_invite(db, user.id, uses=data.uses, expires_in_s=days * 86400)
        return InviteOut(
            id=invite["id"],
            uses=0,
            uses_left=invite["uses_left"],
            expires_at=iso(invite["expires_at"]),
            created_at=iso(invite["created_at"]),
            created_by=user.handle,
            code=invite["code"],
        )

    @get("/invites", operation_id="admin_invites", summary="Invite codes, newest first (admins)")
    async def invites(self, db: NamedDependency[Database]) -> Page[InviteOut]:
        rows = await store.list_invites(db)
        return Page(
            items=[
                InviteOut(
                    id=r["id"],
                    uses=r["uses"],
                    uses_left=r["uses_left"],
                    expires_at=iso(r["expires_at"]),
                    created_at=iso(r["created_at"]),
                    created_by=r["created_by"],
                )
                for r in rows
            ],
            next_cursor=None,
        )

    @delete(
        "/invites/{invite_id:str}",
        operation_id="admin_revoke_invite",
        summary="Revoke an invite code: no more accounts with it (admins)",
    )
    async def revoke_invite(
        self, invite_id: Annotated[str, Parameter(max_length=32)], db: NamedDependency[Database]
    ) -> None:
        await store.revoke_invite(db, invite_id)

    @get("/settings", operation_id="admin_settings", summary="Instance settings (admins)")
    async def settings(
        self, db: NamedDependency[Database], config: NamedDependency[Config]
    ) -> SettingsOut:
        return SettingsOut(registration=await registration_mode(db, config))

    @patch(
        "/settings",
        operation_id="admin_update_settings",
        summary="Change instance settings at run time (admins; audited)",
    )
    async def update_settings(
        self,
        data: JSONBody[SettingsIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> SettingsOut:
        if data.registration is not None:
            await moderation_store.set_instance_setting(
                db, user.handle, "registration", data.registration
            )
        return SettingsOut(registration=await registration_mode(db, config))
