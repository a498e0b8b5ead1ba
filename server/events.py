"""Server-Sent Events: count changes, notifications and transcode progress, live.

A stream costs an open socket (a file descriptor) for as long as it lasts, so ``StreamGate``
caps them per client address and in all (429 beyond), every stream sends a comment
heartbeat (``limits.event_heartbeat_s``: a peer that went away is found at the next write)
and ends after ``limits.event_idle_timeout_s`` without an event (clients reconnect). A
stream opened with a token ends when the token is revoked (logout and logout-everywhere:
``Broker.revoke``; any other way, a revoked session or an expired token: at the next heartbeat).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.types import ASGIApp, Receive, Scope, Send

from .broker import REVOKED, Broker
from .config import Config
from .deps import bearer_token, token_lifetime
from .errors import problem
from .store.db import Database
from .store.ids import hash_token
from .store.users import User, user_for_token
from .visibility import EventFilter

PATH = "/api/events"
RETRY_AFTER_S = 10
log = logging.getLogger("shortstack.server")


def publish_notification(
    broker: Broker,
    to: int,
    kind: str,
    actor: User,
    *,
    video_id: str | None = None,
    comment_id: str | None = None,
) -> None:
    """Tell user `to` live that `actor` did `kind` (the store writes the notification row)."""
    data = {"kind": kind, "actor": actor.handle, "actor_name": actor.display_name}
    refs = {"video_id": video_id, "comment_id": comment_id}
    data.update({name: ref for name, ref in refs.items() if ref is not None})
    broker.publish("notification", data, user_id=to)


def end_streams_on_exit(broker: Broker) -> Callable[[], None]:
    """On SIGTERM/SIGINT, end this process's event streams at once, then let the server's own
    handler stop it (uvicorn waits for open connections, and a stream never ends by itself:
    the stop took the whole grace period and logged a traceback per stream). Returns the
    function that puts the previous handlers back. An embedded server (not on the main
    thread, which alone may set signal handlers) leaves signals alone."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handler(sig: int, frame: object) -> None:
        loop.call_soon_threadsafe(broker.end_all)
        before = previous[signal.Signals(sig)]
        if callable(before):
            before(sig, frame)
        else:  # no server handler: the default action
            signal.signal(sig, before or signal.SIG_DFL)
            signal.raise_signal(sig)

    for sig in signals:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before)

    return restore


def total_cap(configured: int) -> int:
    """The server-wide stream cap: as configured, but at most half the open-file limit (the
    other half stays for requests, the database, uploads and media)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    if configured > soft // 2:
        log.info("event streams capped at %d: half the open-file limit (%d)", soft // 2, soft)
    return max(1, min(configured, soft // 2))


class StreamGate(ASGIMiddleware):
    """Counts the open event streams per client address and in all; 429 beyond a cap."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, per_address: int, total: int) -> None:
        self.per_address = per_address
        self.total = total
        self.by_address: Counter[str] = Counter()
        self.open = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"] != PATH or scope["method"] != "GET":
            await next_app(scope, receive, send)
            return
        address = (scope.get("client") or ("-", 0))[0]
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        if self.open >= self.total:
            raise problem(
                429,
                "Too many event streams",
                f"the server has its most event streams open ({self.total}); try again later",
                headers=retry,
            )
        if self.by_address[address] >= self.per_address:
            raise problem(
                429,
                "Too many event streams",
                f"your address has {self.per_address} event streams open, the most allowed;"
                " close one or try again later",
                headers=retry,
            )
        self.by_address[address] += 1
        self.open += 1
        try:
            await next_app(scope, receive, send)
        finally:
            self.open -= 1
            self.by_address[address] -= 1
            if self.by_address[address] <= 0:
                del self.by_address[address]


class EventsController(Controller):
    path = PATH
    tags = ["events"]

    @get(
        operation_id="events",
        summary="Live events (SSE): video.progress, video.ready, video.failed, counts, notification",
    )
    async def events(
        self,
        request: Request,
        broker: NamedDependency[Broker],
        viewer: NamedDependency[User | None],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
    ) -> ServerSentEvent:
        token = bearer_token(request) if viewer is not None else None
        heartbeat_s = config.limits.event_heartbeat_s
        idle_s = config.limits.event_idle_timeout_s
        life = token_lifetime(config)
        allowed = EventFilter(db, viewer)  # the visibility policy, per listener

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            # subscribed here, not before: a stream never started leaves nothing behind
            sub = broker.subscribe(
                viewer.id if viewer else None, hash_token(token) if token else None
            )
            try:
                yield ServerSentEventMessage(
                    event="hello",
                    data=msgspec.json.encode({"user": viewer.handle if viewer else None}).decode(),
                )
                last_event = time.monotonic()
                while (left := idle_s - (time.monotonic() - last_event)) > 0:
                    try:
                        msg = await asyncio.wait_for(sub.queue.get(), min(heartbeat_s, left))
                    except TimeoutError:
                        if token is not None and await user_for_token(db, token, life) is None:
                            return  # revoked some other way than this server's logout
                        yield ServerSentEventMessage(comment="keep-alive", data=None)
                        continue
                    if msg is REVOKED:
                        return
                    msg_id, event, data = msg
                    if not await allowed.allows(event, data):
                        continue
                    last_event = time.monotonic()
                    yield ServerSentEventMessage(
                        id=str(msg_id), event=event, data=msgspec.json.encode(data).decode()
                    )
            finally:
                broker.unsubscribe(sub)

        return ServerSentEvent(stream())
