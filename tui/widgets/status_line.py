"""One-line status bar: connection state, unread notifications, playback state and a key hint."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static


class StatusLine(Static):
    """Shows the app's connection state next to this screen's playback status."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    StatusLine.-offline {
        background: $error 40%;
        color: $text;
    }
    """

    status: reactive[str] = reactive("")
    #: a moment's message (the volume after +/-) shown in place of the status
    flashed: reactive[str] = reactive("")
    _flash_timer: Timer | None = None
    connection: reactive[str] = reactive("")
    unread: reactive[int] = reactive(0)

    def on_mount(self) -> None:
        if hasattr(self.app, "connection"):
            self.watch(self.app, "connection", self._on_connection, init=True)
        if hasattr(self.app, "unread"):
            self.watch(self.app, "unread", self._on_unread, init=True)

    def flash(self, text: str, seconds: float = 1.5) -> None:
        """Show ``text`` for ``seconds`` instead of the status."""
        self.flashed = text
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(seconds, self._end_flash)

    def _end_flash(self) -> None:
        self.flashed = ""

    def _on_unread(self, value: int) -> None:
        self.unread = value

    def _on_connection(self, value: str) -> None:
        self.connection = value
        self.set_class(value != "online", "-offline")

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.connection and self.connection != "online":
            text.append(f"● {self.connection}", style="bold")
            text.append("  ")
        if self.unread:
            text.append(f"✉ {self.unread} unread (i)", style="bold")
            text.append("  ")
        if self.flashed:
            text.append(self.flashed, style="bold")
            return text
        text.append(self.status)
        if not self.status:
            text.append("? help  : command  / search  ^p palette", style="dim")
        return text
