"""Delete my account: says what goes, asks the password again, then deletes on the server."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from shortstack.tui.api import ApiError, ServerUnavailable
from shortstack.tui.plain_text import clean

WHAT_GOES = (
    "This deletes @{handle} for good: every video you posted (with its files), your comments"
    " (replies to them stay, under a 'deleted' placeholder), likes, follows, watch history,"
    " sessions and notifications. It cannot be undone.\n\n"
    "Want a copy first? Run `shortstack account export` before deleting."
)


class DeleteAccountScreen(ModalScreen[bool]):
    """Dismisses with True once the server deleted the account, False when cancelled."""

    DEFAULT_CSS = """
    DeleteAccountScreen { align: center middle; }
    DeleteAccountScreen #delete-box {
        width: 70; height: auto; border: thick $error; padding: 1 2; background: $surface;
    }
    DeleteAccountScreen #delete-buttons { height: auto; margin-top: 1; }
    DeleteAccountScreen #delete-buttons Button { margin-right: 2; }
    DeleteAccountScreen #delete-error { color: $error; height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="delete_account.cancel")]

    def __init__(self, handle: str) -> None:
        super().__init__()
        self.handle = handle

    def compose(self) -> ComposeResult:
        with Vertical(id="delete-box"):
            yield Label(Text("Delete your account?", style="bold"))
            yield Static(Text(WHAT_GOES.format(handle=clean(self.handle, single_line=True))))
            yield Input(
                placeholder="your password, to confirm", password=True, id="delete-password"
            )
            with Horizontal(id="delete-buttons"):
                yield Button("Delete my account", variant="error", id="delete-confirm")
                yield Button("Cancel", id="delete-cancel")
            yield Static("", id="delete-error")

    def on_mount(self) -> None:
        self.query_one("#delete-password", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete-confirm")
    @on(Input.Submitted, "#delete-password")
    def _confirm(self) -> None:
        password = self.query_one("#delete-password", Input).value
        if not password:
            self._error("Type your password to confirm.")
            return
        self.query_one("#delete-confirm", Button).disabled = True
        self.delete(password)

    def _error(self, message: str) -> None:
        self.query_one("#delete-error", Static).update(Text(clean(message)))

    @work(exclusive=True, group="delete-account", exit_on_error=False)
    async def delete(self, password: str) -> None:
        """DELETE /api/me; a wrong password keeps the screen open and says so."""
        api = self.app.api  # type: ignore[attr-defined]
        try:
            await api.delete_account(password)
        except ApiError as exc:
            self._error(exc.message)
            self.query_one("#delete-confirm", Button).disabled = False
            self.query_one("#delete-password", Input).value = ""
            return
        except ServerUnavailable:
            self._error("The server is not reachable: nothing was deleted. Try again later.")
            self.query_one("#delete-confirm", Button).disabled = False
            return
        self.dismiss(True)
