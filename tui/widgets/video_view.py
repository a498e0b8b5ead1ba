"""Paints a playing video (or its poster) as half-block cells, frames handed over from a decode thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.text import Text
from textual._compositor import Compositor, CompositorUpdate
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from shortstack.tui.halfblocks import CellFrame, ColorMode, detect_color_mode, render_cells
from shortstack.tui.playback import SEEK_STEP_S, Playback, colour_bits, fit_image
from shortstack.tui.sound import SoundOutput
from shortstack.tui.video_strip import VideoStrip

HOLD_S = 0.2  # a frame not painted after this long (a hidden pane) no longer holds the next one
_PASS = "_shortstack_video_pass"


def watch_updates(compositor: Compositor) -> None:
    """Let video panes see what a screen update repaints (once per compositor).

    While the screen's compositor renders an update for the terminal, ``_PASS`` on it holds
    ``"full"`` or the set of dirty screen regions; outside an update it is None (so a
    screenshot, or a render by another screen's compositor, is never taken for one).
    """
    if getattr(compositor, _PASS + "_watched", False):
        return
    render_update = compositor.render_update

    def watched(full: bool = False, screen_stack=None, simplify: bool = False):  # type: ignore[no-untyped-def]
        if simplify:  # a screenshot: nothing reaches the terminal
            return render_update(full, screen_stack, simplify)
        whole = full or compositor.size.region in compositor._dirty_regions
        setattr(compositor, _PASS, "full" if whole else frozenset(compositor._dirty_regions))
        try:
            return render_update(full, screen_stack, simplify)
        finally:
            setattr(compositor, _PASS, None)

    compositor.render_update = watched  # type: ignore[method-assign]
    setattr(compositor, _PASS, None)
    setattr(compositor, _PASS + "_watched", True)


class CellsUpdate(CompositorUpdate):
    """A frame's changed cells as a terminal update of their own (what ``App._display``
    writes: inside synchronized output, with the cursor put back after it)."""

    def __init__(self, frame: CellFrame, x: int, y: int) -> None:
        self.frame, self.x, self.y = frame, x, y

    def render_segments(self, console: Console) -> str:
        frame, x, y = self.frame, self.x + 1, self.y + 1
        rows = frame.delta_rows
        assert rows is not None
        return "".join(f"\x1b[{y + row};{x}H{rows[row]}" for row, _, _ in frame.spans)


class VideoView(Widget):
    """A video pane: keeps only the newest decoded frame and paints only the cells that change.

    Each frame from the decoder is written over the frame on screen. When nothing is drawn
    over the pane, its changed cells go straight to the terminal as an update of their own
    (``_paint_direct``); otherwise the pane asks Textual to repaint just those cells, and
    hands out strips that send only them (see ``VideoStrip``) when the update repaints nothing
    else of the pane. Any other repaint (a toast, a modal, a resize, a full refresh) gets
    every cell. A new frame is taken only once the previous one was painted, so a slow
    terminal drops frames instead of falling behind.
    """

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
        #: frames the decoder replaced before the pane could take them (dropped for a slow terminal)
        self.frames_skipped = 0
        #: updates that sent only changed cells / every cell of the pane
        self.delta_paints = 0
        self.full_paints = 0
        #: of the delta paints, those sent past the compositor (see ``_paint_direct``)
        self.direct_paints = 0
        self._frame: CellFrame | None = None
        self._on_screen: int | None = None  # serial of the frame the terminal shows (None: unknown)
        self._delta_ok = False  # the current frame's base is on screen: its delta rows may be sent
        self._painted = True  # the current frame has been in an update
        self._taken_at = 0.0
        self._pending: set[Region] = set()  # our repaint regions since the last update
        self._slot: CellFrame | None = None
        self._posted = False
        self._slot_lock = threading.Lock()
        self._cells = (0, 0)
        self._poster: np.ndarray | None = None
        #: where the pane's cells are on the terminal when nothing is drawn over them (None:
        #: something is), for the layout ``_layout`` is (see ``_open_origin``)
        self._layout: object = None
        self._origin: tuple[int, int] | None = None

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
        kind = self._update_kind()
        delta = kind == "own" and self._delta_ok
        strips: list[Strip] = []
        for y in crop.line_range:
            if y < frame.height and frame.width == width:
                strip: Strip = VideoStrip(frame, y, delta=delta)
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
        self._painted_in(kind, frame, delta)
        return strips

    def _update_kind(self) -> str:
        """What the screen update now rendering repaints of this pane.

        "own": only regions this pane asked for (all of them); "other": those and more (or a
        full repaint); "early": not yet this pane's regions; "unknown": not a terminal update
        of this pane's screen (a screenshot, a screen drawn over this one, a batched update).
        """
        compositor = self.screen._compositor
        watch_updates(compositor)
        dirty = getattr(compositor, _PASS, None)
        if dirty is None or self.app._batch_count:
            return "unknown"
        if dirty == "full":
            return "other"
        placed = compositor.visible_widgets.get(self)
        if placed is None:
            return "unknown"
        region, clip = placed
        offset = region.offset
        ours = {clip.intersection(r.translate(offset)) for r in self._pending}
        ours.discard(Region())
        if not ours <= dirty and not all(any(d.contains_region(r) for d in dirty) for r in ours):
            return "early"
        overlaps = clip.overlaps
        if any(overlaps(d) and d not in ours for d in dirty):
            return "other"
        return "own"

    def _painted_in(self, kind: str, frame: CellFrame, delta: bool) -> None:
        """Bookkeeping after rendering ``frame`` into an update of kind ``kind``."""
        if kind == "unknown":
            self._on_screen = None
            self._delta_ok = False
            self._painted = True
            self._acknowledge(None)
        elif kind != "early":
            self._pending.clear()
            self._on_screen = frame.serial
            self._painted = True
            if delta:
                self.delta_paints += 1
            else:
                self.full_paints += 1
        else:
            return
        with self._slot_lock:
            waiting = self._slot is not None and not self._posted
            if waiting:
                self._posted = True
        if waiting:
            self.post_message(self.FrameReady())

    def _acknowledge(self, frame: CellFrame | None) -> None:
        """Tell the decoder which frame the terminal shows before the next one is taken (None:
        not known): the decoder writes the next frames over it."""
        playback = self.playback
        if playback is not None:
            playback.on_screen = (
                frame if frame is not None and frame.width == self.size.width else None
            )

    def on_resize(self) -> None:
        self._cells = (self.size.width, self.size.height)
        self._delta_ok = False
        self._repaint_all()
        if self.playback is not None and (self.playback.paused or self.playback.ended):
            self.playback.redraw()
        elif self.playback is None and self._poster is not None:
            self._paint_poster()

    def on_unmount(self) -> None:
        self.stop()

    # -- frames from the decode thread ----------------------------------------------------------

    def _sink(self, frame: CellFrame) -> None:
        """Called in the decode thread: replace the slot, post a message only if none is queued."""
        with self._slot_lock:
            if self._slot is not None:
                self.frames_skipped += 1
            self._slot = frame
            if self._posted:
                return
            self._posted = True
        self.post_message(self.FrameReady())

    def on_video_view_frame_ready(self, message: FrameReady) -> None:
        message.stop()
        with self._slot_lock:
            self._posted = False
            if not self._painted and time.monotonic() - self._taken_at < HOLD_S:
                return  # the last frame is not painted yet: the newest waits in the slot
            frame, self._slot = self._slot, None
        if frame is not None:
            self._take(frame)

    def _take(self, frame: CellFrame) -> None:
        """Make ``frame`` the one to paint, and ask for a repaint of what it changes."""
        self._frame = frame
        self.frames_painted += 1
        self._taken_at = time.monotonic()
        # the next frames are written over this one: it is on screen by the time they are taken
        self._acknowledge(frame)
        width, height = self.size
        self._delta_ok = (
            frame.delta_rows is not None
            and frame.base is not None
            and frame.base == self._on_screen
            and (frame.width, frame.height) == (width, height)
        )
        if not self._delta_ok:
            self._repaint_all()
            self._painted = False
            return
        spans = frame.spans
        if not spans:  # the same picture as on screen
            self._on_screen = frame.serial
            return
        if self._paint_direct(frame):
            return
        # one region around the changes, to the pane's right edge: rows inside it with nothing
        # changed send nothing but a cursor move (their delta rows are empty), a delta row
        # ends at its last changed cell anyway, and whole rows are written uncut
        x1 = min(span[1] for span in spans)
        region = Region(x1, spans[0][0], width - x1, spans[-1][0] + 1 - spans[0][0])
        self._painted = False
        self._pending.add(region.translate(self.content_offset))
        self.refresh(region)

    def _paint_direct(self, frame: CellFrame) -> bool:
        """Send the frame's changed cells to the terminal now, as an update of their own,
        when the pane is on the current screen, whole and with nothing drawn over it, and
        none of its repaints is pending; False: not now (Textual's update paints it).

        The compositor is skipped: only the pane's own cells change, so there is nothing to
        compose (this was ~1.5 ms of the ~1.8 a frame spent on Textual's side at 80x24).
        """
        app, screen = self.app, self.screen
        if app._batch_count or self._pending or not self._painted or app.is_inline:
            return False
        if app.screen is not screen:  # another screen is drawn over this one
            return False
        if screen._layout_required or screen._repaint_required:  # an update is on its way
            return False
        origin = self._open_origin(screen._compositor)
        if origin is None:
            return False
        app._display(screen, CellsUpdate(frame, *origin))
        self._on_screen = frame.serial
        self.delta_paints += 1
        self.direct_paints += 1
        return True

    def _open_origin(self, compositor: Compositor) -> tuple[int, int] | None:
        """The terminal cell of the pane's top left when all of it shows and nothing is drawn
        over it (None otherwise), worked out again only when the layout changes."""
        layers = compositor.layers_visible  # rebuilt (a new list) by every change of layout
        if layers is self._layout:
            return self._origin
        self._layout, self._origin = layers, None
        placed = compositor.visible_widgets.get(self)
        if placed is None:
            return None
        region, clip = placed
        content = self.content_region
        if not clip.contains_region(region) or content.size != self.size:
            return None
        for y in range(content.y, content.bottom):
            if y >= len(layers):
                return None
            for widget, cropped, _ in layers[y]:  # the top-most first
                if widget is self:
                    break
                if cropped.overlaps(content):
                    return None
        self._origin = (content.x, content.y)
        return self._origin

    def _repaint_all(self) -> None:
        """Repaint every cell of the pane (what was on screen no longer matters)."""
        self._pending = {self.outer_size.region}
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
            self._repaint_all()
            return
        if self.playback is None or self.playback.frames_shown == 0:
            self._paint_poster()

    def _paint_poster(self) -> None:
        width, height = self.size.width, self.size.height
        if self._poster is None or width <= 0 or height <= 0:
            return
        canvas = fit_image(self._poster, width, height)
        self._frame = render_cells(canvas, self.color_mode, bits=colour_bits(width, height))
        self._delta_ok = False
        self._repaint_all()

    def clear(self, notice: str = "") -> None:
        """Stop playback and show only ``notice``."""
        self.stop()
        self._poster = None
        self._frame = None
        self.notice = notice
        self._repaint_all()

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
