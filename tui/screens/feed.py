"""The feed: one video at a time (For You / Following / Trending, or a given list).

The screen keeps the feeds (pages, position) and the key bindings; its regions do the rest:
playback (``widgets/feed/player.py``), the interactions (``widgets/feed/interactions.py``)
and the comments (``widgets/feed/comments.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import MouseScrollDown, MouseScrollUp
from textual.widgets import Footer, Tab, Tabs

from shortstack.tui.api import FEED_KINDS
from shortstack.tui.commands import Command
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.caption_line import CaptionLine, caption_prefs, pick_track
from shortstack.tui.widgets.feed.comments import VideoComments
from shortstack.tui.widgets.feed.interactions import InteractionPanel
from shortstack.tui.widgets.feed.player import FeedPlayer
from shortstack.tui.widgets.status_line import StatusLine

FEED_TITLES = {"for-you": "For You", "following": "Following", "trending": "Trending"}
PAGE_SIZE = 10
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
        Binding(
            "x",
            "hide_creator",
            "Hide creator",
            show=False,
            id="feed.hide_creator",
            tooltip="Hide this creator from your feeds (mutes them)",
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
        Binding("m", "mute", "Mute", id="feed.mute", tooltip="Sound off or on"),
        Binding(
            "plus,equals_sign",
            "volume(1)",
            "Vol+",
            show=False,
            id="feed.volume_up",
            tooltip="Louder",
        ),
        Binding(
            "minus", "volume(-1)", "Vol-", show=False, id="feed.volume_down", tooltip="Quieter"
        ),
        Binding("r", "loop", "Loop", show=False, id="feed.loop", tooltip="Loop on or off"),
        Binding(
            "C",
            "captions",
            "Captions",
            show=False,
            id="feed.captions",
            tooltip="Captions on or off (:captions LANG chooses the language)",
        ),
        Binding(
            "v",
            "reveal",
            "Show",
            show=False,
            id="feed.reveal",
            tooltip="Show the sensitive video behind the notice",
        ),
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
            with Vertical(id="picture"):
                yield FeedPlayer(id="video")
                yield CaptionLine(id="caption-line")
            with Vertical(id="side"):
                yield InteractionPanel(id="info-box")
                yield VideoComments(id="comments", classes="hidden")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    @property
    def player(self) -> FeedPlayer:
        return self.query_one(FeedPlayer)

    @property
    def caption_line(self) -> CaptionLine:
        return self.query_one(CaptionLine)

    @property
    def interactions(self) -> InteractionPanel:
        return self.query_one(InteractionPanel)

    @property
    def comments(self) -> VideoComments:
        return self.query_one(VideoComments)

    def on_mount(self) -> None:
        self.player.can_focus = True
        self.player.focus()
        self.ss_app.subscribe(self)
        self.set_interval(0.5, self.update_status)
        self.set_interval(0.1, self.update_caption)
        self.caption_line.set_enabled(caption_prefs(self.app).on)
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
        playback = self.player.playback
        self._resume_playing = playback is not None and not playback.paused
        if playback is not None:
            playback.set_paused(True)

    def on_screen_resume(self) -> None:
        if self.comments.is_open:
            self.query_one("#comments-input").focus()
        else:
            self.player.focus()
        playback = self.player.playback
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
        self.interactions.reset()
        self.load_more(self.kind)

    def _connection_changed(self, value: str) -> None:
        state = self.state
        if value == "online" and not state.loaded and not self.static:
            self.load_more(self.kind)

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
            self.player.clear("loading…")
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
                self.player.clear("could not load the feed: retrying when the server is back")
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
        self.comments.video = None if item is None else item["video"]
        if item is None:
            self._shown_id = None
            empty = {
                "following": "Follow people to fill this feed (f on a video, or :follow @name).",
                "trending": "Nothing trending yet.",
            }.get(self.kind, "No videos yet: upload one with u.")
            self.interactions.show(None, note=empty if self.state.loaded else "")
            self.player.clear("" if self.state.loaded else "loading…")
            return
        video = item["video"]
        self._shown_id = video["id"]
        self.interactions.show(item)
        if self.comments.is_open:
            self.comments.load()
        self.player.show(video)
        self.load_captions(video)
        state = self.state
        self.player.prefetch(state.items[state.index + 1 :])
        if not self.static and state.index >= len(state.items) - 3:
            self.load_more(self.kind)

    def leave_video(self) -> None:
        """Stop playback and report the watch time of the video being left."""
        if not self.is_mounted:
            return
        try:
            player = self.player
        except Exception:  # noqa: BLE001 - during teardown the widget may be gone
            return
        player.leave()

    async def flush_view(self) -> None:
        """Stop playback and send its watch time now (used when the app quits)."""
        if self.is_mounted:
            await self.player.flush()

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
        if self.comments.is_open:
            self.action_comments()
        elif self.interactions.why_shown:
            self.action_why()
        elif self.static:
            self.app.pop_screen()

    # -- playback -------------------------------------------------------------------------------

    def action_pause(self) -> None:
        if self.player.toggle_pause() is not None:
            self.update_status()

    def action_seek(self, direction: int) -> None:
        self.player.seek(direction)

    def action_reveal(self) -> None:
        if not self.player.reveal():
            self.ss_app.toast("Nothing is hidden here: this video is not behind a notice")

    def action_mute(self) -> None:
        muted = self.ss_app.sound.toggle_mute()
        self.ss_app.save_settings()
        self.flash_sound("🔇 muted" if muted else None)

    def action_volume(self, direction: int) -> None:
        self.ss_app.sound.step_volume(direction)
        self.ss_app.save_settings()
        self.flash_sound()

    def set_volume(self, percent: int) -> None:
        """``:volume N``: the volume in percent (unmutes)."""
        self.ss_app.sound.set_volume(percent / 100)
        self.ss_app.save_settings()
        self.flash_sound()

    def flash_sound(self, text: str | None = None) -> None:
        """Show the volume (or ``text``) in the status line for a moment."""
        sound = self.ss_app.sound
        if text is None:
            steps = round(sound.volume * 10)
            text = f"🔊 volume {'▮' * steps}{'▯' * (10 - steps)} {round(sound.volume * 100)}%"
        if not sound.available:
            text += f"  (no sound: {sound.reason})"
        self.query_one("#status", StatusLine).flash(text)
        self.update_status()

    def action_loop(self) -> None:
        self.player.toggle_loop()

    # -- captions -------------------------------------------------------------------------------

    @work(exclusive=True, group="captions", exit_on_error=False)
    async def load_captions(self, video: dict[str, Any]) -> None:
        """Fetch the video's captions in the chosen language (nothing when it has none)."""
        line = self.caption_line
        line.clear_track()
        prefs = caption_prefs(self.app)
        if not prefs.on or video.get("status", "ready") != "ready":
            return
        api = self.ss_app.api
        tracks = await self.ss_app.call(api.caption_tracks(video["id"]), quiet=True)
        if not isinstance(tracks, list) or self._shown_id != video["id"]:
            return
        track = pick_track(tracks, prefs.lang)
        if track is None:
            return
        vtt = await self.ss_app.call(api.caption_vtt(video["id"], track["lang"]), quiet=True)
        if isinstance(vtt, str) and self._shown_id == video["id"]:
            line.set_track(video["id"], vtt, track["lang"], track["kind"])
            self.update_caption()

    def update_caption(self) -> None:
        """Show the cue at the playback position under the picture."""
        playback = self.player.playback
        self.caption_line.at(None if playback is None else playback.position)

    def set_captions(self, on: bool, lang: str | None = None) -> None:
        """Captions on or off (and in which language), then reload the current video's."""
        prefs = caption_prefs(self.app)
        prefs.on = on
        if lang:
            prefs.lang = lang
        self.caption_line.set_enabled(on)
        self.ss_app.save_settings()
        word = f"on ({prefs.lang})" if on else "off"
        self.ss_app.toast(f"Captions {word}")
        video = self.current_video
        if video is not None and on:
            self.load_captions(video)

    def action_captions(self) -> None:
        self.set_captions(not caption_prefs(self.app).on)

    def update_status(self) -> None:
        """Refresh the one-line status: the feed, the position in it, the playback."""
        status = self.query_one("#status", StatusLine)
        if self.current_video is None:
            status.status = ""
            return
        where = f"{self.state.index + 1}/{len(self.state.items)}"
        if not self.state.exhausted:
            where += "+"
        title = self.title_text or FEED_TITLES.get(self.kind, "")
        status.status = f"{title} {where}  ·  {self.player.status()}"

    # -- interactions ---------------------------------------------------------------------------

    def _on_current(self, act: Callable[[dict], object]) -> None:
        """Run an interaction on the video showing (nothing when the feed is empty)."""
        if self.current_video is not None:
            act(self.current_video)

    def action_like(self) -> None:
        self._on_current(self.interactions.toggle_like)

    def action_follow(self) -> None:
        self._on_current(self.interactions.follow_author)

    def action_share(self) -> None:
        self._on_current(self.interactions.share)

    def action_not_interested(self) -> None:
        self._on_current(self.interactions.not_interested)

    def action_hide_creator(self) -> None:
        self._on_current(self.interactions.hide_creator)

    def action_author(self) -> None:
        video = self.current_video
        if video is not None:
            self.ss_app.open_profile((video.get("author") or {}).get("handle"))

    def action_why(self) -> None:
        if self.interactions.toggle_why():
            self.comments.close()
            self.interactions.remove_class("hidden")

    @on(InteractionPanel.Dropped)
    def _dropped(self, message: InteractionPanel.Dropped) -> None:
        refill = message.refill and self._drop(message.video)
        if refill and not self.state.items and not self.state.exhausted:
            self.load_more(self.kind)

    @on(InteractionPanel.FollowChanged)
    def _follow_changed(self, message: InteractionPanel.FollowChanged) -> None:
        if self.kind != "following" and "following" in self.feeds:
            self.feeds["following"] = FeedState("following")  # refetch when opened

    @on(InteractionPanel.CreatorHidden)
    def _creator_hidden(self, message: InteractionPanel.CreatorHidden) -> None:
        """Take every video of the hidden creator off every loaded feed."""

        def by_them(item: dict[str, Any]) -> bool:
            return (item["video"].get("author") or {}).get("handle") == message.handle

        current = self.current_video
        if current is not None and (current.get("author") or {}).get("handle") == message.handle:
            self.leave_video()
            self._shown_id = None
        for state in self.feeds.values():
            before = state.items[: state.index]
            state.index = max(0, state.index - sum(1 for i in before if by_them(i)))
            state.items = [i for i in state.items if not by_them(i)]
            state.index = min(state.index, max(0, len(state.items) - 1))
        self.show_current()
        if not self.state.items and not self.state.exhausted:
            self.load_more(self.kind)

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

    # -- comments -------------------------------------------------------------------------------

    def action_comments(self) -> None:
        if self.comments.is_open:
            self.comments.close()
            self.interactions.remove_class("hidden")
            self.player.focus()
        else:
            self.interactions.add_class("hidden")
            self.interactions.hide_why()
            self.comments.open()

    @on(VideoComments.CountsChanged)
    def _counts_changed(self, message: VideoComments.CountsChanged) -> None:
        self.interactions.refresh_if_shown(message.video)

    # -- command bar and server events ----------------------------------------------------------

    def handle_command(self, command: Command) -> bool:
        """Run a command-bar command that concerns the current video; False if not ours."""
        name, args = command.name, command.args
        video = self.current_video
        simple = {
            "next": self.action_next,
            "prev": self.action_previous,
            "pause": self.action_pause,
            "loop": self.action_loop,
            "author": self.action_author,
            "why": self.action_why,
            "comments": self.action_comments,
            "share": self.action_share,
            "not-interested": self.action_not_interested,
            "hide-creator": self.action_hide_creator,
            "show": self.action_reveal,
        }
        if name == "feed" and not self.static:
            self.switch_feed(args["kind"])
            return True
        if name == "captions":
            self.set_captions(args["on"], args.get("lang"))
            return True
        if name == "mute":
            self.action_mute()
            return True
        if name == "volume":
            self.set_volume(args["percent"])
            return True
        if video is None:
            return False
        if name in simple:
            simple[name]()
        elif name in ("like", "unlike"):
            self.interactions.toggle_like(video, name == "like")
        elif name == "comment":
            self.comments.post_comment(video, args["body"], None)
        elif name == "reply":
            self.comments.reply(video, args["number"], args["body"])
        elif name in ("follow", "unfollow") and not args.get("handle"):
            self.interactions.follow_author(video, name == "follow")
        elif name == "delete":
            self.interactions.delete_video(video)
        elif name in ("mark-sensitive", "unmark-sensitive"):
            self.interactions.mark_sensitive(video, name == "mark-sensitive")
        else:
            return False
        return True

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
            self.interactions.refresh_info()
