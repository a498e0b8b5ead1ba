"""Decodes a video file with PyAV in a thread and paces half-block frames at the video's rate."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from shortstack.tui.halfblocks import (
    CellFrame,
    ColorMode,
    fit_size,
    letterbox,
    render_letterboxed,
)

MAX_FPS = 30.0
SEEK_STEP_S = 2.0
BIG_CELLS = 6000  # above this many cells, colours are coarsened to spare the terminal


def max_picture_cells() -> int:
    """Cap on the picture's size in cells (``SHORTSTACK_VIDEO_MAX_CELLS``, default 12000)."""
    try:
        return max(200, int(os.environ.get("SHORTSTACK_VIDEO_MAX_CELLS", "12000")))
    except ValueError:
        return 12000


def picture_box(cells_w: int, cells_h: int, cap: int) -> tuple[int, int]:
    """The box the picture is fitted into: the pane, shrunk (same shape) to at most ``cap`` cells."""
    if cells_w * cells_h <= cap:
        return cells_w, cells_h
    scale = (cap / (cells_w * cells_h)) ** 0.5
    return max(1, int(cells_w * scale)), max(1, int(cells_h * scale))


FrameSink = Callable[[CellFrame], None]
SizeSource = Callable[[], tuple[int, int]]


def still_image(data: bytes) -> np.ndarray | None:
    """Decode an image (JPEG, WebP, PNG) or the first frame of a clip into RGB, or None."""
    import io

    try:
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, ValueError, IndexError, StopIteration):
        return None
    return None


