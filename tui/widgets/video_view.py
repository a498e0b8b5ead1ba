"""Paints a playing video (or its poster) as half-block cells, frames handed over from a decode thread."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from rich.text import Text
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from shortstack.tui.halfblocks import CellFrame, ColorMode, detect_color_mode, render_cells
from shortstack.tui.playback import SEEK_STEP_S, Playback, colour_bits, fit_image
from shortstack.tui.sound import SoundOutput
from shortstack.tui.video_strip import VideoStrip


class VideoView(Widget):
    """A video pane: keeps only the newest decoded frame and paints it without line filters."""

    DEFAULT_CSS = """
    VideoView {
        width: 1fr;
        height: 1fr;
        background: black;
        color: $text-muted;
        content-align: center middle;
    }
    """

    notice: reactive[str] = reactive("", layout=False)

    class FrameReady(Message):
        """A new frame waits in the widget's slot (at most one of these is ever queued)."""

    class PlaybackFailed(Message):
        """The decoder gave up on the clip."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        *,
        color_mode: ColorMode | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.color_mode = color_mode or detect_color_mode()
        self.playback: Playback | None = None
        self.frames_painted = 0
        self._frame: CellFrame | None = None
        self._slot: CellFrame | None = None
        self._posted = False
        self._slot_lock = threading.Lock()
        self._cells = (0, 0)
        self._poster: np.ndarray | None = None

    # -- Textual hooks --------------------------------------------------------------------------

    def get_line_filters(self) -> list:
        """Video pixels are final colours: skip Textual's per-segment colour filters."""
        return []

    def render(self) -> Text:
        return Text(self.notice or "")

    def render_lines(self, crop: Region) -> list[Strip]:
        frame = self._frame
        if frame is None:
            return super().render_lines(crop)
        width = self.size.width
        strips: list[Strip] = []
        for y in crop.line_range:
            if y < frame.height and frame.width == width:
                strip: Strip = VideoStrip(frame, y)
            elif y < frame.height:
                # a resize is in flight: fit the old frame until the next one arrives
                row = VideoStrip(frame, y, 0, min(frame.width, width))
                pad = width - row.cell_length
                strip = Strip(list(row._segments), row.cell_length)
                if pad > 0:
                    strip = Strip.join([strip, Strip.blank(pad)])
            else:
                strip = Strip.blank(width)
            if crop.x or crop.right != width:
                strip = strip.crop(crop.x, crop.right)
            strips.append(strip)
        return strips

    def on_resize(self) -> None:
        self._cells = (self.size.width, self.size.height)
        if self.playback is not None and self.playback.paused:
            self.playback.redraw()
        elif self.playback is None and self._poster is not None:
            self._paint_poster()

    def on_unmount(self) -> None:
        self.stop()

    # -- frames from the decode thread ----------------------------------------------------------

    def _sink(self, frame: CellFrame) -> None:
        """Called in the decode thread: replace the slot, post a message only if none is queued."""
        with self._slot_lock:
            self._slot = frame
            if self._posted:
                return
            self._posted = True
        self.post_message(self.FrameReady())

    def on_video_view_frame_ready(self, message: FrameReady) -> None:
        message.stop()
        with self._slot_lock:
            frame, self._slot = self._slot, None
            self._posted = False
        if frame is not None:
            self._frame = frame
            self.frames_painted += 1
            self.refresh()

    def _failed(self, error: str) -> None:
        self.post_message(self.PlaybackFailed(error))

    def on_video_view_playback_failed(self, message: PlaybackFailed) -> None:
        self.notice = message.error

    # -- public API -----------------------------------------------------------------------------

    @property
    def cell_size(self) -> tuple[int, int]:
        """(columns, rows) available for the picture."""
        return self._cells

    def show_poster(self, image: np.ndarray | None) -> None:
        """Show a still (RGB array) until video frames arrive; None clears the picture."""
        self._poster = image
        if image is None:
            self._frame = None
            self.refresh()
            return
        if self.playback is None or self.playback.frames_shown == 0:
            self._paint_poster()

    def _paint_poster(self) -> None:
        width, height = self.size.width, self.size.height
        if self._poster is None or width <= 0 or height <= 0:
            return
        canvas = fit_image(self._poster, width, height)
        self._frame = render_cells(canvas, self.color_mode, bits=colour_bits(width, height))
        self.refresh()

    def clear(self, notice: str = "") -> None:
        """Stop playback and show only ``notice``."""
        self.stop()
        self._poster = None
        self._frame = None
        self.notice = notice
        self.refresh()

    @property
    def sound(self) -> SoundOutput | None:
        """The app's audio output (``app.sound``), if it has one: clips play silent without."""
        sound = getattr(self.app, "sound", None)
        return sound if isinstance(sound, SoundOutput) else None

    def play(self, path: Path | str, *, paused: bool = False) -> Playback:
        """Start playing a local file (stops whatever played before)."""
        self.stop()
        self.notice = ""
        if self._cells == (0, 0):
            self._cells = (self.size.width, self.size.height)
        playback = Playback(
            path,
            self._sink,
            lambda: self._cells,
            mode=self.color_mode,
            on_error=self._failed,
            sound=self.sound,
        )
        if paused:
            playback.set_paused(True)
        self.playback = playback
        playback.start()
        return playback

    def stop(self) -> int:
        """Stop playback; returns the milliseconds watched."""
        playback, self.playback = self.playback, None
        if playback is None:
            return 0
        playback.stop()
        return playback.watch_ms

    def toggle_pause(self) -> bool | None:
        """Pause/resume; None when nothing plays."""
        return None if self.playback is None else self.playback.toggle_pause()

    def seek(self, direction: int) -> None:
        """Seek ``direction`` * 2 seconds."""
        if self.playback is not None:
            self.playback.seek(direction * SEEK_STEP_S)
