"""The feed: one video at a time (For You / Following / Trending, or a given list), with interactions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import MouseScrollDown, MouseScrollUp
from textual.widgets import Footer, Tab, Tabs

from shortstack.tui.api import FEED_KINDS
from shortstack.tui.commands import Command
from shortstack.tui.playback import still_image
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.comments_panel import CommentsPanel
from shortstack.tui.widgets.status_line import StatusLine
from shortstack.tui.widgets.video_info import VideoInfo
from shortstack.tui.widgets.video_view import VideoView
from shortstack.tui.widgets.why_panel import WhyPanel

if TYPE_CHECKING:
    pass

FEED_TITLES = {"for-you": "For You", "following": "Following", "trending": "Trending"}
PAGE_SIZE = 10
PREFETCH_AHEAD = 2
WHEEL_DEBOUNCE_S = 0.35


@dataclass
class FeedState:
    """Items loaded so far for one feed and where the viewer is in it."""

    kind: str
    items: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None
    index: int = 0
    exhausted: bool = False
    loaded: bool = False
    loading: bool = False


def as_item(video_or_item: dict[str, Any]) -> dict[str, Any]:
    """Feed items are ``{video, score, reasons, explanation}``; wrap a bare video like one."""
    return video_or_item if "video" in video_or_item else {"video": video_or_item}


def fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class FeedScreen(BaseScreen):
    """Full-screen vertical video feed; `j`/`k` swipe, interactions on single keys."""

    BINDINGS = [
        Binding("j,down", "next", "Next", id="feed.next", tooltip="Next video"),
        Binding("k,up", "previous", "Prev", id="feed.previous", tooltip="Previous video"),
        Binding("space", "pause", "Pause", id="feed.pause", tooltip="Pause or resume"),
        Binding("left", "seek(-1)", "-2s", show=False, id="feed.seek_back", tooltip="Back 2 s"),
        Binding(
            "right", "seek(1)", "+2s", show=False, id="feed.seek_forward", tooltip="Forward 2 s"
        ),
        Binding("l", "like", "Like", id="feed.like", tooltip="Like or unlike"),
        Binding("c", "comments", "Comments", id="feed.comments", tooltip="Show or hide comments"),
        Binding(
            "f",
            "follow",
            "Follow",
            show=False,
            id="feed.follow",
            tooltip="Follow or unfollow the author",
        ),
        Binding("s", "share", "Share", show=False, id="feed.share", tooltip="Copy the link"),
        Binding(
            "n",
            "not_interested",
            "Not interested",
            show=False,
            id="feed.not_interested",
            tooltip="Show fewer like this",
        ),
        Binding("w", "why", "Why", id="feed.why", tooltip="Why this video"),
        Binding(
            "a",
            "author",
            "Author",
            show=False,
            id="feed.author",
            tooltip="Open the author's profile",
        ),
        Binding(
            "m",
            "mute",
            "Mute",
            show=False,
            id="feed.mute",
            tooltip="Mute (no audio in the terminal)",
        ),
        Binding("r", "loop", "Loop", show=False, id="feed.loop", tooltip="Loop on or off"),
        Binding(
            "1", "feed('for-you')", "For You", show=False, id="feed.for_you", tooltip="For You feed"
        ),
        Binding(
            "2",
            "feed('following')",
            "Following",
            show=False,
            id="feed.following",
            tooltip="Following feed",
        ),
        Binding(
            "3",
            "feed('trending')",
            "Trending",
            show=False,
            id="feed.trending",
            tooltip="Trending feed",
        ),
        Binding(
            "t", "next_tab", "Next feed", show=False, id="feed.next_tab", tooltip="Cycle the feeds"
        ),
        Binding(
            "escape", "back", "Back", show=False, id="feed.back", tooltip="Close panel / go back"
        ),
    ]

    def __init__(
        self,
        items: list[dict[str, Any]] | None = None,
        *,
        start: int = 0,
        title: str = "",
    ) -> None:
        super().__init__()
        self.static = items is not None
        self.title_text = title
        self.kind = "for-you"
        self.feeds: dict[str, FeedState] = {k: FeedState(k) for k in FEED_KINDS}
        if items is not None:
            self.feeds = {"list": FeedState("list", [as_item(i) for i in items], index=start)}
            self.feeds["list"].exhausted = self.feeds["list"].loaded = True
            self.kind = "list"
        self.following: dict[str, bool] = {}
        self._shown_id: str | None = None
        self._last_wheel = 0.0
        self._resume_playing = False
        self._want_next = False  # "next" was pressed at the end while a page was loading

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if not self.static:
            tabs = Tabs(*(Tab(FEED_TITLES[k], id=k) for k in FEED_KINDS), id="feed-tabs")
            tabs.can_focus = False
            yield tabs
        with Horizontal(id="feed-body"):
            yield VideoView(id="video")
            with Vertical(id="side"):
                with VerticalScroll(id="info-box"):
                    yield VideoInfo(id="info")
                    yield WhyPanel(id="why", classes="hidden")
                yield CommentsPanel(id="comments", classes="hidden")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.video_view.can_focus = True
        self.video_view.focus()
        self.ss_app.subscribe(self)
        self.set_interval(0.5, self.update_status)
        self.watch(self.app, "user", self._user_changed, init=False)
        self.watch(self.app, "connection", self._connection_changed, init=False)
        if self.static:
            self.show_current()
        else:
            self.load_more(self.kind)

    def on_unmount(self) -> None:
        self.ss_app.unsubscribe(self)
        self.leave_video()

    def on_screen_suspend(self) -> None:
        # another screen (a modal, help, search…) is on top: pause, keep the position
        playback = self.video_view.playback
        self._resume_playing = playback is not None and not playback.paused
        if playback is not None:
            playback.set_paused(True)

    def on_screen_resume(self) -> None:
        if not self.query_one("#comments").has_class("hidden"):
            self.query_one("#comments-input").focus()
        else:
            self.video_view.focus()
        playback = self.video_view.playback
        if playback is not None:
            if self._resume_playing:
                playback.set_paused(False)
        elif self.current_item is not None:
            self.show_current()

    def _user_changed(self, user: dict[str, Any] | None) -> None:
        if self.static:
            return
        self.feeds = {k: FeedState(k) for k in FEED_KINDS}
        self._shown_id = None
        self.following.clear()
        self.load_more(self.kind)

    def _connection_changed(self, value: str) -> None:
        state = self.state
        if value == "online" and not state.loaded and not self.static:
            self.load_more(self.kind)

    @property
    def video_view(self) -> VideoView:
        return self.query_one("#video", VideoView)

    @property
    def state(self) -> FeedState:
        return self.feeds[self.kind]

    @property
    def current_item(self) -> dict[str, Any] | None:
        state = self.state
        if 0 <= state.index < len(state.items):
            return state.items[state.index]
        return None

    @property
    def current_video(self) -> dict[str, Any] | None:
        item = self.current_item
        return None if item is None else item["video"]

    # -- loading --------------------------------------------------------------------------------

    @work(group="feed-load", exit_on_error=False)
    async def load_more(self, kind: str, *, again: bool = False) -> None:
        """Fetch the next page of ``kind`` and show it if nothing is shown yet.

        ``again``: the feed had ended; ask afresh (a new chain) and keep what was not loaded
        yet, e.g. videos that finished processing since, or a catalogue that came round.
        """
        state = self.feeds.get(kind)
        if state is None or state.loading or (state.exhausted and not again):
            return
        state.loading = True
        if not state.items:
            self.video_view.clear("loading…")
        api = self.ss_app.api
        loaded = {i["video"]["id"] for i in state.items}

        def unseen(page: dict) -> list[dict]:
            items = (as_item(i) for i in page.get("items") or [])
            return [i for i in items if i["video"]["id"] not in loaded]

        try:
            page = await self.ss_app.call(
                api.feed(kind, None if again else state.cursor, PAGE_SIZE)
            )
            # a fresh chain may start with what is loaded here already: follow it a little
            for _ in range(3):
                if not again or not isinstance(page, dict) or unseen(page):
                    break
                if not page.get("next_cursor"):
                    break
                page = await self.ss_app.call(api.feed(kind, page["next_cursor"], PAGE_SIZE))
        finally:
            state.loading = False
        if self.feeds.get(kind) is not state:
            return  # the feeds were reset (new user) while this page was on its way
        if not isinstance(page, dict):
            if not state.items:
                self.video_view.clear("could not load the feed: retrying when the server is back")
            return
        new = unseen(page)
        state.items.extend(new)
        if again and not new:
            self._want_next = False
            self.ss_app.toast("You're all caught up")
            return
        state.cursor = page.get("next_cursor")
        state.exhausted = not state.cursor
        state.loaded = True
        for item in new:
            handle = (item["video"].get("author") or {}).get("handle")
            if handle:
                self.ss_app.known_handles.add(handle)
        if kind == self.kind and self._shown_id is None:
            self.show_current()
        elif kind == self.kind and self._want_next and state.index + 1 < len(state.items):
            self._want_next = False
            state.index += 1
            self.show_current()

    def show_current(self) -> None:
        """Show the video at the current index (or an empty-feed message)."""
        self.leave_video()
        item = self.current_item
        info = self.query_one("#info", VideoInfo)
        if item is None:
            self._shown_id = None
            self.query_one("#why", WhyPanel).show(None)
            empty = {
                "following": "Follow people to fill this feed (f on a video, or :follow @name).",
                "trending": "Nothing trending yet.",
            }.get(self.kind, "No videos yet: upload one with u.")
            info.show(None, note=empty if self.state.loaded else "")
            self.video_view.clear("" if self.state.loaded else "loading…")
            return
        video = item["video"]
        self._shown_id = video["id"]
        self.refresh_info()
        self.query_one("#why", WhyPanel).show(item)
        if not self.query_one("#comments").has_class("hidden"):
            self.load_comments()
        self.video_view.clear("loading…")
        self.play(video)
        self.prefetch_next()
        self.load_author(video)
        if not self.static and self.state.index >= len(self.state.items) - 3:
            self.load_more(self.kind)

    def refresh_info(self) -> None:
        video = self.current_video
        if video is None:
            return
        handle = (video.get("author") or {}).get("handle")
        me = (self.ss_app.user or {}).get("handle")
        following = None if handle == me else self.following.get(handle or "")
        self.query_one("#info", VideoInfo).show(video, following=following)

    @work(exclusive=True, group="play", exit_on_error=False)
    async def play(self, video: dict[str, Any]) -> None:
        """Show the poster, fetch the rendition, then play it (unless the viewer moved on)."""
        if video.get("status", "ready") != "ready":
            self.video_view.clear(f"this video is {video.get('status')}")
            return
        media = self.ss_app.media
        poster = await self.ss_app.call(media.poster(video), quiet=True)
        if isinstance(poster, bytes) and poster and self._shown_id == video["id"]:
            image = await asyncio.to_thread(still_image, poster)
            if image is not None and self._shown_id == video["id"]:
                self.video_view.notice = ""
                self.video_view.show_poster(image)
        path = await self.ss_app.call(media.rendition(video))
        if self._shown_id != video["id"] or not self.is_current:
            return
        if path is None or path is True:
            self.video_view.clear("no playable rendition")
            return
        self.video_view.play(path, paused=not self.ss_app.autoplay)  # type: ignore[arg-type]

    @work(exclusive=True, group="prefetch", exit_on_error=False)
    async def prefetch_next(self) -> None:
        """Fetch metadata-ready items' posters and first rendition bytes ahead of the viewer."""
        state = self.state
        for item in state.items[state.index + 1 : state.index + 1 + PREFETCH_AHEAD]:
            await self.ss_app.call(self.ss_app.media.prefetch(item["video"]), quiet=True)

    @work(group="author", exit_on_error=False)
    async def load_author(self, video: dict[str, Any]) -> None:
        """Learn whether we follow the author (for the follow key and label)."""
        handle = (video.get("author") or {}).get("handle")
        if not handle or handle in self.following or self.ss_app.user is None:
            return
        user = await self.ss_app.call(self.ss_app.api.user(handle), quiet=True)
        if isinstance(user, dict):
            self.following[handle] = bool(user.get("is_following"))
            if self._shown_id == video["id"]:
                self.refresh_info()

    def leave_video(self) -> None:
        """Stop playback and report the watch time of the video being left."""
        if not self.is_mounted:
            return
        try:
            view = self.video_view
        except Exception:  # noqa: BLE001 - during teardown the widget may be gone
            return
        playback = view.playback
        watch_ms = view.stop()
        video_id = self._shown_id
        if playback is not None and video_id and watch_ms > 0 and self.ss_app.user is not None:
            self.report_view(video_id, watch_ms)

    async def flush_view(self) -> None:
        """Stop playback and send its watch time now (used when the app quits)."""
        if not self.is_mounted:
            return
        view = self.video_view
        playback, video_id = view.playback, self._shown_id
        watch_ms = view.stop()
        if playback is None or not video_id or watch_ms <= 0 or self.ss_app.user is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ss_app.api.view(video_id, watch_ms), 1.5)

    @work(group="views", exit_on_error=False)
    async def report_view(self, video_id: str, watch_ms: int) -> None:
        """POST the watch time (silently: a lost report is not worth a toast)."""
        await self.ss_app.call(self.ss_app.api.view(video_id, watch_ms), quiet=True)

    # -- navigation -----------------------------------------------------------------------------

    def action_next(self) -> None:
        state = self.state
        if state.index + 1 < len(state.items):
            state.index += 1
            self.show_current()
        elif not state.exhausted:
            self._want_next = True
            self.ss_app.toast("Loading more…")
            self.load_more(self.kind)
        elif not state.loading:  # the end: look again for what is new since
            self._want_next = True
            self.load_more(self.kind, again=True)

    def action_previous(self) -> None:
        self._want_next = False
        state = self.state
        if state.index > 0:
            state.index -= 1
            self.show_current()

    def on_mouse_scroll_down(self, event: MouseScrollDown) -> None:
        if self._wheel_ok():
            self.action_next()

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        if self._wheel_ok():
            self.action_previous()

    def _wheel_ok(self) -> bool:
        now = time.monotonic()
        if now - self._last_wheel < WHEEL_DEBOUNCE_S:
            return False
        self._last_wheel = now
        return True

    def action_feed(self, kind: str) -> None:
        self.switch_feed(kind)

    def action_next_tab(self) -> None:
        if self.static:
            return
        kinds = list(FEED_KINDS)
        self.switch_feed(kinds[(kinds.index(self.kind) + 1) % len(kinds)])

    def switch_feed(self, kind: str) -> None:
        """Show feed ``kind`` (keeps each feed's position)."""
        if self.static or kind not in self.feeds:
            return
        self.query_one(Tabs).active = kind
        self._activate(kind)

    @on(Tabs.TabActivated)
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id:
            self._activate(event.tab.id)

    def _activate(self, kind: str) -> None:
        if kind == self.kind or kind not in self.feeds:
            return
        self.leave_video()
        self.kind = kind
        self._shown_id = None
        if self.state.items:
            self.show_current()
        else:
            self.show_current()
            self.load_more(kind)

    def action_back(self) -> None:
        comments = self.query_one("#comments")
        if not comments.has_class("hidden"):
            self.action_comments()
        elif not self.query_one("#why").has_class("hidden"):
            self.action_why()
        elif self.static:
            self.app.pop_screen()

    # -- playback -------------------------------------------------------------------------------

    def action_pause(self) -> None:
        paused = self.video_view.toggle_pause()
        if paused is not None:
            self.update_status()

    def action_seek(self, direction: int) -> None:
        self.video_view.seek(direction)

    def action_mute(self) -> None:
        playback = self.video_view.playback
        muted = playback.toggle_mute() if playback else True
        self.ss_app.toast(
            "Audio is not played by the terminal client: video is always silent here"
            + ("" if muted else " (unmuted has no effect)")
        )

    def action_loop(self) -> None:
        playback = self.video_view.playback
        if playback is not None:
            playback.loop = not playback.loop
            self.ss_app.toast(f"Loop {'on' if playback.loop else 'off'}")

    def update_status(self) -> None:
        """Refresh the one-line playback status."""
        status = self.query_one("#status", StatusLine)
        video = self.current_video
        if video is None:
            status.status = ""
            return
        playback = self.video_view.playback
        where = f"{self.state.index + 1}/{len(self.state.items)}"
        if not self.state.exhausted:
            where += "+"
        title = self.title_text or FEED_TITLES.get(self.kind, "")
        parts = [f"{title} {where}"]
        if playback is None:
            parts.append("⏳ loading")
        else:
            icon = "⏸ paused" if playback.paused else "▶"
            parts.append(f"{icon} {fmt_time(playback.position)}/{fmt_time(playback.duration)}")
            parts.append("loop" if playback.loop else "once")
            parts.append("muted (no audio in terminal)")
        status.status = "  ·  ".join(parts)

    # -- interactions ---------------------------------------------------------------------------

    def action_like(self) -> None:
        video = self.current_video
        if video is not None:
            self.toggle_like(video)

    @work(group="like", exit_on_error=False)
    async def toggle_like(self, video: dict[str, Any], want: bool | None = None) -> None:
        """Like or unlike; the count comes back from the server."""
        api = self.ss_app.api
        like = (not video.get("liked_by_me")) if want is None else want
        result = await self.ss_app.call(api.like(video["id"]) if like else api.unlike(video["id"]))
        if isinstance(result, dict):
            video["liked_by_me"] = bool(result.get("liked", like))
            video.setdefault("counts", {})["likes"] = result.get("likes", 0)
            if video is self.current_video:
                self.refresh_info()

    def action_follow(self) -> None:
        video = self.current_video
        if video is None:
            return
        handle = (video.get("author") or {}).get("handle")
        if handle == (self.ss_app.user or {}).get("handle"):
            self.ss_app.toast("That's you!")
            return
        self.toggle_follow(handle, not self.following.get(handle, False))

    @work(group="follow", exit_on_error=False)
    async def toggle_follow(self, handle: str, follow: bool) -> None:
        """Follow or unfollow an author."""
        api = self.ss_app.api
        result = await self.ss_app.call(api.follow(handle) if follow else api.unfollow(handle))
        if result is not None:
            self.following[handle] = follow
            self.ss_app.toast(f"{'Following' if follow else 'Unfollowed'} @{handle}")
            self.refresh_info()
            if self.kind != "following" and "following" in self.feeds:
                self.feeds["following"] = FeedState("following")  # refetch when opened

    def action_share(self) -> None:
        video = self.current_video
        if video is not None:
            self.share(video)

    @work(group="share", exit_on_error=False)
    async def share(self, video: dict[str, Any]) -> None:
        """Ask the server for the share link, copy it and show it."""
        result = await self.ss_app.call(self.ss_app.api.share(video["id"]))
        if isinstance(result, dict):
            url = str(result.get("url", ""))
            video.setdefault("counts", {})["shares"] = result.get("shares", 0)
            self.app.copy_to_clipboard(url)
            self.ss_app.toast(url, title="Link copied")
            if video is self.current_video:
                self.refresh_info()

    def action_not_interested(self) -> None:
        video = self.current_video
        if video is not None:
            self.not_interested(video)

    @work(group="not-interested", exit_on_error=False)
    async def not_interested(self, video: dict[str, Any]) -> None:
        """Tell the recommender and move on."""
        if await self.ss_app.call(self.ss_app.api.not_interested(video["id"])) is None:
            return
        self.ss_app.toast("Got it: you'll see fewer videos like this")
        if self._drop(video) and not self.state.items and not self.state.exhausted:
            self.load_more(self.kind)

    def action_why(self) -> None:
        why = self.query_one("#why", WhyPanel)
        why.toggle_class("hidden")
        if not why.has_class("hidden"):
            self.query_one("#comments").add_class("hidden")
            self.query_one("#info-box").remove_class("hidden")
            why.show(self.current_item)

    def action_author(self) -> None:
        video = self.current_video
        if video is not None:
            self.ss_app.open_profile((video.get("author") or {}).get("handle"))

    def action_comments(self) -> None:
        panel = self.query_one("#comments", CommentsPanel)
        panel.toggle_class("hidden")
        opened = not panel.has_class("hidden")
        self.query_one("#info-box").set_class(opened, "hidden")
        if opened:
            self.query_one("#why").add_class("hidden")
            self.load_comments()
            panel.query_one("#comments-input").focus()
        else:
            self.video_view.focus()

    @work(exclusive=True, group="comments", exit_on_error=False)
    async def load_comments(self) -> None:
        """Fetch the comments of the current video into the panel."""
        video = self.current_video
        panel = self.query_one("#comments", CommentsPanel)
        if video is None:
            return
        panel.set_loading()
        thread = await self.ss_app.call(self.ss_app.api.thread(video["id"]))
        if isinstance(thread, list) and video is self.current_video:
            panel.set_comments(thread)

    @on(CommentsPanel.Post)
    def _post_from_panel(self, message: CommentsPanel.Post) -> None:
        video = self.current_video
        if video is not None:
            self.post_comment(video, message.body, message.parent_id)

    @on(CommentsPanel.Delete)
    def _delete_from_panel(self, message: CommentsPanel.Delete) -> None:
        video = self.current_video
        if video is not None:
            self.delete_comment(video, message.comment)

    @work(group="delete-comment", exit_on_error=False)
    async def delete_comment(self, video: dict[str, Any], comment: dict[str, Any]) -> None:
        """Delete a comment (author, video owner or admin), then reload the thread."""
        if await self.ss_app.call(self.ss_app.api.delete_comment(comment["id"])) is None:
            return
        self.ss_app.toast("Comment deleted")
        fresh = await self.ss_app.call(self.ss_app.api.video(video["id"]), quiet=True)
        if isinstance(fresh, dict):
            video["counts"] = fresh.get("counts") or video.get("counts") or {}
        if video is self.current_video:
            self.refresh_info()
            self.load_comments()

    @work(group="post-comment", exit_on_error=False)
    async def post_comment(self, video: dict[str, Any], body: str, parent_id: str | None) -> None:
        """Post a comment or reply, then refresh the panel and the count."""
        result = await self.ss_app.call(self.ss_app.api.post_comment(video["id"], body, parent_id))
        if not isinstance(result, dict):
            return
        self.ss_app.toast("Reply posted" if parent_id else "Comment posted")
        fresh = await self.ss_app.call(self.ss_app.api.video(video["id"]), quiet=True)
        if isinstance(fresh, dict):
            video["counts"] = fresh.get("counts") or video.get("counts") or {}
        if video is self.current_video:
            self.refresh_info()
            if not self.query_one("#comments").has_class("hidden"):
                self.load_comments()

    # -- command bar and server events ----------------------------------------------------------

    def handle_command(self, command: Command) -> bool:
        """Run a command-bar command that concerns the current video; False if not ours."""
        name, args = command.name, command.args
        video = self.current_video
        simple = {
            "next": self.action_next,
            "prev": self.action_previous,
            "pause": self.action_pause,
            "mute": self.action_mute,
            "loop": self.action_loop,
            "author": self.action_author,
            "why": self.action_why,
            "comments": self.action_comments,
            "share": self.action_share,
            "not-interested": self.action_not_interested,
        }
        if name == "feed" and not self.static:
            self.switch_feed(args["kind"])
            return True
        if video is None:
            return False
        if name in simple:
            simple[name]()
        elif name in ("like", "unlike"):
            self.toggle_like(video, name == "like")
        elif name == "comment":
            self.post_comment(video, args["body"], None)
        elif name == "reply":
            self.reply(video, args["number"], args["body"])
        elif name in ("follow", "unfollow") and not args.get("handle"):
            handle = (video.get("author") or {}).get("handle")
            self.toggle_follow(handle, name == "follow")
        elif name == "delete":
            self.delete_video(video)
        else:
            return False
        return True

    @work(group="reply", exit_on_error=False)
    async def reply(self, video: dict[str, Any], number: int, body: str) -> None:
        """Reply to comment ``number`` as numbered in the comments panel."""
        panel = self.query_one("#comments", CommentsPanel)
        if not panel.numbered:
            thread = await self.ss_app.call(self.ss_app.api.thread(video["id"]))
            if isinstance(thread, list):
                panel.set_comments(thread)
        target = panel.comment_number(number)
        if target is None:
            self.ss_app.toast(
                f"There is no comment #{number} (open comments with c)", severity="warning"
            )
            return
        self.post_comment(video, body, target.get("id"))

    def _drop(self, video: dict[str, Any]) -> bool:
        """Take the video off this feed if it is the one on screen; True when it was."""
        state = self.state
        if video is not self.current_video:
            return False
        self.leave_video()
        del state.items[state.index]
        state.index = min(state.index, max(0, len(state.items) - 1))
        self._shown_id = None
        self.show_current()
        return True

    @work(group="delete", exit_on_error=False)
    async def delete_video(self, video: dict[str, Any]) -> None:
        """Delete the current video (the server allows owners and admins)."""
        if await self.ss_app.call(self.ss_app.api.delete_video(video["id"])) is None:
            return
        self.ss_app.toast("Video deleted")
        self._drop(video)

    def on_shortstack_app_event_received(self, message: Any) -> None:
        event = message.event
        if event.event != "counts" or not isinstance(event.data, dict):
            return
        data = event.data
        video_id = data.get("video_id") or data.get("id")
        counts = data.get("counts") if isinstance(data.get("counts"), dict) else data
        for state in self.feeds.values():
            for item in state.items:
                if item["video"]["id"] == video_id:
                    target = item["video"].setdefault("counts", {})
                    for key in ("likes", "comments", "shares", "views"):
                        if key in counts:
                            target[key] = counts[key]
        current = self.current_video
        if current is not None and current["id"] == video_id:
            self.refresh_info()
