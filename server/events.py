"""Server-Sent Events: count changes, notifications and transcode progress, live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage

from .broker import Broker
from .store.db import Database
from .store.users import User
from .visibility import EventFilter

KEEPALIVE_S = 15.0


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


class EventsController(Controller):
    path = "/api/events"
    tags = ["events"]

    @get(
        operation_id="events",
        summary="Live events (SSE): video.progress, video.ready, video.failed, counts, notification",
    )
    async def events(
        self,
        broker: NamedDependency[Broker],
        viewer: NamedDependency[User | None],
        db: NamedDependency[Database],
    ) -> ServerSentEvent:
        sub = broker.subscribe(viewer.id if viewer else None)
        allowed = EventFilter(db, viewer)  # the visibility policy, per listener

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            try:
                yield ServerSentEventMessage(
                    event="hello",
                    data=msgspec.json.encode({"user": viewer.handle if viewer else None}).decode(),
                )
                while True:
                    try:
                        msg_id, event, data = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ServerSentEventMessage(comment="keep-alive")
                        continue
                    if not await allowed.allows(event, data):
                        continue
                    yield ServerSentEventMessage(
                        id=str(msg_id), event=event, data=msgspec.json.encode(data).decode()
                    )
            finally:
                broker.unsubscribe(sub)

        return ServerSentEvent(stream())
