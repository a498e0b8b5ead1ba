"""The feed's comments region: the thread of the video on screen, posting, replying, deleting."""

from __future__ import annotations

from typing import Any, cast

from textual import on, work
from textual.message import Message
from textual.widgets import Input

from shortstack.tui.client_app import ClientApp
from shortstack.tui.widgets.comments_panel import CommentsPanel


class VideoComments(CommentsPanel):
    """The comments panel of one video, loaded from and posted to the server.

    The screen says which video is on screen (``video``) and when the panel opens (``load``);
    after a post or a delete it sends ``CountsChanged`` so the screen redraws the counts.
    """

    class CountsChanged(Message):
        """``video``'s counts were refreshed from the server (a comment came or went)."""

        def __init__(self, video: dict[str, Any]) -> None:
            super().__init__()
            self.video = video

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.video: dict[str, Any] | None = None  # the video on screen

    @property
    def _app(self) -> ClientApp:
        return cast(ClientApp, self.app)

    @property
    def is_open(self) -> bool:
        return not self.has_class("hidden")

    def open(self) -> None:
        """Show the panel, load the thread and put the cursor in the comment box."""
        self.remove_class("hidden")
        self.load()
        self.query_one("#comments-input", Input).focus()

    def close(self) -> None:
        self.add_class("hidden")

    @work(exclusive=True, group="comments", exit_on_error=False)
    async def load(self) -> None:
        """Fetch the comments of the video on screen."""
        video = self.video
        if video is None:
            return
        self.set_loading()
        thread = await self._app.call(self._app.api.thread(video["id"]))
        if isinstance(thread, list) and video is self.video:
            self.set_comments(thread)

    @on(CommentsPanel.Post)
    def _post(self, message: CommentsPanel.Post) -> None:
        message.stop()
        if self.video is not None:
            self.post_comment(self.video, message.body, message.parent_id)

    @on(CommentsPanel.Delete)
    def _delete(self, message: CommentsPanel.Delete) -> None:
        message.stop()
        if self.video is not None:
            self.delete_comment(self.video, message.comment)

    @work(group="post-comment", exit_on_error=False)
    async def post_comment(self, video: dict[str, Any], body: str, parent_id: str | None) -> None:
        """Post a comment or reply, then refresh the thread and the counts."""
        app = self._app
        result = await app.call(app.api.post_comment(video["id"], body, parent_id))
        if not isinstance(result, dict):
            return
        app.toast("Reply posted" if parent_id else "Comment posted")
        await self._refresh_counts(video)
        if video is self.video and self.is_open:
            self.load()

    @work(group="delete-comment", exit_on_error=False)
    async def delete_comment(self, video: dict[str, Any], comment: dict[str, Any]) -> None:
        """Delete a comment (author, video owner or admin), then reload the thread."""
        app = self._app
        if await app.call(app.api.delete_comment(comment["id"])) is None:
            return
        app.toast("Comment deleted")
        await self._refresh_counts(video)
        if video is self.video:
            self.load()

    async def _refresh_counts(self, video: dict[str, Any]) -> None:
        fresh = await self._app.call(self._app.api.video(video["id"]), quiet=True)
        if isinstance(fresh, dict):
            video["counts"] = fresh.get("counts") or video.get("counts") or {}
        self.post_message(self.CountsChanged(video))

    @work(group="reply", exit_on_error=False)
    async def reply(self, video: dict[str, Any], number: int, body: str) -> None:
        """Reply to comment ``number`` as numbered in the panel (loading the thread if need be)."""
        if not self.numbered:
            thread = await self._app.call(self._app.api.thread(video["id"]))
            if isinstance(thread, list):
                self.set_comments(thread)
        target = self.comment_number(number)
        if target is None:
            self._app.toast(
                f"There is no comment #{number} (open comments with c)", severity="warning"
            )
            return
        self.post_comment(video, body, target.get("id"))
