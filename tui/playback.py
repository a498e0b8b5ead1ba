"""Decodes a clip with PyAV in a thread: its sound goes to the audio device, its half-block
frames are shown against the sound's clock (the wall clock when there is no sound)."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from shortstack.tui.halfblocks import (
    CellFrame,
    ColorMode,
    fit_size,
    letterbox,
    render_delta,
)
from shortstack.tui.sound import CHANNELS, RATE, SoundFeed, SoundOutput

MAX_FPS = 30.0
SEEK_STEP_S = 2.0
BIG_CELLS = 6000  # above this many cells, colours are coarsened to spare the terminal
AUDIO_AHEAD_S = 0.5  # sound decoded ahead of the clock (the device never runs dry)
MAX_PENDING = 48  # decoded pictures waiting for their time, at most
FRAME_WAIT_S = 0.04  # longest sleep before a picture is due
STALL_S = 0.25  # the wall clock restarts at the picture after a stall this long


#: pixels a picture: up to 480p one decoder thread (frame threads cost CPU to hand over)
_ONE_DECODER_THREAD = 854 * 480


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


class WallClock:
    """The clip's timeline in wall time, for clips played without sound."""

    def __init__(self) -> None:
        self._base = 0.0
        self._started: float | None = None

    def position(self) -> float:
        started = self._started
        return self._base if started is None else self._base + time.monotonic() - started

    def set_running(self, running: bool) -> None:
        if running and self._started is None:
            self._started = time.monotonic()
        elif not running and self._started is not None:
            self._base, self._started = self.position(), None

    def reset(self, t: float) -> None:
        self._base = t
        if self._started is not None:
            self._started = time.monotonic()


Clock = WallClock | SoundFeed


def _resampler() -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="stereo", rate=RATE)


