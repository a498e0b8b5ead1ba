"""The `:` command bar: one Input with completion and history, dismissed with the typed line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input

from shortstack.tui.commands import CommandSuggester


class CommandBarScreen(ModalScreen[str | None]):
    """A one-line prompt at the bottom; up/down walk the history, tab/right accept completion."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="command.cancel"),
        Binding("up", "history(-1)", "Older", show=False, id="command.older"),
        Binding("down", "history(1)", "Newer", show=False, id="command.newer"),
        Binding("tab", "complete", "Complete", show=False, id="command.complete"),
    ]

    def __init__(self, history: list[str], handles: set[str] | None = None) -> None:
        super().__init__()
        self.history = history
        self._pos = len(history)
        self._handles = handles if handles is not None else set()

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder='like · comment nice! · reply 3 thanks · follow @ana · search #cats · why · weights explore=0.3 · upload ~/clip.mp4 "caption"',
            suggester=CommandSuggester(lambda: sorted(self._handles)),
            id="command-input",
        )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        box = self.query_one(Input)
        box.value = self.history[self._pos] if self._pos < len(self.history) else ""
        box.cursor_position = len(box.value)

    def action_complete(self) -> None:
        box = self.query_one(Input)
        suggestion = getattr(box, "_suggestion", "")
        if suggestion and suggestion.startswith(box.value):
            box.value = suggestion
            box.cursor_position = len(suggestion)
