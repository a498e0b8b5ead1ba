"""Log in or register when there is no valid token."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from shortstack.tui.plain_text import clean
from shortstack.tui.screens.base import BaseScreen


class LoginScreen(BaseScreen):
    """Handle + password, then Log in or Register; dismisses with the signed-in user."""

    BINDINGS = [
        Binding(
            "escape",
            "browse",
            "Browse logged out",
            id="login.browse",
            tooltip="Close and browse without an account",
        ),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Label(Text("Shortstack", style="bold"), id="login-title")
            yield Static(Text("Log in, or pick a handle and register."), id="login-help")
            yield Input(placeholder="handle (a-z 0-9 _)", id="login-handle", max_length=30)
            yield Input(
                placeholder="password (new accounts: 10+ characters)",
                password=True,
                id="login-password",
            )
            yield Input(placeholder="display name (register only, optional)", id="login-display")
            with Horizontal(id="login-buttons"):
                yield Button("Log in", variant="primary", id="login-submit")
                yield Button("Register", id="login-register")
            yield Static("", id="login-error")

    def on_mount(self) -> None:
        self.query_one("#login-handle", Input).focus()

    def _fields(self) -> tuple[str, str, str]:
        handle = self.query_one("#login-handle", Input).value.strip().lstrip("@").lower()
        password = self.query_one("#login-password", Input).value
        display = self.query_one("#login-display", Input).value.strip()
        return handle, password, display

    def _error(self, message: str) -> None:
        self.query_one("#login-error", Static).update(Text(clean(message), style="bold red"))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "login-handle":
            self.query_one("#login-password", Input).focus()
        else:
            self.submit(register=False)

    @on(Button.Pressed, "#login-submit")
    def _login_pressed(self) -> None:
        self.submit(register=False)

    @on(Button.Pressed, "#login-register")
    def _register_pressed(self) -> None:
        self.submit(register=True)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def submit(self, register: bool) -> None:
        """Log in or register with the typed fields."""
        handle, password, display = self._fields()
        if not handle or not password:
            self._error("Type a handle and a password.")
            return
        if register and len(password) < 10:
            self._error("Passwords need at least 10 characters.")
            return
        self._error("")
        api = self.ss_app.api
        call = (
            api.register(handle, password, display or None)
            if register
            else api.login(handle, password)
        )
        from shortstack.tui.api import ApiError, ServerUnavailable

        try:
            answer = await call
        except ApiError as exc:
            if exc.status == 401:
                self._error("Wrong handle or password.")
            elif exc.status == 409:
                self._error(f"@{handle} is taken: pick another handle or log in.")
            else:
                self._error(exc.message)
            return
        except ServerUnavailable:
            self._error("The server cannot be reached; try again in a moment.")
            self.ss_app.server_unavailable()
            return
        self.ss_app.signed_in(answer["user"], answer["token"])
        self.ss_app.toast(f"Welcome, @{answer['user'].get('handle', handle)}")
        self.dismiss(answer["user"])

    def action_browse(self) -> None:
        self.dismiss(None)
