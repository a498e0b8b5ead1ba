"""The Shortstack terminal app: global bindings, modes, session, server events and error handling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from shortstack.tui.api import ApiClient, ApiError, ServerEvent, ServerUnavailable
from shortstack.tui.commands import Command, CommandError, parse_command
from shortstack.tui.media_cache import MediaCache
from shortstack.tui.notification_text import notification_text
from shortstack.tui.palette import ActionsProvider
from shortstack.tui.plain_text import clean
from shortstack.tui.screens.admin import AdminScreen
from shortstack.tui.screens.command_bar import CommandBarScreen
from shortstack.tui.screens.delete_account import DeleteAccountScreen
from shortstack.tui.screens.feed import FeedScreen
from shortstack.tui.screens.help import HelpScreen
from shortstack.tui.screens.lab import LabScreen
from shortstack.tui.screens.login import LoginScreen
from shortstack.tui.screens.notifications import NotificationsScreen
from shortstack.tui.screens.profile import ProfileScreen
from shortstack.tui.screens.search import SearchScreen
from shortstack.tui.screens.upload import UploadScreen
from shortstack.tui.session import Session
from shortstack.tui.sound import SoundOutput, open_sound
from shortstack.tui.widgets.caption_line import CaptionPrefs, caption_prefs

T = TypeVar("T")

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
SLOW_AFTER_S = 2.0
MAX_NOTIFICATIONS = 200

# Colours picked from the xterm-256 palette so the theme looks the same in 256-colour terminals.
SHORTSTACK_THEME = Theme(
    name="shortstack",
    primary="#ff5f87",
    secondary="#5fd7ff",
    accent="#ffaf00",
    foreground="#e4e4e4",
    background="#121212",
    surface="#1c1c1c",
    panel="#303030",
    success="#5faf5f",
    warning="#ffaf00",
    error="#d75f5f",
    dark=True,
)


class ShortstackApp(App[None]):
    """Terminal client for a Shortstack server."""

    CSS_PATH = "app.tcss"
    TITLE = "Shortstack"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    MODES = {
        "feed": FeedScreen,
        "search": SearchScreen,
        "upload": UploadScreen,
        "notifications": NotificationsScreen,
        "profile": ProfileScreen,
        "lab": LabScreen,
    }
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="List every key"),
        Binding("colon", "command_bar", "Command", id="app.command", tooltip="Type a command"),
        Binding("slash", "search", "Search", id="app.search", tooltip="Videos, #tags, @users"),
        Binding("g", "home", "Feed", show=False, id="app.feed", tooltip="Back to the feed"),
        Binding("u", "upload", "Upload", show=False, id="app.upload", tooltip="Upload a video"),
        Binding("p", "my_profile", "Profile", show=False, id="app.profile", tooltip="Your profile"),
        Binding(
            "i",
            "notifications",
            "Inbox",
            show=False,
            id="app.notifications",
            tooltip="Notifications",
        ),
        Binding(
            "L",
            "lab",
            "Feed lab",
            show=False,
            id="app.lab",
            tooltip="Try blend weights on a simulation",
        ),
        Binding(
            "A",
            "admin",
            "Admin",
            show=False,
            id="app.admin",
            tooltip="Reports, audit log, registration (admins)",
        ),
        Binding(
            "ctrl+l", "logout", "Log out", show=False, id="app.logout", tooltip="Forget the token"
        ),
        Binding("q", "quit", "Quit", show=False, id="app.quit", tooltip="Leave Shortstack"),
    ]

    connection: reactive[str] = reactive("connecting")
    user: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    #: unread notifications of the signed-in user (shown in every screen's status line)
    unread: reactive[int] = reactive(0)

    class EventReceived(Message):
        """A Server-Sent Event, forwarded to subscribed screens."""

        def __init__(self, event: ServerEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(
        self,
        server_url: str,
        *,
        token: str | None = None,
        config_dir: Path | None = None,
        events: bool = True,
        media_dir: Path | None = None,
        autoplay: bool = True,
        sound: SoundOutput | None = None,
    ) -> None:
        super().__init__()
        self.server_url = server_url
        self.session = Session(config_dir)
        self.settings = self.session.load_settings()
        #: the session's audio output, opened before the app started (``run``); without one
        #: the clips play silent and the status line says why
        self.sound = sound if sound is not None else SoundOutput(reason="no audio device")
        self.sound.volume, self.sound.muted = self.settings.volume, self.settings.muted
        self._caption_prefs = CaptionPrefs(self.settings.caption_lang, self.settings.captions_on)
        self._token_given = token is not None
        self.api = ApiClient(server_url, token or self.session.load_token())
        self.media = MediaCache(self.api, media_dir)
        self.history: list[str] = self.session.load_history()
        self.notifications: list[dict[str, Any]] = []
        self.known_handles: set[str] = set()
        self.revealed: set[str] = set()
        self._subscribers: list[Screen[Any]] = []
        self._events_enabled = events
        self.autoplay = autoplay
        self._reconnecting = False
        self._login_open = False

    # -- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.register_theme(SHORTSTACK_THEME)
        self.theme = "shortstack"
        keymap = self.session.load_keymap()
        if keymap:
            self.set_keymap(keymap)
        self.start()

    @work(exclusive=True, group="start", exit_on_error=False)
    async def start(self) -> None:
        """Check the token, then open the feed (and the login screen when there is no valid token)."""
        user: dict[str, Any] | None = None
        if self.api.token:
            try:
                user = await self.api.me()
                self.connection = "online"
            except ApiError as exc:
                self.connection = "online"
                if exc.status == 401:
                    self.forget_token()
            except ServerUnavailable:
                self.server_unavailable()  # keep the token; the reconnect loop signs in
        if user is not None:
            self.signed_in(user)
        await self.switch_mode("feed")
        if self.api.token is None:
            self.need_login()

    def save_settings(self) -> None:
        """Remember the caption choice, the volume and mute for the next session."""
        prefs = caption_prefs(self)
        settings = self.settings
        settings.caption_lang, settings.captions_on = prefs.lang, prefs.on
        settings.volume, settings.muted = self.sound.volume, self.sound.muted
        self.run_worker(
            lambda: self.session.save_settings(settings),
            thread=True,
            group="save-settings",
            exit_on_error=False,
        )

    async def on_unmount(self) -> None:
        self.session.save_history(self.history)
        self.media.close()
        await self.api.aclose()

    def signed_in(self, user: dict[str, Any], token: str | None = None) -> None:
        """Remember the signed-in user (and store a new token, 0600)."""
        if token is not None:
            self.api.token = token
            self.session.save_token(token)
        self.user = user
        unread = user.get("unread_notifications")
        if isinstance(unread, int):
            self.unread = unread
        else:  # login answers the user without the count: ask /api/me
            self.refresh_unread()
        if self._events_enabled:
            self.watch_events()

    @work(exclusive=True, group="unread", exit_on_error=False)
    async def refresh_unread(self) -> None:
        """Fetch the unread notification count from the server."""
        me = await self.call(self.api.me(), quiet=True)
        if isinstance(me, dict) and isinstance(me.get("unread_notifications"), int):
            self.unread = me["unread_notifications"]

    @work(exclusive=True, group="unread", exit_on_error=False)
    async def mark_notifications_read(self) -> None:
        """Mark every notification read on the server (the notifications screen is open)."""
        self.unread = 0
        await self.call(self.api.read_all_notifications(), quiet=True)

    def forget_token(self) -> None:
        """Drop a token the server refused (and its file, unless it was passed in)."""
        self.api.token = None
        if not self._token_given:
            self.session.clear_token()

    def need_login(self) -> None:
        """Open the login screen (once) when there is no valid token."""
        if self._login_open:
            return
        self._login_open = True

        def closed(result: dict[str, Any] | None) -> None:
            self._login_open = False

        self.push_screen(LoginScreen(), closed)

    # -- calling the server ---------------------------------------------------------------------

    async def call(
        self, awaitable: Awaitable[T], *, quiet: bool = False, long: bool = False
    ) -> T | bool | None:
        """Await an API call: errors become toasts, a lost server starts the reconnect loop.

        Returns the result (True for empty answers), or None when the call failed. ``long``:
        the call is known to take seconds (the screen shows its own progress), so the status
        line does not call the server slow.
        """
        slow = self.set_timer(SLOW_AFTER_S, self._slow_call, pause=long)
        try:
            result = await awaitable
        except ServerUnavailable:
            self.server_unavailable()
            return None
        except ApiError as exc:
            self.connection = "online"
            if exc.status == 401:
                self.forget_token()
                self.user = None
                self.need_login()
                if not quiet:
                    self.toast("Please log in", severity="warning")
            elif exc.status == 429:
                self.toast("Slow down: the server is rate limiting", severity="warning")
            elif not quiet:
                self.toast(exc.message, title=f"{exc.title} ({exc.status})", severity="error")
            return None
        finally:
            slow.stop()
        self.connection = "online"
        return True if result is None else result

    def _slow_call(self) -> None:
        if not self._reconnecting:
            self.connection = "server is slow: waiting for an answer…"

    def toast(self, message: str, *, title: str = "", severity: str = "information") -> None:
        """A notification whose text is shown literally (never parsed as markup).

        The same toast again replaces the one still showing, so a repeated key does not
        stack copies of it.
        """
        message, title = clean(message), clean(title, single_line=True)
        for shown in list(self._notifications):
            if (shown.message, shown.title, shown.severity) == (message, title, severity):
                self._unnotify(shown, refresh=False)
        self.notify(
            message,
            title=title,
            severity=severity,  # type: ignore[arg-type]
            markup=False,
        )

    def server_unavailable(self) -> None:
        """Mark the server as unreachable and retry with backoff."""
        if not self._reconnecting:
            self._reconnecting = True
            self.connection = "server unreachable"
            self.reconnect()

    @work(exclusive=True, group="reconnect", exit_on_error=False)
    async def reconnect(self) -> None:
        """Ping /healthz with exponential backoff until the server answers."""
        delay = BACKOFF_START_S
        try:
            while True:
                for left in range(int(delay), 0, -1):
                    self.connection = f"server unreachable: retrying in {left} s"
                    await asyncio.sleep(1)
                self.connection = "server unreachable: retrying now…"
                try:
                    await self.api.health()
                except ServerUnavailable:
                    delay = min(delay * 2, BACKOFF_MAX_S)
                    continue
                except ApiError:
                    pass  # it answered (a 503 says "degraded": a worker is down, not the server)
                break
        finally:
            self._reconnecting = False
        self.connection = "online"
        self.toast("Connected to the server again")
        if self.user is None and self.api.token:
            user = await self.call(self.api.me(), quiet=True)
            if user is not None:
                self.signed_in(user)

    # -- server events --------------------------------------------------------------------------

    def subscribe(self, screen: Screen[Any]) -> None:
        """Forward server events to ``screen`` as EventReceived messages."""
        if screen not in self._subscribers:
            self._subscribers.append(screen)

    def unsubscribe(self, screen: Screen[Any]) -> None:
        """Stop forwarding events to ``screen``."""
        if screen in self._subscribers:
            self._subscribers.remove(screen)

    @work(exclusive=True, group="events", exit_on_error=False)
    async def watch_events(self) -> None:
        """Follow /api/events for as long as the app runs, reconnecting with backoff."""
        delay = BACKOFF_START_S
        while True:
            try:
                async for event in self.api.events():
                    delay = BACKOFF_START_S
                    self.dispatch_event(event)
            except (ServerUnavailable, ApiError):
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    def dispatch_event(self, event: ServerEvent) -> None:
        """Handle app-wide events (notifications) and forward all to subscribers."""
        if event.event == "notification":
            data = event.data if isinstance(event.data, dict) else {"text": str(event.data)}
            self.notifications.insert(0, data)
            self.unread += 1
            del self.notifications[MAX_NOTIFICATIONS:]
            self.toast(notification_text(data), title="Notification")
        for screen in list(self._subscribers):
            screen.post_message(self.EventReceived(event))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """A worker failed unexpectedly: say so in a toast instead of crashing."""
        self.log.error(f"worker {worker.name} failed: {worker.error!r}")
        self.toast(f"Something went wrong: {worker.error!r}", severity="error")

    # -- actions --------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Send the watch time of what is playing, then leave."""
        for screen in list(self._subscribers):
            if isinstance(screen, FeedScreen):
                await screen.flush_view()
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_command_bar(self) -> None:
        if isinstance(self.screen, CommandBarScreen):
            return
        self.push_screen(CommandBarScreen(self.history, self.known_handles), self._command_done)

    def _command_done(self, line: str | None) -> None:
        if not line or not line.strip():
            return
        line = line.strip()
        if not self.history or self.history[-1] != line:
            self.history.append(line)
        self.run_command_line(line)

    def run_command_line(self, line: str) -> None:
        """Parse and run one command-bar line; problems show as toasts."""
        try:
            command = parse_command(line)
        except CommandError as exc:
            self.toast(str(exc), severity="warning")
            return
        self.run_command(command)

    def run_command(self, command: Command) -> None:
        """Run a parsed command: the active screen first, then app-wide commands."""
        handler = getattr(self.screen, "handle_command", None)
        if handler is not None and handler(command):
            return
        name, args = command.name, command.args
        if name == "search":
            self.open_search(args["query"])
        elif name == "upload":
            self.open_upload(args.get("path"), args.get("caption"), start=True)
        elif name == "profile":
            self.open_profile(args.get("handle"))
        elif name == "feed":
            self.open_feed(args["kind"])
        elif name == "notifications":
            self.call_later(self.action_notifications)
        elif name == "lab":
            self.call_later(self.action_lab)
        elif name == "admin":
            self.action_admin()
        elif name == "delete-account":
            self.action_delete_account()
        elif name == "sensitive-media":
            self.set_show_sensitive(args["on"])
        elif name == "weights":
            self.set_weights(args["weights"])
        elif name == "help":
            self.action_help()
        elif name == "logout":
            self.action_logout()
        elif name == "quit":
            self.call_later(self.action_quit)
        elif name in ("follow", "unfollow") and args.get("handle"):
            self.follow_handle(args["handle"], name == "follow")
        else:
            self.toast(
                f"`{name}` needs a video on screen: open the feed (g) first", severity="warning"
            )

    async def action_search(self) -> None:
        self.open_search(None)

    def open_search(self, query: str | None) -> None:
        """Switch to search, optionally running ``query``."""

        async def go() -> None:
            await self.switch_mode("search")
            if query and isinstance(self.screen, SearchScreen):
                self.screen.run_search(query)

        self.call_later(go)

    async def action_home(self) -> None:
        await self.switch_mode("feed")

    def open_feed(self, kind: str) -> None:
        """Switch to the feed and to the ``kind`` tab."""

        async def go() -> None:
            await self.switch_mode("feed")
            if isinstance(self.screen, FeedScreen):
                self.screen.switch_feed(kind)

        self.call_later(go)

    async def action_upload(self) -> None:
        await self.switch_mode("upload")

    def open_upload(self, path: str | None, caption: str | None, *, start: bool = False) -> None:
        """Switch to the upload screen with the fields filled (and start when asked)."""

        async def go() -> None:
            await self.switch_mode("upload")
            if isinstance(self.screen, UploadScreen):
                self.screen.fill(path, caption, start=start)

        self.call_later(go)

    async def action_my_profile(self) -> None:
        await self.switch_mode("profile")

    def open_profile(self, handle: str | None) -> None:
        """Open a profile: yours (a mode) or someone else's (pushed on top)."""
        me = (self.user or {}).get("handle")
        if handle is None or handle == me:
            self.call_later(self.switch_mode, "profile")
        else:
            self.push_screen(ProfileScreen(handle))

    async def action_lab(self) -> None:
        await self.switch_mode("lab")

    async def action_notifications(self) -> None:
        await self.switch_mode("notifications")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Admin key exists for admins only (it is not even listed for others)."""
        if action == "admin":
            return bool((self.user or {}).get("is_admin"))
        return True

    def action_admin(self) -> None:
        if not (self.user or {}).get("is_admin"):
            self.toast("The Admin screen is for this server's admins", severity="warning")
            return
        if not isinstance(self.screen, AdminScreen):
            self.push_screen(AdminScreen())

    def action_delete_account(self) -> None:
        handle = (self.user or {}).get("handle")
        if not handle:
            self.toast("Log in first: there is no account to delete", severity="warning")
            return

        def done(deleted: bool | None) -> None:
            if deleted:
                self.forget_token()
                self.user = None
                self.toast(f"@{handle} is deleted. Goodbye!", title="Account deleted")
                self.call_later(self.action_home)

        self.push_screen(DeleteAccountScreen(handle), done)

    @work(exclusive=True, group="settings", exit_on_error=False)
    async def set_show_sensitive(self, on: bool) -> None:
        """The viewer's sensitive-media setting, kept by the server."""
        if self.user is None:
            self.toast("Log in first: the setting belongs to your account", severity="warning")
            return
        me = await self.call(self.api.update_me(show_sensitive=on))
        if isinstance(me, dict) and self.user is not None:
            # the same account: change the setting in place (a new user would reload the feeds)
            self.user["show_sensitive"] = bool(me.get("show_sensitive"))
            if isinstance(self.screen, FeedScreen):
                self.screen.player.recheck()
            self.toast(
                "Sensitive videos show without a notice"
                if me.get("show_sensitive")
                else "Sensitive videos wait behind a notice"
            )

    def action_logout(self) -> None:
        self.logout()

    @work(exclusive=True, group="session", exit_on_error=False)
    async def logout(self) -> None:
        """Log out on the server, forget the token and show the login screen."""
        if self.api.token:
            await self.call(self.api.logout(), quiet=True)
        self.api.token = None
        self.session.clear_token()
        self.user = None
        self.toast("Logged out")
        self.need_login()

    @work(group="follow", exit_on_error=False)
    async def follow_handle(self, handle: str, follow: bool) -> None:
        """Follow or unfollow ``handle``."""
        call = self.api.follow(handle) if follow else self.api.unfollow(handle)
        if await self.call(call) is not None:
            self.toast(f"{'Following' if follow else 'Unfollowed'} @{handle}")

    @work(group="weights", exit_on_error=False)
    async def set_weights(self, weights: dict[str, float]) -> None:
        """Show or update the feed blend weights."""
        if weights:
            result = await self.call(self.api.put_weights(weights))
        else:
            result = await self.call(self.api.get_weights())
        if isinstance(result, dict):
            shown = "  ".join(f"{k}={float(v):.2f}" for k, v in result.items())
            self.toast(shown, title="Feed weights" + (" updated" if weights else ""))


def run(server_url: str, *, token: str | None = None, sound: bool = True) -> None:
    """Run the terminal client against ``server_url`` until the user quits.

    The audio device is opened here, before the app draws (a machine without sound makes the
    audio libraries write errors to the terminal), and kept until the app ends.
    """
    if sound and not Session().load_settings().sound:
        output = SoundOutput(reason='turned off ("sound": false in settings.json)')
    else:
        output = open_sound(enabled=sound)
    try:
        ShortstackApp(server_url, token=token, sound=output).run()
    finally:
        output.close()