class Playback:
    """One clip playing in a daemon thread; frames go to ``sink`` (which must not block).

    With a sound device (``sound``) and an audio track, the clip's sound plays and its
    clock is the master: a picture is shown when the sound reaches its time, and dropped when
    a later one is due too. Without, pictures follow the wall clock. Commands (pause, seek,
    stop) are thread-safe and take effect at once for the sound, at the next frame for the
    picture. Frames are shown at the clip's rate, capped at 30 fps.
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
        sound: SoundOutput | None = None,
    ) -> None:
        self.path = str(path)
        self.mode = mode
        self.loop = loop
        self.max_fps = max_fps
        self.duration = 0.0
        self.fps = 0.0
        self.frames_shown = 0
        self.frames_dropped = 0
        #: the clip played to its end and does not loop (a seek back plays it on)
        self.ended = False
        self.max_cells = max_picture_cells()
        #: None until the clip is open: then whether its sound plays (a track and a device)
        self.sound_playing: bool | None = None
        #: whether the clip has an audio track (None until the clip is open)
        self.audio_track: bool | None = None
        #: (monotonic time, timeline second) of each frame shown, when a list is set
        self.trace: list[tuple[float, float]] | None = None
        #: the frame the terminal shows, set by the UI: new frames are written over it (only
        #: their changed cells are sent); None sends whole frames
        self.on_screen: CellFrame | None = None
        self._sink = sink
        self._size = size
        self._on_error = on_error
        self._sound = sound
        self._feed: SoundFeed | None = None
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
        """Stop decoding and the sound at once; the thread ends on its own (never joined)."""
        self._account()
        self._stop.set()
        self._commands.put(("stop", 0.0))
        self._silence()

    def _silence(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None and self._sound is not None:
            self._sound.detach(feed)

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        self.set_paused(not self._paused)
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume (the sound pauses at once)."""
        with self._lock:
            if paused and not self._paused:
                self._account_locked()
            elif not paused and self._paused:
                self._watch_started = time.monotonic()
            self._paused = paused
        feed = self._feed
        if paused and feed is not None:
            feed.set_running(False)
        self._commands.put(("pause" if paused else "resume", 0.0))

    def set_loop(self, loop: bool) -> None:
        """Loop the clip or play it once (a clip at its end starts again when looped)."""
        self.loop = loop
        self._commands.put(("loop", 0.0))

    def seek(self, delta_s: float) -> None:
        """Seek by ``delta_s`` seconds (clamped to the clip)."""
        self._commands.put(("seek", delta_s))

    def redraw(self) -> None:
        """Render the current frame again (after a resize while paused)."""
        self._commands.put(("redraw", 0.0))

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

    def _set_ended(self, ended: bool) -> None:
        """At the end of a clip played once the watch time stops; it counts again when the
        clip plays on (a clip left on screen after its end is not being watched)."""
        with self._lock:
            if ended and not self.ended:
                self._account_locked()
                self._watch_started = None
            elif not ended and self.ended and not self._stop.is_set():
                self._watch_started = time.monotonic()
            self.ended = ended

    # -- the decode thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with av.open(self.path) as container:
                self._play(container)
        except Exception as exc:  # noqa: BLE001 - reported to the UI, never raised there
            if self._on_error is not None and not self._stop.is_set():
                self._on_error(f"cannot play video: {exc}")
        finally:
            self._silence()

    def _play(self, container: av.container.InputContainer) -> None:
        vstream = container.streams.video[0]
        if vstream.codec_context.width * vstream.codec_context.height > _ONE_DECODER_THREAD:
            vstream.thread_type = "AUTO"
        else:  # a rendition: one thread decodes it far faster than it plays, for less CPU
            vstream.codec_context.thread_count = 1
        coded = (vstream.codec_context.width, vstream.codec_context.height)
        box = picture_box(*(max(1, n) for n in self._size()), self.max_cells)
        # each picture pixel (half a cell) averages 4x4 coded pixels or more, whichever way the
        # clip turns out to be rotated: deblocking (a quarter of the decode) changes nothing
        # a terminal can show, and keyframes bound any drift
        if all(
            sw >= 4 * fw and sh >= 4 * fh
            for sw, sh in (coded, coded[::-1])
            for fw, fh in [fit_size(sw, sh, *box)]
        ):
            vstream.codec_context.options = {"skip_loop_filter": "all"}
        rate = float(vstream.average_rate or vstream.guessed_rate or 25)
        self.fps = min(rate, self.max_fps)
        if vstream.duration is not None and vstream.time_base is not None:
            self.duration = float(vstream.duration * vstream.time_base)
        elif container.duration:
            self.duration = container.duration / 1_000_000
        self.audio_track = bool(container.streams.audio)
        astream = None
        feed = None
        if self._sound is not None and self.audio_track and not self._stop.is_set():
            astream = container.streams.audio[0]
            feed = self._sound.attach()
            if feed is None:
                astream = None
            else:
                self._feed = feed
                if self._stop.is_set():  # stopped while the clip opened
                    self._silence()
                    return
        self.sound_playing = feed is not None
        clock: Clock = feed if feed is not None else WallClock()
        streams = [vstream] if astream is None else [vstream, astream]
        resampler = _resampler()
        min_gap = 1.0 / self.max_fps - 0.002
        step = 1.0 / rate
        reformatter = av.video.reformatter.VideoReformatter()
        packets = container.demux(*streams)
        pending: deque[tuple[float, float, av.VideoFrame]] = deque()  # (timeline s, clip s, frame)
        offset = 0.0  # timeline second where this pass of the clip starts (loops add up)
        pass_end = 0.0  # clip seconds this pass covers (picture and sound)
        eof = tail_faded = False
        skip_until = float("-inf")
        last_t = -step  # clip second of the last decoded picture
        fade_in = True
        last_shown = -1.0  # timeline second of the last picture shown
        last_frame: av.VideoFrame | None = None
        show_one = True  # even a clip started paused shows its first frame (and after a seek)
        started = False  # the clock starts with the first picture
        taken: tuple[str, float] | None = None  # a command taken while waiting: handled first
        while not self._stop.is_set():
            while True:
                if taken is not None:
                    (command, value), taken = taken, None
                else:
                    try:
                        command, value = self._commands.get_nowait()
                    except queue.Empty:
                        break
                if command == "stop":
                    return
                if command == "resume" and self.ended:  # played again at its end: from the start
                    if started:
                        clock.set_running(True)
                    command, value = "seek", -self._position
                if command == "seek":
                    self._set_ended(False)
                    target = min(max(0.0, self._position + value), max(0.0, self.duration - 0.05))
                    self._seek(container, vstream, target)
                    packets = container.demux(*streams)
                    pending.clear()
                    eof = tail_faded = False
                    skip_until = target - 0.001
                    clock.reset(offset + target)
                    resampler, fade_in = _resampler(), True
                    last_shown = -1.0
                    show_one = True
                elif command == "pause":
                    clock.set_running(False)
                elif command == "resume" and started:
                    clock.set_running(True)
                elif command == "redraw" and last_frame is not None:
                    self._show(reformatter, last_frame, self._position)
            if self._paused and not show_one:
                with contextlib.suppress(queue.Empty):
                    taken = self._commands.get(timeout=0.5)
                continue
            hungry = not pending or (
                feed is not None and feed.ahead() < AUDIO_AHEAD_S and len(pending) < MAX_PENDING
            )
            if hungry and not eof:
                try:
                    packet = next(packets)
                except StopIteration:
                    eof = True
                    continue
                if packet.stream.index == vstream.index:
                    for frame in packet.decode():
                        t = float(frame.time) if frame.time is not None else last_t + step
                        last_t = t
                        pass_end = max(pass_end, t + step)
                        if t >= skip_until:
                            pending.append((offset + t, t, frame))
                elif feed is not None:
                    end = self._push_sound(packet, resampler, feed, offset, fade_in)
                    if end is not None:
                        fade_in = False
                        pass_end = max(pass_end, end)
                continue
            if not pending:
                if not eof:
                    continue
                if feed is not None and not tail_faded:
                    feed.fade_tail()
                    tail_faded = True
                if not self.loop:
                    if clock.position() < offset + pass_end and not self._paused:
                        self._stop.wait(0.01)  # let the sound play out
                        continue
                    # the end: the last picture stays, and a seek back plays on from there
                    self._set_ended(True)
                    taken = self._commands.get()
                    continue
                # loop: the next pass continues the timeline where this one ends
                self._set_ended(False)
                offset, pass_end = offset + pass_end, 0.0
                self._seek(container, vstream, 0.0)
                packets = container.demux(*streams)
                eof = tail_faded = False
                skip_until, last_t = float("-inf"), -step
                resampler, fade_in = _resampler(), True
                continue
            tl, t, frame = pending[0]
            if self._paused:  # a seek while paused shows one frame
                pending.popleft()
                show_one = False
                self._position, last_frame = t, frame
                self._show(reformatter, frame, t)
                continue
            if not started:
                started = True
                clock.set_running(True)
            now = clock.position()
            if now < tl:
                # one wake-up a picture (commands wait at most a frame: they used to wake
                # this loop four times a picture, ~0.2 ms of CPU a frame)
                self._stop.wait(min(tl - now, FRAME_WAIT_S))
                continue
            pending.popleft()
            if feed is None and now - tl > STALL_S:
                clock.reset(tl)  # far behind (a stall): restart the wall clock here
            elif last_shown >= 0 and (now - tl > step or (pending and pending[0][0] <= now)):
                self.frames_dropped += 1  # late, or a later picture is due too: drop this one
                continue
            if 0 <= last_shown <= tl and tl - last_shown < min_gap:
                continue  # above the fps cap
            self._position, last_shown, last_frame = t, tl, frame
            show_one = False
            self._show(reformatter, frame, t)
            if self.trace is not None:
                self.trace.append((time.monotonic(), tl))

    @staticmethod
    def _push_sound(
        packet: av.Packet,
        resampler: av.AudioResampler,
        feed: SoundFeed,
        offset: float,
        fade_in: bool,
    ) -> float | None:
        """Decode one audio packet into the feed; returns the clip second its sound ends."""
        end = None
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return None  # a damaged packet: a moment of silence
        for frame in frames:
            if frame.time is None:
                continue
            t = float(frame.time)
            for out in resampler.resample(frame):
                pcm = out.to_ndarray().reshape(-1, CHANNELS)
                feed.push(offset + t, pcm, fade_in=fade_in)
                fade_in = False
                t += len(pcm) / RATE
            end = t
        return end

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
        # area averaging: the best downscale for a picture this small, and ~4x cheaper than
        # swscale's default here (0.09 against 0.38 ms for 360x640 -> 27x48)
        scaled = reformatter.reformat(
            frame, width=out_w, height=out_h, format="rgb24", interpolation="AREA", threads=1
        ).to_ndarray()
        if rotation:
            scaled = np.rot90(scaled, k=rotation // 90)
        cells = render_delta(
            scaled,
            cells_w,
            cells_h,
            self.mode,
            bits=colour_bits(cells_w, cells_h),
            pts=t,
            base=self.on_screen,
        )
        self.frames_shown += 1
        self._sink(cells)
