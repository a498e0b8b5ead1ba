"""Publish/subscribe for Server-Sent Events; safe to publish from worker threads.

In one process the fan-out is in memory. With a backplane (``server/shared.py``: Redis,
when `[cache] url` is set) every event and revocation goes through it and comes back to
every process, this one included, which then fans it out to its own listeners."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: put on a subscription's queue when its token is revoked: the stream ends
REVOKED = (0, "revoked", None)
#: how long a ``video.ready`` from the backplane waits for ``before_ready`` at most
READY_HOOK_TIMEOUT_S = 3.0
log = logging.getLogger("shortstack.server")


@dataclass(eq=False)
class Subscription:
    user_id: int | None
    token_hash: str | None = None  # the token the stream was opened with, if any
    queue: asyncio.Queue[tuple[int, str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=500)
    )


class Backplane(Protocol):
    """Carries messages to the brokers of every process (``receive`` them on each)."""

    async def send(self, message: dict[str, Any]) -> None: ...


class Broker:
    """Fan-out of (event, data) to subscribers; events with a user_id go only to that user."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        self.backplane: Backplane | None = None
        self._sending: set[asyncio.Task[None]] = set()
        #: called (on the event loop) with the version when ``shortstack refit`` announces a
        #: new model through the backplane
        self.on_model: Callable[[str], None] | None = None
        #: awaited (on the event loop) with the video id before a ``video.ready`` that came
        #: through the backplane (a worker, another API process) is delivered here: the video
        #: enters this process's feeds before its listeners hear it is ready
        self.before_ready: Callable[[str], Awaitable[None]] | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, user_id: int | None, token_hash: str | None = None) -> Subscription:
        sub = Subscription(user_id, token_hash)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def revoke(self, token_hash: str | None = None, *, user_id: int | None = None) -> int:
        """End the streams opened with this token, or with any token of this user (call from
        the event loop), here and, with a backplane, in every other process; how many here."""
        if self.backplane is not None:
            self._send({"kind": "revoke", "token_hash": token_hash, "user_id": user_id})
        return self._revoke_here(token_hash, user_id)

    def _revoke_here(self, token_hash: str | None, user_id: int | None) -> int:
        return self._end(
            lambda sub: (
                (token_hash is not None and sub.token_hash == token_hash)
                or (user_id is not None and sub.token_hash is not None and sub.user_id == user_id)
            )
        )

    def end_all(self) -> int:
        """End every stream of this process (it is stopping: the clients reconnect elsewhere);
        call from the event loop."""
        return self._end(lambda sub: True)

    def _end(self, which: Callable[[Subscription], bool]) -> int:
        ended = 0
        for sub in list(self._subs):
            if which(sub):
                self._subs.discard(sub)
                if sub.queue.full():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(REVOKED)
                ended += 1
        return ended

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: str, data: Any, *, user_id: int | None = None) -> None:
        """Publish from the event loop or from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.backplane is not None:  # every process delivers it when it comes back
            message = {"kind": "event", "event": event, "data": data, "user_id": user_id}
            if running is loop:
                self._send(message)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(self._send, message)
        elif running is loop:
            self._deliver(event, data, user_id)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, event, data, user_id)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.backplane is not None
        task = asyncio.get_running_loop().create_task(self.backplane.send(message))
        self._sending.add(task)  # kept until sent (a bare task may be collected mid-way)
        task.add_done_callback(self._sending.discard)

    def receive(self, message: dict[str, Any]) -> None:
        """A message from the backplane (on the event loop): deliver it here."""
        if message["kind"] == "event":
            if message["event"] == "video.ready" and self.before_ready is not None:
                task = asyncio.get_running_loop().create_task(self._ready_then_deliver(message))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
                return
            self._deliver(message["event"], message["data"], message.get("user_id"))
        elif message["kind"] == "revoke":
            self._revoke_here(message.get("token_hash"), message.get("user_id"))
        elif message["kind"] == "model" and self.on_model is not None:
            self.on_model(str(message["version"]))

    async def _ready_then_deliver(self, message: dict[str, Any]) -> None:
        assert self.before_ready is not None
        try:
            video_id = str(message["data"]["video_id"])
            await asyncio.wait_for(self.before_ready(video_id), READY_HOOK_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a slow or failing hook never holds back the event
            log.warning("the ready hook for a video.ready from the backplane did not finish")
        self._deliver(message["event"], message["data"], message.get("user_id"))

    def _deliver(self, event: str, data: Any, user_id: int | None) -> None:
        msg = (next(self._ids), event, data)
        for sub in list(self._subs):
            if user_id is not None and sub.user_id != user_id:
                continue
            if sub.queue.full():  # a slow reader loses its oldest events, never blocks the rest
                sub.queue.get_nowait()
            sub.queue.put_nowait(msg)
