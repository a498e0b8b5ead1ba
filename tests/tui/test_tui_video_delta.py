"""Playing video sends only the cells that change, and the terminal still ends up showing the frame.

The app's real terminal output (what Textual would write) is applied to a small terminal model
(``screen_model.py``), through frames, a toast, a modal and a resize, and compared with a full
repaint of the same screen.
"""

from __future__ import annotations

import functools
from pathlib import Path

import av
import numpy as np
import pytest
import tuikit
from screen_model import ScreenModel
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.screen import ModalScreen, Screen
from textual.widgets import Label
from tuikit import PlayerApp

from shortstack.tui.halfblocks import ColorMode, render_delta, render_letterboxed
from shortstack.tui.widgets.video_view import HOLD_S, VideoView

wait_for = functools.partial(tuikit.wait_for, timeout=10.0)


def write_moving_square(path: Path, frames: int = 40, fps: int = 20) -> Path:
    """A 96x160 clip: a still gradient with a bright square sliding down one side."""
    ys, xs = np.mgrid[0:160, 0:96]
    background = np.stack([xs * 2, ys, 200 - xs], axis=-1).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 96, 160, "yuv444p"
        stream.options = {"preset": "ultrafast", "qp": "0"}  # lossless: the background stays still
        for i in range(frames):
            picture = background.copy()
            y = (i * 6) % 140
            picture[y : y + 20, 10:30] = (250, 250, 40)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = (
        "Dialog { align: center middle; } Dialog > Label { width: 24; border: round red; }"
    )

    def compose(self) -> ComposeResult:
        yield Label("a modal over the video")


class Terminal:
    """Applies what the app writes to a ScreenModel (the app runs headless, so it writes nothing)."""

    def __init__(self, app: App, width: int, height: int) -> None:
        self.app = app
        self.model = ScreenModel(width, height)
        self.updates: list[str] = []
        app._display = self.display  # type: ignore[method-assign]

    def display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        if isinstance(renderable, CompositorUpdate):
            width, height = self.app.size
            if (width, height) != (self.model.width, self.model.height):
                self.model = ScreenModel(width, height)  # a resized terminal starts blank
            text = renderable.render_segments(self.app.console)
            self.updates.append(text)
            self.model.feed(text)

    def expected(self) -> ScreenModel:
        """What a full repaint of the screen shows now (every cell of the video written)."""
        update = self.app.screen._compositor.render_update(
            full=True, screen_stack=self.app._background_screens
        )
        model = ScreenModel(self.model.width, self.model.height)
        model.feed(update.render_segments(self.app.console))
        return model


async def settled(pilot, view: VideoView, terminal: Terminal) -> None:
    """Pause playback and let the last frame reach the terminal, then compare with a repaint."""
    if not view.playback.paused:
        view.toggle_pause()
    await pilot.pause(0.4)
    expected = terminal.expected()
    mismatched = [
        (x, y)
        for y in range(expected.height)
        for x in range(expected.width)
        if (terminal.model.chars[y][x], terminal.model.colours[y][x])
        != (expected.chars[y][x], expected.colours[y][x])
    ]
    assert not mismatched, f"{len(mismatched)} stale cells, first {mismatched[:5]}"
    view.toggle_pause()


