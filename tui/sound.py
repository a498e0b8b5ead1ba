"""The client's one audio output: a miniaudio device probed quietly before the UI starts, kept
for the session, playing the current clip's sound with volume and mute.

The device pulls samples from a generator in its own thread. Each playing clip gets a
:class:`SoundFeed`: the decode thread pushes PCM at timeline positions, the device reads it in
order (silence fills gaps, samples that come too late are dropped), and the feed's
:meth:`SoundFeed.position` — the second being heard — is the clock the picture follows.

Opening a device on a machine without sound makes ALSA write errors to fd 2, where Textual
draws: :func:`open_sound` runs before the app starts, with fd 2 pointed at /dev/null.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

RATE = 48_000
CHANNELS = 2
PERIOD_MS = 20  # one device callback's worth of sound
PERIODS = 3  # periods in the device's buffer
BUFFER_S = PERIOD_MS * PERIODS / 1000  # the most sound the device holds
FADE_S = 0.005  # ramps at starts, stops, pauses, loop points and volume steps: no clicks
VOLUME_STEP = 0.1
#: ``SHORTSTACK_AUDIO_BACKEND=null`` plays through miniaudio's null device (CI, tests)
BACKEND_ENV = "SHORTSTACK_AUDIO_BACKEND"
#: ``SHORTSTACK_NO_SOUND=1`` is ``--no-sound``
NO_SOUND_ENV = "SHORTSTACK_NO_SOUND"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point fd 2 at /dev/null for the block (C libraries write there, not to sys.stderr)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class SoundFeed:
    """One clip's sound between the decode thread (``push``) and the device (``pull``).

    Positions are on the clip's timeline in seconds (loops continue it, seeks reset it).
    ``position()`` is the second being heard: the device plays what it takes in order, each
    pull from when it is taken (its buffer had run dry) or when the pull before ends.
    """

    def __init__(self, *, rate: int = RATE) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._chunks: deque[tuple[int, np.ndarray]] = deque()
        self._pos = 0  # timeline sample handed to the device next
        self._end = 0  # timeline sample after the last one pushed
        self._head = 0  # first sample of the last pull
        #: (plays at, head, n): the newest pull already playing and every one still to come
        self._plays: deque[tuple[float, int, int]] = deque()
        self._floor = 0.0  # position() never reports less (start, pause, seek)
        self._running = False
        self._stopping = False  # fade out on the next pull, then stop
        self._fade_in = True

    # -- the decode thread ----------------------------------------------------------------------

    def push(self, t: float, pcm: np.ndarray, *, fade_in: bool = False) -> None:
        """Queue float32 samples of shape (n, channels) starting at timeline second ``t``."""
        if not len(pcm):
            return
        start = round(t * self.rate)
        if fade_in:
            pcm = pcm.copy()
            ramp = min(len(pcm), int(FADE_S * self.rate))
            pcm[:ramp] *= np.linspace(0.0, 1.0, ramp, dtype=np.float32)[:, None]
        with self._lock:
            self._chunks.append((start, pcm))
            self._end = max(self._end, start + len(pcm))

    def fade_tail(self) -> None:
        """Ramp the end of what is queued down to silence (the clip ends or loops here)."""
        with self._lock:
            if not self._chunks:
                return
            start, pcm = self._chunks[-1]
            ramp = min(len(pcm), int(FADE_S * self.rate))
            pcm = pcm.copy()
            pcm[len(pcm) - ramp :] *= np.linspace(1.0, 0.0, ramp, dtype=np.float32)[:, None]
            self._chunks[-1] = (start, pcm)

    def ahead(self) -> float:
        """Seconds of sound queued past what the device has taken."""
        with self._lock:
            return max(0, self._end - self._pos) / self.rate

    def reset(self, t: float) -> None:
        """Drop what is queued and continue the timeline at ``t`` (a seek)."""
        with self._lock:
            self._chunks.clear()
            self._pos = self._end = self._head = round(t * self.rate)
            self._plays.clear()
            self._floor = t
            self._fade_in = True

    def set_running(self, running: bool) -> None:
        """Play (the device takes samples) or pause (it gets silence; the clock stops)."""
        with self._lock:
            if running == (self._running and not self._stopping):
                return
            if running:
                self._running, self._stopping, self._fade_in = True, False, True
                self._plays.clear()
            else:
                self._floor = self._position_locked(time.monotonic())
                self._stopping = True

    @property
    def running(self) -> bool:
        return self._running and not self._stopping

    @property
    def head(self) -> float:
        """Timeline second of the first sample of the last pull."""
        return self._head / self.rate

    def position(self) -> float:
        """The timeline second being heard now."""
        with self._lock:
            return self._position_locked(time.monotonic())

    def _position_locked(self, now: float) -> float:
        if not self._running or self._stopping:
            return self._floor
        for plays_at, head, n in reversed(self._plays):
            if plays_at <= now:
                elapsed = min(now - plays_at, n / self.rate)
                return max(self._floor, (head + elapsed * self.rate) / self.rate)
        return self._floor

    # -- the device thread ----------------------------------------------------------------------

    def pull(self, n: int, plays_at: float) -> np.ndarray | None:
        """The next ``n`` samples for the device, which plays them from monotonic time
        ``plays_at``; None when paused."""
        with self._lock:
            if not self._running:
                return None
            stopping = self._stopping
            count = min(n, int(FADE_S * self.rate)) if stopping else n
            out = self._take_locked(count)
            plays = self._plays
            plays.append((plays_at, self._head, count))
            # forget the pulls a later one has taken over from on the clock (a fixed number
            # kept would freeze it once that many are queued ahead of the present)
            now = time.monotonic()
            while len(plays) > 1 and plays[1][0] <= now:
                plays.popleft()
            if stopping:
                out[:count] *= np.linspace(1.0, 0.0, count, dtype=np.float32)[:, None]
                self._running = self._stopping = False
            elif self._fade_in:
                ramp = min(n, int(FADE_S * self.rate))
                out[:ramp] *= np.linspace(0.0, 1.0, ramp, dtype=np.float32)[:, None]
                self._fade_in = False
            if len(out) < n:
                out = np.concatenate([out, np.zeros((n - len(out), CHANNELS), np.float32)])
            return out

    def _take_locked(self, n: int) -> np.ndarray:
        out = np.zeros((n, CHANNELS), np.float32)
        start, end = self._pos, self._pos + n
        chunks = self._chunks
        while chunks:
            c_start, data = chunks[0]
            c_end = c_start + len(data)
            if c_end <= start:  # late: its time has passed
                chunks.popleft()
                continue
            if c_start >= end:
                break
            a, b = max(c_start, start), min(c_end, end)
            out[a - start : b - start] = data[a - c_start : b - c_start, :CHANNELS]
            if c_end > end:
                break
            chunks.popleft()
        self._head, self._pos = start, end
        return out


class SoundOutput:
    """The session's audio device (or the reason there is none), its volume and mute.

    ``attach()`` gives the next clip its feed and fades out the one before (swiping stops
    the old sound within one period). The device plays silence between clips.
    """

    def __init__(
        self,
        *,
        reason: str = "",
        backend: str = "",
        volume: float = 0.8,
        muted: bool = False,
        latency_s: float = 0.0,
    ) -> None:
        self.reason = reason  # why there is no sound ("" when there is)
        self.backend = backend
        self.volume = min(1.0, max(0.0, volume))
        self.muted = muted
        #: output latency past the device's own buffer (which ``mix`` accounts for: it fills
        #: the buffer one period at a time, so a pull plays when the one before ends)
        self.latency_s = latency_s
        self.device: Any = None
        self.pulled = 0  # samples handed to the device so far
        #: (monotonic time, timeline second of the first sample or None, int16 samples) per
        #: device pull, when a list is set: tests and benchmarks measure the sync with it
        self.trace: list[tuple[float, float | None, np.ndarray]] | None = None
        self._feed: SoundFeed | None = None
        self._fading: SoundFeed | None = None
        self._gain = 0.0
        self._plays_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.device is not None

    def status(self) -> str:
        """A few words for the status line: volume, muted, or why there is no sound."""
        if not self.available:
            return f"🔇 no sound: {self.reason}"
        if self.muted:
            return "🔇 muted"
        return f"🔊 {round(self.volume * 100)}%"

    def set_volume(self, volume: float) -> float:
        """Set the volume (0..1, unmutes); returns it."""
        self.volume = round(min(1.0, max(0.0, volume)), 2)
        self.muted = False
        return self.volume

    def step_volume(self, direction: int) -> float:
        """One step up (+1) or down (-1)."""
        return self.set_volume(self.volume + direction * VOLUME_STEP)

    def toggle_mute(self) -> bool:
        """Mute or unmute; returns True when now muted."""
        self.muted = not self.muted
        return self.muted

    def attach(self) -> SoundFeed | None:
        """A feed for the next clip (None without a device); the previous one fades out."""
        if not self.available:
            return None
        feed = SoundFeed()
        with self._lock:
            if self._feed is not None:
                self._feed.set_running(False)
                self._fading = self._feed
            self._feed = feed
        return feed

    def detach(self, feed: SoundFeed) -> None:
        """Stop ``feed`` now (a fade of one period at most)."""
        feed.set_running(False)
        with self._lock:
            if self._feed is feed:
                self._feed = None
                self._fading = feed

    # -- the device -----------------------------------------------------------------------------

    def start(self, device: Any) -> None:
        """Keep ``device`` and start it pulling from the mixer."""
        generator = self._generator()
        next(generator)
        device.start(generator)
        self.device = device

    def close(self) -> None:
        """Close the device (quietly: ALSA may talk on the way out too)."""
        device, self.device = self.device, None
        if device is not None:
            with quiet_stderr():
                device.close()

    def _generator(self):  # type: ignore[no-untyped-def]
        n = yield b""
        while True:
            try:
                out = self.mix(n)
            except Exception:  # noqa: BLE001 - an error here would silence the device for good
                out = np.zeros((n, CHANNELS), np.int16)
            n = yield out

    def mix(self, n: int) -> np.ndarray:
        """The next ``n`` frames for the device as int16 (called in the device's thread)."""
        with self._lock:
            feed, fading = self._feed, self._fading
        # the device plays what it takes in order: at once when its buffer ran dry, else when
        # the last pull ends, and it never holds more than its buffer: a burst of pulls (its
        # thread catching up after a stall) does not put the clock behind the sound for good
        now = time.monotonic()
        earliest = now + self.latency_s
        plays_at = min(max(earliest, self._plays_until), earliest + BUFFER_S)
        self._plays_until = plays_at + n / RATE
        out = None
        if fading is not None:
            out = fading.pull(n, plays_at)
            if out is None or not fading._running:
                with self._lock:
                    if self._fading is fading:
                        self._fading = None
        head = None
        if feed is not None:
            data = feed.pull(n, plays_at)
            if data is not None:
                out = data if out is None else out + data
                head = feed.head
        self.pulled += n
        target = 0.0 if self.muted else self.volume**2  # a perceptual curve: half is -12 dB
        gain, self._gain = self._gain, target
        if out is None:
            pcm = np.zeros((n, CHANNELS), np.int16)
        else:
            if gain != target:  # ramp to the new volume over this period
                out = out * np.linspace(gain, target, n, dtype=np.float32)[:, None]
            elif target != 1.0:
                out = out * np.float32(target)
            pcm = np.clip(out * 32767.0, -32768, 32767).astype(np.int16)
        if self.trace is not None:
            self.trace.append((now, head, pcm))
        return pcm


def open_sound(
    *,
    enabled: bool = True,
    volume: float = 0.8,
    muted: bool = False,
    backend: str | None = None,
    trace: bool = False,
) -> SoundOutput:
    """Open the session's audio device, or say why there is none (never raises, never prints).

    Call it before the Textual app starts: fd 2 is redirected while the device opens.
    ``backend``: ``"null"`` for miniaudio's null device (default ``$SHORTSTACK_AUDIO_BACKEND``,
    else the system's real devices only: the null device is not sound). ``trace``: keep
    every pull in ``SoundOutput.trace`` from the first (tests, benchmarks).
    """
    settings = {"volume": volume, "muted": muted}
    if not enabled or os.environ.get(NO_SOUND_ENV, "").strip() not in ("", "0"):
        return SoundOutput(reason="turned off (--no-sound)", **settings)
    try:
        import miniaudio
    except ImportError:
        return SoundOutput(reason="miniaudio is not installed", **settings)
    backend = (backend or os.environ.get(BACKEND_ENV, "")).strip().lower()
    if backend:
        try:
            backends = [miniaudio.Backend[backend.upper()]]
        except KeyError:
            return SoundOutput(reason=f"unknown audio backend {backend!r}", **settings)
    else:
        skip = {miniaudio.Backend.NULL, miniaudio.Backend.CUSTOM}
        backends = [
            b for b in miniaudio.Backend if b not in skip and miniaudio.is_backend_enabled(b)
        ]
    output = SoundOutput(**settings)
    if trace:
        output.trace = []
    try:
        with quiet_stderr():
            device = miniaudio.PlaybackDevice(
                output_format=miniaudio.SampleFormat.SIGNED16,
                nchannels=CHANNELS,
                sample_rate=RATE,
                buffersize_msec=PERIOD_MS,
                callback_periods=PERIODS,
                backends=backends,
                app_name="shortstack",
            )
            output.backend = device.backend
            output.start(device)
        # a device still pulling from Python while the interpreter shuts down can hang it
        atexit.register(output.close)
    except Exception as exc:  # noqa: BLE001 - any failure means: play silent, say why
        text = str(exc.args[0]) if getattr(exc, "args", None) else type(exc).__name__
        reason = "no audio device" if "init device" in text or "backend" in text else text
        return SoundOutput(reason=reason, **settings)
    return output
