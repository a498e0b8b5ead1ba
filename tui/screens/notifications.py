"""Notifications received from the server's event stream during this session."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Label, ListItem, ListView, Static

from shortstack.tui.notification_text import notification_text
from shortstack.tui.plain_text import plain
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.status_line import StatusLine


class NotificationsScreen(BaseScreen):
    """Newest first; refreshed whenever a `notification` event arrives."""

    BINDINGS = [Binding("escape", "app.home", "Feed", id="notifications.back")]

    def compose(self) -> ComposeResult:
        yield Label(Text("Notifications", style="bold"), id="notifications-title")
        yield ListView(id="notifications-list")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.ss_app.subscribe(self)
        self.fill()
        self.load()
        self.ss_app.mark_notifications_read()

    @work(exclusive=True, group="notifications", exit_on_error=False)
    async def load(self) -> None:
        """Fetch earlier notifications from the server (the event stream brings new ones)."""
        app = self.ss_app
        if app.user is None:
            return
        page = await app.call(app.api.notifications(limit=50), quiet=True)
        if isinstance(page, dict):
            # the server keeps every notification, including those that came live
            app.notifications[:] = list(page.get("items") or [])
            self.fill()

    def on_unmount(self) -> None:
        self.ss_app.unsubscribe(self)

    def on_screen_resume(self) -> None:
        self.fill()
        self.load()
        self.ss_app.mark_notifications_read()

    def fill(self) -> None:
        """Show the notifications kept by the app."""
        items: list[dict[str, Any]] = self.ss_app.notifications
        view = self.query_one(ListView)
        view.clear()
        if not items:
            view.append(
                ListItem(
                    Static(
                        Text(
                            "Nothing yet: likes, comments and follows show up here.",
                            style="dim italic",
                        )
                    )
                )
            )
            return
        for data in items:
            line = plain(notification_text(data))
            when = data.get("created_at")
            if when:
                line.append(f"  {when}", style="dim")
            view.append(ListItem(Static(line)))

    def on_shortstack_app_event_received(self, message: Any) -> None:
        if message.event.event == "notification":
            self.fill()
            if self.is_current:  # seen as it arrives
                self.ss_app.mark_notifications_read()