@pytest.mark.parametrize("mode", list(ColorMode))
async def test_playing_video_sends_only_changed_cells_and_the_terminal_keeps_up(
    tmp_path, mode
) -> None:
    clip = write_moving_square(tmp_path / "square.mp4")
    app = PlayerApp(clip, mode)
    terminal = Terminal(app, 60, 20)
    async with app.run_test(size=(60, 20), notifications=True) as pilot:
        view = app.query_one(VideoView)
        await wait_for(pilot, lambda: view.delta_paints >= 10)
        # only the square's cells travel: far less than a whole frame per update
        frame = view._frame
        whole = sum(len(row) for row in frame.rows)
        sizes = sorted(len(text) for text in terminal.updates[-10:])
        assert sizes[len(sizes) // 2] < whole / 4, sizes
        # with nothing over the pane, frames go out past the compositor, as updates of their own
        assert view.direct_paints >= 5
        await settled(pilot, view, terminal)

        # a toast over the video, then gone: the cells under it are repainted in full
        app.notify("toast over video", timeout=30)
        await wait_for(pilot, lambda: "toast over video" in "".join(terminal.updates[-3:]))
        painted, direct = view.frames_painted, view.direct_paints
        await wait_for(pilot, lambda: view.frames_painted > painted + 3)
        assert view.direct_paints == direct  # the toast is drawn over the pane: the compositor
        await settled(pilot, view, terminal)
        app.clear_notifications()
        painted = view.frames_painted
        await wait_for(pilot, lambda: view.frames_painted > painted + 3)
        await settled(pilot, view, terminal)
        await wait_for(pilot, lambda: view.direct_paints > direct)  # past it again
        assert not any("toast" in terminal.model.row_text(y) for y in range(20))

        # a modal over the video, then popped
        await app.push_screen(Dialog())
        painted, direct = view.frames_painted, view.direct_paints
        await wait_for(pilot, lambda: view.frames_painted > painted + 3)
        assert view.direct_paints == direct  # never written over another screen
        app.pop_screen()
        painted, deltas = view.frames_painted, view.delta_paints
        await wait_for(pilot, lambda: view.frames_painted > painted + 3)
        await settled(pilot, view, terminal)
        await wait_for(pilot, lambda: view.delta_paints > deltas)  # back to changed cells only

        # a resize: the terminal is cleared and every cell comes again
        await pilot.resize_terminal(44, 14)
        await wait_for(pilot, lambda: view._frame.width == 44 and view.delta_paints > deltas + 3)
        await settled(pilot, view, terminal)


@pytest.mark.parametrize("mode", list(ColorMode))
def test_a_delta_over_its_base_gives_the_full_frame(mode) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (40, 24, 3), dtype=np.uint8)
    cols, rows = 50, 20
    base = render_letterboxed(image, cols, rows, mode, bits=5)
    terminal = ScreenModel(cols, rows)
    for y, row in enumerate(base.rows):
        terminal.feed(f"\x1b[{y + 1};1H{row}")
    for step in range(12):
        changed = image.copy()
        for _ in range(step % 4):
            y, x = rng.integers(0, 40), rng.integers(0, 24)
            changed[y : y + 3, x : x + 5] = rng.integers(0, 256, 3)
        frame = render_delta(changed, cols, rows, mode, bits=5, base=base)
        assert frame.base == base.serial and frame.delta_rows is not None
        painted_rows = {y for y, _, _ in frame.spans}
        for y in range(rows):
            assert bool(frame.delta_rows[y]) == (y in painted_rows)
            if frame.delta_rows[y]:
                terminal.feed(f"\x1b[{y + 1};1H{frame.delta_rows[y]}")
        full = ScreenModel(cols, rows)
        for y, row in enumerate(frame.rows):
            full.feed(f"\x1b[{y + 1};1H{row}")
        assert terminal.colours == full.colours and terminal.chars == full.chars
        # a row cut after n cells leaves the cells before n right, the rest as they were
        for y, _, _ in frame.spans[:3]:
            for n in (0, 1, cols // 2, cols - 1):
                cut = ScreenModel(cols, rows)
                for yy, row in enumerate(base.rows):
                    cut.feed(f"\x1b[{yy + 1};1H{row}")
                cut.feed(f"\x1b[{y + 1};1H{frame.delta_row(y, n)}")
                assert cut.colours[y][:n] == full.colours[y][:n]
        if step % 4 == 0:
            assert frame.spans == [] and not any(frame.delta_rows)
        base, image = frame, changed
    # a size or mode change cannot be written over the old frame
    assert render_delta(image, cols + 1, rows, mode, bits=5, base=base).delta_rows is None


class Cover(Screen[None]):
    """A screen over the whole app: the video's screen is not painted while it shows."""

    def compose(self) -> ComposeResult:
        yield Label("another screen")


async def test_frames_not_painted_are_dropped_not_queued(tmp_path) -> None:
    clip = write_moving_square(tmp_path / "square.mp4", frames=60)
    app = PlayerApp(clip, ColorMode.TRUECOLOR)
    terminal = Terminal(app, 40, 14)
    async with app.run_test(size=(40, 14)) as pilot:
        view = app.query_one(VideoView)
        await wait_for(pilot, lambda: view.delta_paints >= 3)
        await app.push_screen(Cover())
        await pilot.pause(0.2)
        taken, skipped, decoded = (
            view.frames_painted,
            view.frames_skipped,
            view.playback.frames_shown,
        )
        await pilot.pause(1.0)
        decoded = view.playback.frames_shown - decoded
        # the decoder goes on at the clip's rate; the pane takes a frame only every HOLD_S
        assert decoded >= 12
        assert view.frames_painted - taken <= 1.0 / HOLD_S + 2
        assert view.frames_skipped - skipped >= decoded - (1.0 / HOLD_S + 2)
        app.pop_screen()
        deltas = view.delta_paints
        await wait_for(pilot, lambda: view.delta_paints > deltas + 3)
        await settled(pilot, view, terminal)
