"""What screens and widgets may use of the running app (a Protocol, so they never import app.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from textual.screen import Screen
from textual.worker import Worker

from shortstack.tui.api import ApiClient
from shortstack.tui.media_cache import MediaCache
from shortstack.tui.sound import SoundOutput

T = TypeVar("T")


class ClientApp(Protocol):
    """The Shortstack app as its screens see it: the server client, the session, toasts."""

    api: ApiClient
    media: MediaCache
    user: dict[str, Any] | None
    autoplay: bool
    notifications: list[dict[str, Any]]
    known_handles: set[str]
    #: sensitive videos the viewer chose to see this session
    revealed: set[str]
    #: the session's audio output (volume, mute; or why there is no sound)
    sound: SoundOutput

    def save_settings(self) -> None:
        """Remember the caption choice, the volume and mute for the next session."""

    async def call(
        self, awaitable: Awaitable[T], *, quiet: bool = False, long: bool = False
    ) -> T | bool | None:
        """Await an API call: errors become toasts; None when it failed."""

    def toast(self, message: str, *, title: str = "", severity: str = "information") -> None:
        """A notification shown as plain text."""

    def subscribe(self, screen: Screen[Any]) -> None:
        """Forward server events to ``screen``."""

    def unsubscribe(self, screen: Screen[Any]) -> None:
        """Stop forwarding server events to ``screen``."""

    def signed_in(self, user: dict[str, Any], token: str | None = None) -> None:
        """Remember the signed-in user (and store a new token)."""

    def server_unavailable(self) -> None:
        """Mark the server unreachable and start the reconnect loop."""

    def open_profile(self, handle: str | None) -> None:
        """Open a profile: yours, or someone else's on top."""

    def worker_failed(self, worker: Worker[Any]) -> None:
        """Say in a toast that a worker failed unexpectedly."""

    def mark_notifications_read(self) -> Worker[None]:
        """Mark every notification read (the unread count drops to 0)."""
