"""Base class of the app's screens: typed access to the app, worker failures shown as toasts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from shortstack.tui.app import ShortstackApp


class BaseScreen(Screen[Any]):
    """A screen of the Shortstack app."""

    @property
    def ss_app(self) -> ShortstackApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.ss_app.worker_failed(event.worker)
