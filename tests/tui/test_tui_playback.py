"""Playback: frames reach the widget at the clip's rate, pause/seek work, overlays crop cleanly."""

from __future__ import annotations

import functools
import re

import tuikit
from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Label
from tuikit import PlayerApp

from shortstack.tui.widgets.video_view import VideoView

wait_for = functools.partial(tuikit.wait_for, timeout=10.0)

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\")


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = (
        "Dialog { align: center middle; } Dialog > Label { width: 30; border: round red; }"
    )

    def compose(self) -> ComposeResult:
        yield Label("a modal over the video")


async def test_frames_arrive_pause_and_seek(clip_file) -> None:
    app = PlayerApp(clip_file())
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(VideoView)
        await wait_for(pilot, lambda: view.frames_painted >= 5)
        playback = view.playback
        assert playback is not None and playback.fps == 20 and playback.duration > 0.9
        frame = view._frame
        assert frame is not None and frame.width == 60 and frame.height == 20
        view.toggle_pause()
        await pilot.pause(0.2)
        painted = view.frames_painted
        await pilot.pause(0.4)
        assert view.frames_painted == painted  # paused: no new frames
        view.seek(1)
        await wait_for(
            pilot, lambda: view.frames_painted > painted
        )  # a seek while paused shows a frame
        assert playback.watch_ms > 0
        # a resize while paused re-fits the picture to the new pane
        await pilot.resize_terminal(40, 12)
        await wait_for(pilot, lambda: view._frame.width == 40 and view._frame.height == 12)
        watched = view.stop()
        assert watched == playback.watch_ms


async def test_a_clip_played_once_stays_at_its_end_until_sought_or_played_again(clip_file) -> None:
    app = PlayerApp(clip_file())  # 1 s at 20 fps
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(VideoView)
        await wait_for(pilot, lambda: view.frames_painted >= 2)
        playback = view.playback
        assert playback is not None
        playback.set_loop(False)
        await wait_for(pilot, lambda: playback.ended, timeout=10)
        assert playback.position > 0.8
        shown, watched = playback.frames_shown, playback.watch_ms
        await pilot.pause(0.5)
        assert playback.frames_shown == shown  # the last picture stays
        assert playback.watch_ms - watched < 50  # and is not being watched
        # a resize at the end fits that picture to the new pane
        await pilot.resize_terminal(40, 12)
        await wait_for(pilot, lambda: view._frame.width == 40 and view._frame.height == 12)
        # a seek back plays on from there, to the end again
        view.seek(-1)
        await wait_for(pilot, lambda: not playback.ended and playback.frames_shown > shown + 5)
        assert playback.watch_ms > watched + 150  # played on: watched again
        await wait_for(pilot, lambda: playback.ended, timeout=10)
        # paused and played again at the end: from the start
        shown = playback.frames_shown
        view.toggle_pause()
        view.toggle_pause()
        await wait_for(pilot, lambda: playback.frames_shown > shown + 5 and not playback.ended)
        # looped again, a clip at its end starts over
        await wait_for(pilot, lambda: playback.ended, timeout=10)
        shown = playback.frames_shown
        playback.set_loop(True)
        await wait_for(pilot, lambda: playback.frames_shown > shown + 25)  # past its end
        assert not playback.ended
        view.stop()


async def test_toast_and_modal_over_playing_video_crop_at_cell_boundaries(clip_file) -> None:
    app = PlayerApp(clip_file())
    async with app.run_test(size=(50, 16), notifications=True) as pilot:
        view = app.query_one(VideoView)
        await wait_for(pilot, lambda: view.frames_painted >= 2)
        await app.push_screen(Dialog())
        await pilot.pause(0.1)
        app.notify("toast over video", timeout=30)
        await pilot.pause(0.3)
        painted = view.frames_painted
        await wait_for(pilot, lambda: view.frames_painted > painted + 2)  # still playing below
        update = app.screen._compositor.render_update(full=True)
        output = update.render_segments(app.console)
        lines = output.split("\n")
        assert len(lines) == 16
        for line in lines:
            rest = ESCAPES.sub("", line)
            assert "\x1b" not in rest, repr(line)
            assert cell_len(rest) == 50, repr(rest)
        text = [ESCAPES.sub("", line) for line in lines]
        assert any("a modal over the video" in line for line in text)
        assert any("toast over video" in line for line in text), "\n".join(text)
        # the video keeps painting on both sides of the overlays
        assert sum("▀" in line for line in text) >= 10
