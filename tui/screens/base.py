"""Base class of the app's screens: typed access to the app, worker failures shown as toasts."""

from __future__ import annotations

from typing import Any, cast

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from shortstack.tui.client_app import ClientApp


class BaseScreen(Screen[Any]):
    """A screen of the Shortstack app."""

    @property
    def ss_app(self) -> ClientApp:
        """The app, typed."""
        return cast(ClientApp, self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.ss_app.worker_failed(event.worker)
