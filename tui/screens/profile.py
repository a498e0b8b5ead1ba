"""A user's profile: counts, bio, follow state and their videos (yours or someone else's)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from shortstack.counts import counted
from shortstack.tui.plain_text import clean, plain
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.status_line import StatusLine
from shortstack.tui.widgets.video_list import VideoList


def profile_text(user: dict[str, Any], *, me: bool) -> Text:
    """Header text of a profile."""
    text = Text()
    text.append("@")
    text.append(clean(user.get("handle", "?"), single_line=True), style="bold")
    if user.get("display_name"):
        text.append("  ")
        text.append_text(plain(user["display_name"], single_line=True))
    if me:
        text.append("  (you)", style="dim")
    elif user.get("is_following"):
        text.append("  ✓ following (f to unfollow)", style="italic")
    else:
        text.append("  + follow (f)", style="italic")
    if user.get("bio"):
        text.append("\n")
        text.append_text(plain(user["bio"], "dim"))
    text.append("\n")
    text.append(
        "   ".join(
            [
                counted(user.get("followers"), "follower"),
                counted(user.get("following"), "following", "following"),
                counted(user.get("videos"), "video"),
                counted(user.get("likes_received"), "like"),
            ]
        )
    )
    return text


class ProfileScreen(BaseScreen):
    """Profile of ``handle`` (None: the signed-in user); enter plays a video."""

    BINDINGS = [
        Binding("f", "follow", "Follow", id="profile.follow", tooltip="Follow or unfollow"),
        Binding("ctrl+r", "reload", "Reload", id="profile.reload", tooltip="Reload the profile"),
        Binding("escape", "back", "Back", id="profile.back", tooltip="Go back"),
    ]

    def __init__(self, handle: str | None = None) -> None:
        super().__init__()
        self.handle = handle
        self.profile: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="profile-header")
        yield VideoList(id="profile-videos")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.ss_app.subscribe(self)
        if self.handle is None:
            self.watch(self.app, "user", lambda _user: self.load(), init=False)
        self.load()

    def on_unmount(self) -> None:
        self.ss_app.unsubscribe(self)

    def on_screen_resume(self) -> None:
        self.query_one(VideoList).focus()

    @property
    def target(self) -> str | None:
        return self.handle or (self.ss_app.user or {}).get("handle")

    @work(exclusive=True, group="profile", exit_on_error=False)
    async def load(self) -> None:
        """Fetch the user and their videos."""
        handle = self.target
        header = self.query_one("#profile-header", Static)
        if handle is None:
            header.update(Text("Log in to see your profile.", style="dim italic"))
            return
        user = await self.ss_app.call(self.ss_app.api.user(handle))
        if not isinstance(user, dict):
            header.update(Text(f"Could not load @{clean(handle)}", style="red"))
            return
        self.profile = user
        me = handle == (self.ss_app.user or {}).get("handle")
        header.update(profile_text(user, me=me))
        page = await self.ss_app.call(self.ss_app.api.user_videos(handle, limit=50))
        if isinstance(page, dict):
            videos = self.query_one(VideoList)
            videos.set_videos(page.get("items") or [])
            videos.focus()

    @on(VideoList.Chosen)
    def _chosen(self, message: VideoList.Chosen) -> None:
        from shortstack.tui.screens.feed import FeedScreen

        ready = [v for v in message.videos]
        self.app.push_screen(FeedScreen(ready, start=message.index, title=f"@{self.target}"))

    def action_follow(self) -> None:
        if self.profile is None:
            return
        if self.target == (self.ss_app.user or {}).get("handle"):
            self.ss_app.toast("That's you!")
            return
        self.toggle_follow(not self.profile.get("is_following"))

    @work(group="follow", exit_on_error=False)
    async def toggle_follow(self, follow: bool) -> None:
        """Follow or unfollow this user and reload the counts."""
        handle = self.target
        if handle is None:
            return
        api = self.ss_app.api
        if await self.ss_app.call(api.follow(handle) if follow else api.unfollow(handle)) is None:
            return
        self.ss_app.toast(f"{'Following' if follow else 'Unfollowed'} @{handle}")
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if self.handle is not None and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.call_later(self.app.switch_mode, "feed")

    def on_shortstack_app_event_received(self, message: Any) -> None:
        if message.event.event in ("video.ready", "video.failed") and self.handle is None:
            self.load()
