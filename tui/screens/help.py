"""Lists every key (from the bindings themselves) and every command-bar command."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from shortstack.tui.commands import COMMANDS


def _bindings_table(
    title: str, bindings: list[Binding], app: object, rows: list[tuple[str, str]]
) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True)
    table.add_column("key", style="bold", width=14)
    # ratio: only this column takes the pane's spare width (without it the keys' column grew
    # too, by a different amount in each table, and the tables did not line up)
    table.add_column("does", ratio=1)
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = ", ".join(
            app.get_key_display(Binding(k, binding.action)) for k in binding.key.split(",")
        )  # type: ignore[attr-defined]
        table.add_row(Text(keys), Text(binding.tooltip or binding.description))
        rows.append((keys, binding.tooltip or binding.description))
    return table


class HelpScreen(ModalScreen[None]):
    """Every key of the app and the feed, and the `:` commands."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str]] = []  # (keys, what they do), as listed

    def compose(self) -> ComposeResult:
        from shortstack.tui.screens.feed import FeedScreen
        from shortstack.tui.screens.profile import ProfileScreen
        from shortstack.tui.screens.search import SearchScreen

        with VerticalScroll(id="help-box"):
            yield Static(Text("Keys and commands  (esc closes)", style="bold"))
            yield Static(
                _bindings_table("Everywhere", list(self.app.BINDINGS), self.app, self.rows)
            )
            yield Static(
                _bindings_table("Feed and player", list(FeedScreen.BINDINGS), self.app, self.rows)
            )
            yield Static(
                _bindings_table("Profiles", list(ProfileScreen.BINDINGS), self.app, self.rows)
            )
            yield Static(
                _bindings_table("Search", list(SearchScreen.BINDINGS), self.app, self.rows)
            )
            commands = Table(
                title="Command bar (:)",
                title_justify="left",
                show_header=False,
                box=None,
                expand=True,
            )
            commands.add_column("command", style="bold", width=30)
            commands.add_column("does", ratio=1)
            for usage, text in COMMANDS.values():
                commands.add_row(Text(usage), Text(text))
            yield Static(commands)
            yield Static(
                Text(
                    "Sound plays through the audio device opened at start (--no-sound: none); "
                    "the status line shows the volume, or why there is no sound. Volume, mute "
                    "and captions are remembered.",
                    style="italic",
                )
            )
