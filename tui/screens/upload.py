"""Upload a video: file path and caption, a bar for the bytes sent and one following the transcode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.suggester import Suggester
from textual.widgets import Button, Footer, Input, Label, ProgressBar, Static

from shortstack.tui.commands import suggest
from shortstack.tui.plain_text import clean
from shortstack.tui.screens.base import BaseScreen
from shortstack.tui.widgets.edit_form import EditForm
from shortstack.tui.widgets.status_line import StatusLine

POLL_S = 2.0


class PathSuggester(Suggester):
    """Completes file paths (``~`` allowed)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        line = suggest("upload " + value)
        return line[len("upload ") :] if line else None


class UploadScreen(BaseScreen):
    """Pick a file, add a caption, upload, and watch the server transcode it."""

    BINDINGS = [Binding("escape", "back", "Back", id="upload.back", tooltip="Back to the feed")]

    def __init__(self) -> None:
        super().__init__()
        self.video_id: str | None = None
        self.finished = asyncio.Event()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="upload-box"):
            yield Label(Text("Upload a video", style="bold"))
            yield Input(
                placeholder="path to a video file, e.g. ~/clip.mp4",
                suggester=PathSuggester(),
                id="upload-path",
            )
            yield Input(placeholder="caption with #hashtags", id="upload-caption", max_length=2000)
            yield EditForm(id="upload-edit")
            yield Button("Upload", variant="primary", id="upload-start")
            yield Label("Sending")
            yield ProgressBar(total=100, show_eta=False, id="upload-send")
            yield Label("Transcoding on the server")
            yield ProgressBar(total=100, show_eta=False, id="upload-transcode")
            yield Static("", id="upload-status")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.ss_app.subscribe(self)
        self.query_one("#upload-path", Input).focus()

    def on_unmount(self) -> None:
        self.ss_app.unsubscribe(self)

    def action_back(self) -> None:
        self.app.call_later(self.app.switch_mode, "feed")

    def fill(self, path: str | None, caption: str | None, *, start: bool = False) -> None:
        """Pre-fill the fields (from `:upload PATH "caption"`), optionally starting at once."""
        if path:
            self.query_one("#upload-path", Input).value = path
        if caption:
            self.query_one("#upload-caption", Input).value = caption
        if start and path:
            self.start_upload()

    def _status(self, message: str, style: str = "") -> None:
        status = self.query_one("#upload-status", Static)
        status.update(Text(clean(message), style=style))
        # it sits below the form, out of sight in a short terminal: bring it into view
        status.scroll_visible(animate=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "upload-path":
            self._set_source()
            self.query_one("#upload-caption", Input).focus()
        elif event.input.id == "upload-caption":
            self.start_upload()

    @on(Input.Changed, "#upload-path")
    def _path_changed(self) -> None:
        self._set_source()

    def _set_source(self) -> None:
        raw = self.query_one("#upload-path", Input).value.strip()
        path = Path(raw).expanduser() if raw else None
        self.query_one(EditForm).set_source(path if path is not None and path.is_file() else None)

    @on(Button.Pressed, "#upload-start")
    def _pressed(self) -> None:
        self.start_upload()

    @work(exclusive=True, group="upload", exit_on_error=False)
    async def start_upload(self) -> None:
        """Send the file, then follow the transcode via events (polling as a fallback)."""
        raw = self.query_one("#upload-path", Input).value.strip()
        caption = self.query_one("#upload-caption", Input).value.strip()
        path = Path(raw).expanduser()
        if not raw or not path.is_file():
            self._status(f"No such file: {raw or '(empty)'}", "bold red")
            return
        send = self.query_one("#upload-send", ProgressBar)
        transcode = self.query_one("#upload-transcode", ProgressBar)
        send.update(progress=0)
        transcode.update(progress=0)
        self.video_id = None
        self.finished.clear()
        self._status(f"Uploading {path.name}…")

        def sent(done: int, total: int) -> None:
            send.update(progress=100 * done / max(total, 1))

        try:
            edit = self.query_one(EditForm).recipe
        except ValueError as exc:
            self._status(f"Edit: {exc}", "bold red")
            return
        video = await self.ss_app.call(self.ss_app.api.upload(path, caption, sent, edit=edit))
        if not isinstance(video, dict):
            self._status("Upload failed (see the message above).", "bold red")
            return
        send.update(progress=100)
        self.video_id = str(video["id"])
        self._status("Uploaded: the server is transcoding…")
        self.apply_state(video)
        while not self.finished.is_set():
            try:
                await asyncio.wait_for(self.finished.wait(), POLL_S)
            except TimeoutError:
                latest = await self.ss_app.call(self.ss_app.api.video(self.video_id), quiet=True)
                if isinstance(latest, dict):
                    self.apply_state(latest)

    def apply_state(self, video: dict[str, Any]) -> None:
        """Show a video's status/progress (from the upload answer, an event or a poll)."""
        status = video.get("status")
        progress = video.get("progress")
        bar = self.query_one("#upload-transcode", ProgressBar)
        if isinstance(progress, int | float):
            bar.update(progress=100 * float(progress))
        if status == "ready":
            bar.update(progress=100)
            self._status("Ready! It is on your profile (p) and in feeds.", "bold green")
            if not self.finished.is_set():
                self.ss_app.toast("Your video is ready")
            self.finished.set()
        elif status == "failed":
            self._status(f"Transcoding failed: {video.get('error') or 'unknown error'}", "bold red")
            if not self.finished.is_set():
                self.ss_app.toast("Your upload could not be processed", severity="error")
            self.finished.set()

    def on_shortstack_app_event_received(self, message: Any) -> None:
        event = message.event
        data = event.data if isinstance(event.data, dict) else {}
        video = data.get("video") if isinstance(data.get("video"), dict) else data
        video_id = video.get("id") or data.get("video_id")
        if self.video_id is None or str(video_id) != self.video_id:
            return
        if event.event == "video.progress":
            self.apply_state(
                {"status": "processing", "progress": video.get("progress", data.get("progress"))}
            )
        elif event.event == "video.ready":
            self.apply_state({**video, "status": "ready"})
        elif event.event == "video.failed":
            self.apply_state(
                {**video, "status": "failed", "error": video.get("error") or data.get("error")}
            )