def fit_image(image: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    """Scale an RGB image into a (2*cells_h, cells_w) letterboxed canvas (nearest neighbour)."""
    h, w = image.shape[:2]
    fw, fh = fit_size(w, h, cells_w, cells_h)
    if fw == 0:
        return np.zeros((max(cells_h, 1) * 2, max(cells_w, 1), 3), np.uint8)
    ys = (np.arange(fh) * h // fh).clip(0, h - 1)
    xs = (np.arange(fw) * w // fw).clip(0, w - 1)
    return letterbox(image[ys][:, xs], cells_w, cells_h)


def colour_bits(cells_w: int, cells_h: int) -> int:
    """Full colour for small panes, coarser colours for big ones (fewer colour changes)."""
    return 8 if cells_w * cells_h <= BIG_CELLS else 5


class Playback:
    """One clip playing in a daemon thread; frames go to ``sink`` (which must not block).

    Commands (pause, seek, mute, stop) are thread-safe and take effect at the next frame.
    Frames are shown at the clip's rate, capped at 30 fps; late frames are dropped.
    """

    def __init__(
        self,
        path: Path | str,
        sink: FrameSink,
        size: SizeSource,
        *,
        mode: ColorMode = ColorMode.TRUECOLOR,
        loop: bool = True,
        max_fps: float = MAX_FPS,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.path = str(path)
        self.mode = mode
        self.loop = loop
        self.max_fps = max_fps
        self.muted = True
        self.duration = 0.0
        self.fps = 0.0
        self.frames_shown = 0
        self.max_cells = max_picture_cells()
        self._sink = sink
        self._size = size
        self._on_error = on_error
        self._commands: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._paused = False
        self._position = 0.0
        self._watched = 0.0
        self._watch_started: float | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="shortstack-playback", daemon=True)

    # -- control (any thread) -----------------------------------------------------------------

    def start(self) -> None:
        """Start decoding."""
        with self._lock:
            self._watch_started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Stop decoding; the thread ends on its own (never joined from the UI)."""
        self._account()
        self._stop.set()
        self._commands.put(("stop", 0.0))

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        self.set_paused(not self._paused)
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume."""
        with self._lock:
            if paused and not self._paused:
                self._account_locked()
            elif not paused and self._paused:
                self._watch_started = time.monotonic()
            self._paused = paused
        self._commands.put(("pause" if paused else "resume", 0.0))

    def seek(self, delta_s: float) -> None:
        """Seek by ``delta_s`` seconds (clamped to the clip)."""
        self._commands.put(("seek", delta_s))

    def redraw(self) -> None:
        """Render the current frame again (after a resize while paused)."""
        self._commands.put(("redraw", 0.0))

    def toggle_mute(self) -> bool:
        """Flip the mute flag (audio output is not implemented: always silent)."""
        self.muted = not self.muted
        return self.muted

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def position(self) -> float:
        """Seconds into the clip of the last frame shown."""
        return self._position

    @property
    def watch_ms(self) -> int:
        """Milliseconds of wall time spent playing (not paused) so far."""
        with self._lock:
            extra = 0.0
            if self._watch_started is not None and not self._paused:
                extra = time.monotonic() - self._watch_started
            return int((self._watched + extra) * 1000)

    def _account(self) -> None:
        with self._lock:
            self._account_locked()

    def _account_locked(self) -> None:
        if self._watch_started is not None and not self._paused:
            self._watched += time.monotonic() - self._watch_started
        self._watch_started = None if self._stop.is_set() else time.monotonic()

    # -- the decode thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with av.open(self.path) as container:
                self._play(container)
        except Exception as exc:  # noqa: BLE001 - reported to the UI, never raised there
            if self._on_error is not None and not self._stop.is_set():
                self._on_error(f"cannot play video: {exc}")

    def _play(self, container: av.container.InputContainer) -> None:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        self.fps = min(rate, self.max_fps)
        if stream.duration is not None and stream.time_base is not None:
            self.duration = float(stream.duration * stream.time_base)
        elif container.duration:
            self.duration = container.duration / 1_000_000
        min_gap = 1.0 / self.max_fps - 0.002
        reformatter = av.video.reformatter.VideoReformatter()
        frames = container.decode(stream)
        origin = time.monotonic()
        last_shown = -1.0
        skip_until = 0.0
        last_frame: av.VideoFrame | None = None
        show_one = True  # even a clip started paused shows its first frame (and after a seek)
        while not self._stop.is_set():
            while True:
                try:
                    command, value = self._commands.get_nowait()
                except queue.Empty:
                    break
                if command == "stop":
                    return
                if command == "seek":
                    target = min(max(0.0, self._position + value), max(0.0, self.duration - 0.05))
                    self._seek(container, stream, target)
                    frames = container.decode(stream)
                    skip_until = target - 0.001
                    origin = time.monotonic() - target
                    last_shown = -1.0
                    show_one = True
                elif command == "resume":
                    origin = time.monotonic() - self._position
                elif command == "redraw" and last_frame is not None:
                    self._show(reformatter, last_frame, self._position)
            if self._paused and not show_one:
                try:
                    command, value = self._commands.get(timeout=0.5)
                except queue.Empty:
                    continue
                self._commands.put((command, value))  # handled at the top of the loop
                continue
            try:
                frame = next(frames)
            except StopIteration:
                if not self.loop:
                    return
                self._seek(container, stream, 0.0)
                frames = container.decode(stream)
                origin = time.monotonic()
                last_shown = -1.0
                skip_until = 0.0
                continue
            t = float(frame.time) if frame.time is not None else last_shown + 1 / rate
            if t < skip_until:
                continue
            last_frame = frame
            show_one = False
            if self._paused:  # a seek while paused shows one frame
                self._position = t
                self._show(reformatter, frame, t)
                continue
            if last_shown >= 0 and t - last_shown < min_gap:
                continue  # above the fps cap
            due = origin + t
            now = time.monotonic()
            if due - now > 0:
                if self._stop.wait(due - now):
                    return
            elif now - due > 0.25:
                origin = now - t  # far behind (a stall): restart the clock here
            elif now - due > 1.0 / rate and last_shown >= 0:
                continue  # late: drop this frame
            self._position = t
            last_shown = t
            self._show(reformatter, frame, t)

    def _seek(
        self, container: av.container.InputContainer, stream: av.VideoStream, t: float
    ) -> None:
        tb = stream.time_base
        offset = int(t / tb) if tb else int(t * 1_000_000)
        start = stream.start_time or 0
        container.seek(offset + start, stream=stream, backward=True, any_frame=False)

    def _show(
        self, reformatter: av.video.reformatter.VideoReformatter, frame: av.VideoFrame, t: float
    ) -> None:
        cells_w, cells_h = self._size()
        if cells_w <= 0 or cells_h <= 0:
            return
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        src_w, src_h = frame.width, frame.height
        if rotation in (90, 270):
            src_w, src_h = src_h, src_w
        fw, fh = fit_size(src_w, src_h, *picture_box(cells_w, cells_h, self.max_cells))
        if fw == 0:
            return
        out_w, out_h = (fh, fw) if rotation in (90, 270) else (fw, fh)
        scaled = reformatter.reformat(
            frame, width=out_w, height=out_h, format="rgb24", threads=1
        ).to_ndarray()
        if rotation:
            scaled = np.rot90(scaled, k=rotation // 90)
        cells = render_letterboxed(
            scaled, cells_w, cells_h, self.mode, bits=colour_bits(cells_w, cells_h), pts=t
        )
        self.frames_shown += 1
        self._sink(cells)
