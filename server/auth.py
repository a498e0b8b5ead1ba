"""Accounts: register, login, logout (here or everywhere), me, password change, sessions and
deleting the account."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from .broker import Broker
from .config import Config
from .deps import bearer_token, token_lifetime
from .errors import problem
from .export import Exports
from .feed_engine import FeedEngine
from .login_limit import LoginLimiter
from .maintenance import delete_account
from .passwords import WeakPassword, check_password
from .schemas import Page, UserOut, iso, user_out
from .storage import LocalStorage
from .store import events as events_store
from .store import moderation as moderation_store
from .store import users as store
from .store.db import Database
from .store.ids import hash_token
from .store.users import User
from .text_rules import HANDLE_PATTERN, blocked_terms, free_text
from .text_rules import display_name as checked_name

LOGIN_PATHS = frozenset({"/api/auth/login", "/api/auth/register"})
#: every path but LOGIN_PATHS and "/" (Litestar warns of a pattern matching "/" too)
NOT_LOGIN_PATHS = (
    "^/(?!(" + "|".join(re.escape(p.removeprefix("/")) for p in sorted(LOGIN_PATHS)) + ")/?$)."
)

Handle = Annotated[str, msgspec.Meta(pattern=HANDLE_PATTERN, description="3-30 of a-z, 0-9, _")]
Password = Annotated[
    str, msgspec.Meta(max_length=256, description="10+ characters, not common, not the handle")
]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Bio = Annotated[str, msgspec.Meta(max_length=300)]
InviteCode = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: Handle
    password: Password
    display_name: DisplayName | None = None
    invite: InviteCode | None = None


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class ProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: DisplayName | None = None
    bio: Bio | None = None
    show_sensitive: bool | None = None  # sensitive media without the notice


RegistrationMode = Literal["open", "closed", "invite"]


async def registration_mode(db: Database, config: Config) -> RegistrationMode:
    """How accounts are made now: an admin's run-time choice, else config.toml's."""
    chosen = (await moderation_store.instance_settings(db)).get("registration")
    return chosen if chosen in ("open", "closed", "invite") else config.server.registration  # type: ignore[return-value]


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(max_length=256)]
    new_password: Password


class DeleteAccountIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=256)]


class TokenOut(msgspec.Struct):
    token: str
    user: UserOut


class SessionOut(msgspec.Struct):
    id: str
    created_at: str
    last_used_at: str
    expires_at: str
    user_agent: str | None
    current: bool


async def check_account_password(
    user: User, password: str, db: Database, login_limiter: LoginLimiter, *, field: str
) -> None:
    """The account's password re-entered (429 while locked, 401 wrong; a failure counts)."""
    wait = await login_limiter.attempt(user.handle)
    if wait is not None:
        raise problem(
            429,
            "Too many failed logins",
            f"too many wrong passwords for @{user.handle}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    stored = await store.password_hash_of(db, user.id)
    if not await asyncio.to_thread(store.verify_password, stored, password):
        raise problem(401, "Wrong password", f"{field}: the password is wrong")
    await login_limiter.succeeded(user.handle)


def login_rate_limit(config: NamedDependency[Config]) -> RateLimitConfig:
    """A tighter per-address limit for login and register (separate store from the API limit)."""
    return RateLimitConfig(
        rate_limit=("minute", config.limits.login_rate_per_minute),
        store="login_rate_limit",
        check_throttle_handler=_is_login_attempt,
        # every other path skips the middleware on a regex match (the throttle check alone
        # made a Request and awaited a call on every request of every route)
        exclude=NOT_LOGIN_PATHS,
    )


async def _is_login_attempt(request: Request) -> bool:
    # async: Litestar runs a sync check_throttle_handler in a worker thread, a thread hop
    # on every request of every route
    return request.method == "POST" and request.url.path.rstrip("/") in LOGIN_PATHS


def checked_password(
    config: Config, password: str, handle: str, display_name: str | None = None
) -> str:
    """The password when it meets the policy (server/passwords.py); else a 422 naming the rule."""
    try:
        check_password(
            password,
            handle=handle,
            display_name=display_name,
            min_length=config.accounts.password_min_length,
        )
    except WeakPassword as exc:
        raise problem(422, "Weak password", f"password: {exc}") from None
    return password


async def _signed_in(request: Request, db: Database, user: User) -> TokenOut:
    """A fresh token for the user, with the user: what register and login answer."""
    agent = request.headers.get("user-agent")
    token = await store.issue_token(db, user.id, free_text_or_none(agent))
    return TokenOut(token=token, user=user_out(user))


def free_text_or_none(value: str | None) -> str | None:
    """A client-supplied label (user agent) kept only when it holds no control characters."""
    if not value:
        return None
    try:
        return free_text(value, field="user-agent").replace("\n", " ").replace("\t", " ")
    except HTTPException:
        return None


class AuthController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/register", operation_id="register", summary="Create an account")
    async def register(
        self,
        request: Request,
        data: JSONBody[RegisterIn],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> TokenOut:
        mode = await registration_mode(db, config)
        if mode == "closed":
            raise problem(
                403, "Registration closed", "this server does not accept new accounts; ask an admin"
            )
        if mode == "invite" and not data.invite:
            raise problem(
                403, "Invite required", "this server needs an invite code to register ('invite')"
            )
        name = checked_name(data.display_name) if data.display_name is not None else None
        if name is not None:
            blocked_terms(name, await moderation_store.blocked_terms(db), field="display_name")
        # zxcvbn and argon2 take milliseconds of CPU: keep them off the event loop
        await asyncio.to_thread(checked_password, config, data.password, data.handle, name)
        password_hash = await asyncio.to_thread(store.hash_password, data.password)
        user = await store.create_user(
            db, data.handle, password_hash, name, invite=data.invite if mode == "invite" else None
        )
        return await _signed_in(request, db, user)

    @post(
        "/auth/login",
        operation_id="login",
        summary="Log in and get a token",
        status_code=HTTP_200_OK,
    )
    async def login(
        self,
        request: Request,
        data: JSONBody[LoginIn],
        db: NamedDependency[Database],
        login_limiter: NamedDependency[LoginLimiter],
    ) -> TokenOut:
        handle = data.handle.strip().lstrip("@").lower()
        wait = await login_limiter.attempt(handle)
        if wait is not None:
            raise problem(
                429,
                "Too many failed logins",
                f"too many failed logins for @{handle}; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        user = await store.check_login(db, handle, data.password)
        if user is None:
            raise problem(401, "Wrong handle or password", "the handle or the password is wrong")
        await login_limiter.succeeded(handle)
        suspended = await moderation_store.suspension(db, handle)
        if suspended is not None:
            raise problem(
                403,
                "Account suspended",
                f"@{handle} is suspended by a moderator: {suspended or 'no reason given'}",
            )
        return await _signed_in(request, db, user)

    @post(
        "/auth/logout",
        operation_id="logout",
        summary="Revoke this token",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(
        self,
        request: Request,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> None:
        token = bearer_token(request)
        assert token is not None
        await store.revoke_token(db, token)
        broker.revoke(hash_token(token))  # its event streams end now

    @post(
        "/auth/logout-everywhere",
        operation_id="logout_everywhere",
        summary="Revoke every token of this account, this one too",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout_everywhere(
        self,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        broker: NamedDependency[Broker],
    ) -> None:
        await store.revoke_all_tokens(db, user.id)
        broker.revoke(user_id=user.id)  # every event stream of the account ends now

    @get("/me", operation_id="me", summary="The logged-in user")
    async def me(self, user: NamedDependency[User], db: NamedDependency[Database]) -> UserOut:
        unread = await events_store.unread_notifications(db, user.id)
        return user_out(user, me=True, unread_notifications=unread)

    @patch("/me", operation_id="update_me", summary="Change display name or bio")
    async def update_me(
        self, data: JSONBody[ProfileIn], user: NamedDependency[User], db: NamedDependency[Database]
    ) -> UserOut:
        name = checked_name(data.display_name) if data.display_name is not None else None
        if name is not None:
            blocked_terms(name, await moderation_store.blocked_terms(db), field="display_name")
        updated = await store.update_profile(
            db,
            user.id,
            display_name=name,
            bio=free_text(data.bio, field="bio") if data.bio is not None else None,
            show_sensitive=data.show_sensitive,
        )
        unread = await events_store.unread_notifications(db, user.id)
        return user_out(updated, me=True, unread_notifications=unread)

    @put(
        "/me/password",
        operation_id="change_password",
        summary="Change the password (needs the current one); other sessions are logged out",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def change_password(
        self,
        request: Request,
        data: JSONBody[PasswordIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        login_limiter: NamedDependency[LoginLimiter],
    ) -> None:
        await check_account_password(
            user, data.current_password, db, login_limiter, field="current_password"
        )
        await asyncio.to_thread(
            checked_password, config, data.new_password, user.handle, user.display_name
        )
        if data.new_password == data.current_password:
            raise problem(422, "Weak password", "password: the new password is the current one")
        new_hash = await asyncio.to_thread(store.hash_password, data.new_password)
        token = bearer_token(request)
        assert token is not None
        await store.set_password(db, user.id, new_hash, keep=token)

    @delete(
        "/me",
        operation_id="delete_me",
        summary="Delete your account and everything of it (needs the password)",
    )
    async def delete_me(
        self,
        data: JSONBody[DeleteAccountIn],
        user: NamedDependency[User],
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        engine: NamedDependency[FeedEngine],
        broker: NamedDependency[Broker],
        login_limiter: NamedDependency[LoginLimiter],
        exports: NamedDependency[Exports],
    ) -> None:
        await check_account_password(user, data.password, db, login_limiter, field="password")
        await delete_account(db, storage, user.id)
        exports.forget_user(user.id)
        broker.revoke(user_id=user.id)  # their event streams end now
        engine.refit_soon()

    @get("/me/sessions", operation_id="sessions", summary="Your logged-in sessions (tokens)")
    async def sessions(
        self,
        request: Request,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> Page[SessionOut]:
        current = hash_token(bearer_token(request) or "")
        rows = await store.list_sessions(db, user.id, token_lifetime(config))
        return Page(
            items=[
                SessionOut(
                    id=r["id"],
                    created_at=iso(r["created_at"]),
                    last_used_at=iso(r["last_used_at"]),
                    expires_at=iso(r["expires_at"]),
                    user_agent=r["user_agent"],
                    current=r["hash"] == current,
                )
                for r in rows
            ],
            next_cursor=None,
        )

    @delete(
        "/me/sessions/{session_id:str}",
        operation_id="revoke_session",
        summary="Log one of your sessions out",
    )
    async def revoke_session(
        self,
        session_id: Annotated[str, Parameter(max_length=32)],
        user: NamedDependency[User],
        db: NamedDependency[Database],
    ) -> None:
        await store.revoke_session(db, user.id, session_id)
