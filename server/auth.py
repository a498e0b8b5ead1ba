"""Accounts: register, login, logout, me."""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from .broker import Broker
from .config import Config
from .deps import bearer_token
from .errors import problem
from .schemas import UserOut, user_out
from .store import users as store
from .store.db import Database
from .store.ids import hash_token
from .store.users import User

LOGIN_PATHS = frozenset({"/api/auth/login", "/api/auth/register"})
HANDLE_PATTERN = r"^[a-z0-9_]{3,30}$"

Handle = Annotated[str, msgspec.Meta(pattern=HANDLE_PATTERN, description="3-30 of a-z, 0-9, _")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Bio = Annotated[str, msgspec.Meta(max_length=300)]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: Handle
    password: Password
    display_name: DisplayName | None = None


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class ProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: DisplayName | None = None
    bio: Bio | None = None


class TokenOut(msgspec.Struct):
    token: str
    user: UserOut


def login_rate_limit(config: NamedDependency[Config]) -> RateLimitConfig:
    """A tighter per-address limit for login and register (separate store from the API limit)."""
    return RateLimitConfig(
        rate_limit=("minute", config.limits.login_rate_per_minute),
        store="login_rate_limit",
        check_throttle_handler=_is_login_attempt,
    )


def _is_login_attempt(request: Request) -> bool:
    return request.method == "POST" and request.url.path in LOGIN_PATHS


async def _signed_in(db: Database, user: User) -> TokenOut:
    """A fresh token for the user, with the user: what register and login answer."""
    return TokenOut(token=await store.issue_token(db, user.id), user=user_out(user))


class AuthController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/register", operation_id="register", summary="Create an account")
    async def register(
        self,
        data: JSONBody[RegisterIn],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> TokenOut:
        if config.server.registration == "closed":
            raise problem(
                403, "Registration closed", "this server does not accept new accounts; ask an admin"
            )
        # argon2 takes tens of milliseconds of CPU: keep it off the event loop
        password_hash = await asyncio.to_thread(store.hash_password, data.password)
        user = await store.create_user(db, data.handle, password_hash, data.display_name)
        return await _signed_in(db, user)

    @post(
        "/auth/login",
        operation_id="login",
        summary="Log in and get a token",
        status_code=HTTP_200_OK,
    )
    async def login(self, data: JSONBody[LoginIn], db: NamedDependency[Database]) -> TokenOut:
        user = await store.check_login(db, data.handle.strip().lstrip("@").lower(), data.password)
        if user is None:
            raise problem(401, "Wrong handle or password", "the handle or the password is wrong")
        return await _signed_in(db, user)

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

    @get("/me", operation_id="me", summary="The logged-in user")
    async def me(self, user: NamedDependency[User]) -> UserOut:
        return user_out(user)

    @patch("/me", operation_id="update_me", summary="Change display name or bio")
    async def update_me(
        self, data: JSONBody[ProfileIn], user: NamedDependency[User], db: NamedDependency[Database]
    ) -> UserOut:
        updated = await store.update_profile(
            db, user.id, display_name=data.display_name, bio=data.bio
        )
        return user_out(updated)
