"""The feed's interaction region: the video's info and counts, why it was picked, and the
like, follow, share, not-interested, hide-creator and delete calls that change them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message

from shortstack.tui.client_app import ClientApp
from shortstack.tui.widgets.video_info import VideoInfo
from shortstack.tui.widgets.why_panel import WhyPanel


class InteractionPanel(VerticalScroll):
    """Info, counts and the "why" of the feed item shown; acts on it through the server.

    The screen hands it the item on screen (``show``); it tells the screen when the video
    should leave the feed (``Dropped``) or the viewer followed someone (``FollowChanged``).
    """

    class Dropped(Message):
        """``video`` should leave the feed (not interested, or deleted)."""

        def __init__(self, video: dict[str, Any], *, refill: bool) -> None:
            super().__init__()
            self.video = video
            self.refill = refill  # load more when this empties the feed

    class FollowChanged(Message):
        """The viewer followed or unfollowed ``handle``."""

        def __init__(self, handle: str, following: bool) -> None:
            super().__init__()
            self.handle = handle
            self.following = following

    class CreatorHidden(Message):
        """The viewer hid ``handle`` (muted them): their videos should leave every feed."""

        def __init__(self, handle: str) -> None:
            super().__init__()
            self.handle = handle

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.item: dict[str, Any] | None = None
        self.following: dict[str, bool] = {}  # handle -> whether the viewer follows them

    def compose(self) -> ComposeResult:
        yield VideoInfo(id="info")
        yield WhyPanel(id="why", classes="hidden")

    @property
    def _app(self) -> ClientApp:
        return cast(ClientApp, self.app)

    @property
    def video(self) -> dict[str, Any] | None:
        """The video shown, or None."""
        return None if self.item is None else self.item["video"]

    # -- what is shown ---------------------------------------------------------------------------

    def show(self, item: dict[str, Any] | None, *, note: str = "") -> None:
        """Show the feed ``item`` (None: just ``note``) and learn whether we follow its author."""
        self.item = item
        self.query_one(WhyPanel).show(item)
        if item is None:
            self.query_one(VideoInfo).show(None, note=note)
            return
        self.refresh_info()
        self.load_author(item["video"])

    def refresh_info(self) -> None:
        """Redraw the info of the video shown (counts, liked, following)."""
        video = self.video
        if video is None:
            return
        handle = (video.get("author") or {}).get("handle")
        me = (self._app.user or {}).get("handle")
        following = None if handle == me else self.following.get(handle or "")
        self.query_one(VideoInfo).show(video, following=following)

    def refresh_if_shown(self, video: dict[str, Any]) -> None:
        """Redraw when ``video`` is the one shown (after a call that changed it returned)."""
        if video is self.video:
            self.refresh_info()

    def reset(self) -> None:
        """Forget who the viewer follows (another user signed in)."""
        self.following.clear()

    def toggle_why(self) -> bool:
        """Show or hide why this video was picked; True when it is shown now."""
        why = self.query_one(WhyPanel)
        why.toggle_class("hidden")
        shown = not why.has_class("hidden")
        if shown:
            why.show(self.item)
        return shown

    @property
    def why_shown(self) -> bool:
        return not self.query_one(WhyPanel).has_class("hidden")

    def hide_why(self) -> None:
        self.query_one(WhyPanel).add_class("hidden")

    @work(group="author", exit_on_error=False)
    async def load_author(self, video: dict[str, Any]) -> None:
        """Learn whether we follow the author (for the follow key and label)."""
        app = self._app
        handle = (video.get("author") or {}).get("handle")
        if not handle or handle in self.following or app.user is None:
            return
        user = await app.call(app.api.user(handle), quiet=True)
        if isinstance(user, dict):
            self.following[handle] = bool(user.get("is_following"))
            if video is self.video:
                self.refresh_info()

    # -- interactions ------------------------------------------------------------------------------

    @work(group="like", exit_on_error=False)
    async def toggle_like(self, video: dict[str, Any], want: bool | None = None) -> None:
        """Like or unlike (``want``: which; None toggles); the count comes back from the server."""
        api = self._app.api
        like = (not video.get("liked_by_me")) if want is None else want
        result = await self._app.call(api.like(video["id"]) if like else api.unlike(video["id"]))
        if isinstance(result, dict):
            video["liked_by_me"] = bool(result.get("liked", like))
            video.setdefault("counts", {})["likes"] = result.get("likes", 0)
            self.refresh_if_shown(video)

    def follow_author(self, video: dict[str, Any], want: bool | None = None) -> None:
        """Follow or unfollow the author of ``video`` (``want``: which; None toggles)."""
        handle = (video.get("author") or {}).get("handle")
        if handle == (self._app.user or {}).get("handle"):
            self._app.toast("That's you!")
            return
        self.toggle_follow(handle, not self.following.get(handle, False) if want is None else want)

    @work(group="follow", exit_on_error=False)
    async def toggle_follow(self, handle: str, follow: bool) -> None:
        """Follow or unfollow an author."""
        app = self._app
        result = await app.call(app.api.follow(handle) if follow else app.api.unfollow(handle))
        if result is not None:
            self.following[handle] = follow
            app.toast(f"{'Following' if follow else 'Unfollowed'} @{handle}")
            self.refresh_info()
            self.post_message(self.FollowChanged(handle, follow))

    @work(group="share", exit_on_error=False)
    async def share(self, video: dict[str, Any]) -> None:
        """Ask the server for the share link, copy it and show it."""
        app = self._app
        result = await app.call(app.api.share(video["id"]))
        if isinstance(result, dict):
            url = str(result.get("url", ""))
            video.setdefault("counts", {})["shares"] = result.get("shares", 0)
            self.app.copy_to_clipboard(url)
            app.toast(url, title="Link copied")
            self.refresh_if_shown(video)

    @work(group="not-interested", exit_on_error=False)
    async def not_interested(self, video: dict[str, Any]) -> None:
        """Tell the recommender, and have the screen move on."""
        call = self._app.api.not_interested(video["id"])
        await self._drop_after(call, video, "Got it: you'll see fewer videos like this", True)

    @work(group="hide-creator", exit_on_error=False)
    async def hide_creator(self, video: dict[str, Any]) -> None:
        """Hide the video's creator from the feeds (the server mutes them); the screen takes
        their videos off at once, and the next page from the server leaves them out."""
        app = self._app
        handle = (video.get("author") or {}).get("handle")
        if not handle or handle == (app.user or {}).get("handle"):
            app.toast("That's you!")
            return
        if await app.call(app.api.hide_creator(video["id"])) is None:
            return
        app.toast(f"@{handle} hidden: their videos leave your feeds (undo: shortstack mute --undo)")
        self.post_message(self.CreatorHidden(handle))

    @work(group="sensitive", exit_on_error=False)
    async def mark_sensitive(self, video: dict[str, Any], on: bool) -> None:
        """Mark the video sensitive or clear the mark (the server allows its uploader and
        admins); the info shows the new state."""
        result = await self._app.call(self._app.api.set_sensitive(video["id"], on))
        if isinstance(result, dict):
            video["sensitive"] = bool(result.get("sensitive"))
            self._app.toast("Marked sensitive" if video["sensitive"] else "Sensitive mark cleared")
            self.refresh_if_shown(video)

    @work(group="delete", exit_on_error=False)
    async def delete_video(self, video: dict[str, Any]) -> None:
        """Delete the video (the server allows owners and admins)."""
        await self._drop_after(self._app.api.delete_video(video["id"]), video, "Video deleted")

    async def _drop_after(
        self, call: Awaitable[Any], video: dict[str, Any], said: str, refill: bool = False
    ) -> None:
        """Once ``call`` succeeded: say ``said`` and have the screen take ``video`` off."""
        if await self._app.call(call) is None:
            return
        self._app.toast(said)
        self.post_message(self.Dropped(video, refill=refill))
