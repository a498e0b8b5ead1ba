"""Dependencies injected into handlers: config, database, broker, the caller."""

from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from .broker import Broker
from .config import Config
from .login_limit import LoginLimiter
from .store.db import Database
from .store.users import TokenLifetime, User, user_for_token


def provide_config(state: State) -> Config:
    return state.config


def provide_db(state: State) -> Database:
    return state.db


def provide_broker(state: State) -> Broker:
    return state.broker


def provide_login_limiter(state: State) -> LoginLimiter:
    return state.login_limiter


def token_lifetime(config: Config) -> TokenLifetime:
    return TokenLifetime(
        idle_s=config.accounts.token_idle_days * 86400,
        max_age_s=config.accounts.token_max_days * 86400,
    )


def bearer_token(request: ASGIConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_viewer(request: Request, db: NamedDependency[Database]) -> User | None:
    """The caller if a valid token came with the request; a bad token is a 401, no token is None."""
    return await caller(request, db)


async def caller(request: ASGIConnection, db: Database) -> User | None:
    """The user of the request's bearer token (401 when it is bad or expired), or None."""
    token = bearer_token(request)
    if token is None:
        if request.headers.get("authorization"):
            raise NotAuthorizedException(detail="use 'Authorization: Bearer <token>'")
        return None
    if len(token) > 200:
        raise NotAuthorizedException(detail="the token is not valid or has been revoked")
    user = await user_for_token(db, token, token_lifetime(request.app.state.config))
    if user is None:
        raise NotAuthorizedException(detail="the token is not valid or has been revoked")
    return user


async def provide_user(viewer: NamedDependency[User | None]) -> User:
    """The caller, who must be logged in (401 otherwise)."""
    if viewer is None:
        raise NotAuthorizedException(
            detail="log in first: this needs 'Authorization: Bearer <token>'"
        )
    return viewer


async def admin_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the caller must be logged in (401) and an admin (403)."""
    user = await caller(connection, connection.app.state.db)
    if user is None:
        raise NotAuthorizedException(detail="log in first: this needs an admin's token")
    if not user.is_admin:
        raise PermissionDeniedException(detail="only admins may do this")


DEPENDENCIES = {
    "login_limiter": Provide(provide_login_limiter, sync_to_thread=False),
    "config": Provide(provide_config, sync_to_thread=False),
    "db": Provide(provide_db, sync_to_thread=False),
    "broker": Provide(provide_broker, sync_to_thread=False),
    "viewer": Provide(provide_viewer),
    "user": Provide(provide_user),
}
