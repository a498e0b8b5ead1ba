"""Trim, look and text inputs for an upload, with a live still preview the server renders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from shortstack.tui.plain_text import clean
from shortstack.tui.widgets.video_view import VideoView

DEBOUNCE_S = 0.4
NO_LOOKS_PROMPT = "look: none (the server lists no looks)"

PreviewFetch = Callable[[Path, dict[str, Any] | None], Awaitable[bytes | None]]


def _decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels of a JPEG (PyAV's decoder; run it in a thread)."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def _seconds(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a number of seconds: {raw!r}") from None
    if value < 0:
        raise ValueError("seconds cannot be negative")
    return value


class EditForm(Vertical):
    """Edit an upload before posting: trim (start/end seconds), a look and burned-in text.

    ``set_source(path)`` picks the clip; every change re-renders the preview (debounced) through
    ``fetch(path, recipe) -> JPEG bytes`` (default: the app's ``api.edit_preview`` via
    ``app.call``). ``recipe`` is the edit recipe for ``ApiClient.upload(..., edit=...)``, or
    None when nothing is edited; a ``EditForm.Changed`` message follows every change. The
    looks come from the server (``GET /api/edit/options``); without them the form works on,
    with no look to pick.
    """

    DEFAULT_CSS = """
    EditForm { height: auto; }
    EditForm > Horizontal { height: auto; }
    EditForm Input.edit-time { width: 12; }
    EditForm #edit-look { width: 20; }
    EditForm #edit-text { width: 1fr; }
    EditForm #edit-preview { height: 14; width: 1fr; }
    EditForm #edit-error { color: $error; height: auto; }
    """

    class Changed(Message):
        """The recipe changed (``recipe`` is None when nothing is edited)."""

        def __init__(self, form: EditForm, recipe: dict[str, Any] | None) -> None:
            super().__init__()
            self.form = form
            self.recipe = recipe

    def __init__(
        self,
        *,
        fetch: PreviewFetch | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._fetch = fetch
        self.source: Path | None = None
        self.previews_shown = 0
        self._timer: Any = None
        self.looks: dict[str, str] = {}  # name -> description, as the server lists them

    def compose(self) -> ComposeResult:
        yield Label(Text("Edit before posting", style="bold"))
        with Horizontal():
            yield Input(placeholder="trim from s", id="edit-start", classes="edit-time")
            yield Input(placeholder="to s", id="edit-end", classes="edit-time")
            yield Select(
                [],
                prompt="look: none",
                allow_blank=True,
                id="edit-look",
            )
            yield Input(placeholder="text on the video", id="edit-text", max_length=150)
        yield Static("", id="edit-error")
        yield VideoView(id="edit-preview")

    # -- the recipe ---------------------------------------------------------------------------

    @property
    def recipe(self) -> dict[str, Any] | None:
        """The edit recipe of the inputs (raises ValueError for a malformed time)."""
        recipe: dict[str, Any] = {}
        start = _seconds(self.query_one("#edit-start", Input).value)
        end = _seconds(self.query_one("#edit-end", Input).value)
        if start or end is not None:
            recipe["trim"] = {"start": start or 0.0, "end": end}
        look = self.query_one("#edit-look", Select).value
        if isinstance(look, str) and look in self.looks:
            recipe["look"] = look
        text = " ".join(self.query_one("#edit-text", Input).value.split())
        if text:
            recipe["text"] = text
        return recipe or None

    def on_mount(self) -> None:
        self.load_looks()

    @work(exclusive=True, group="edit-looks", exit_on_error=False)
    async def load_looks(self) -> None:
        """Fill the look picker from the server's list (kept empty if it cannot be had)."""
        app: Any = self.app
        options = await app.call(app.api.edit_options(), quiet=True)
        looks = options.get("looks") if isinstance(options, dict) else None
        self.looks = {
            str(look["name"]): str(look.get("description", ""))
            for look in looks or []
            if isinstance(look, dict) and look.get("name")
        }
        select = self.query_one("#edit-look", Select)
        if not self.looks:
            select.prompt = NO_LOOKS_PROMPT
            return
        select.set_options((name, name) for name in self.looks)
        select.tooltip = "\n".join(f"{name}: {text}" for name, text in self.looks.items())

    def set_source(self, path: Path | str | None) -> None:
        """The clip to edit (None clears the preview)."""
        self.source = Path(path).expanduser() if path else None
        if self.source is None or not self.source.is_file():
            self.query_one(VideoView).clear("no clip picked yet")
            return
        self._schedule()

    # -- changes and preview ------------------------------------------------------------------

    @on(Input.Changed, "#edit-start, #edit-end, #edit-text")
    @on(Select.Changed, "#edit-look")
    def _changed(self, event: Message) -> None:
        event.stop()
        self._schedule()

    def _error(self, message: str) -> None:
        self.query_one("#edit-error", Static).update(Text(clean(message)))

    def _schedule(self) -> None:
        try:
            recipe = self.recipe
        except ValueError as exc:
            self._error(str(exc))
            return
        self._error("")
        self.post_message(self.Changed(self, recipe))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self.refresh_preview)

    async def _default_fetch(self, path: Path, recipe: dict[str, Any] | None) -> bytes | None:
        """The app's API client; a 422 (recipe does not fit) is shown under the inputs, other
        failures go through ``app.call`` (login screen, reconnect loop, toasts)."""
        from shortstack.tui.api import ApiError, ServerUnavailable

        app: Any = self.app
        try:
            return await app.api.edit_preview(path, recipe)
        except ApiError as exc:
            if exc.status == 422:
                raise
        except ServerUnavailable:
            pass
        result = await app.call(app.api.edit_preview(path, recipe), quiet=True)
        return result if isinstance(result, bytes) else None

    @work(exclusive=True, group="edit-preview")
    async def refresh_preview(self) -> None:
        """Ask the server for a still with the current recipe and paint it."""
        if self.source is None or not self.source.is_file():
            return
        try:
            recipe = self.recipe
        except ValueError:
            return
        fetch = self._fetch or self._default_fetch
        try:
            data = await fetch(self.source, recipe)
        except Exception as exc:  # an API error: show it, keep the old preview
            self._error(getattr(exc, "detail", "") or str(exc))
            return
        if not data:
            self._error("no preview (check the trim times and the look)")
            return
        try:
            image = await asyncio.to_thread(_decode_jpeg, data)
        except Exception:
            self._error("the preview could not be decoded")
            return
        self._error("")
        self.query_one(VideoView).show_poster(image)
        self.previews_shown += 1
