"""Transcode one upload into an H.264/AAC MP4 rendition ladder in a single decode pass.

Choices:

- Video: libx264, yuv420p, even sizes, CRF (default 26). Keyframes (IDR) fall at fixed times,
  every ``KEYFRAME_S`` (2 s) of output time, forced on the frame that reaches each mark, and
  x264's scene-cut keyframes are off: every rendition has its keyframes at the same times, so
  HLS segments line up across renditions and a player can switch bitrate at any boundary. Rotation
  from the display matrix is applied to the pixels (``transpose``; ``hflip,vflip`` for 180°)
  and no display matrix is written, so every player shows the same picture. Anamorphic pixels
  are squared. Timestamps keep the source's time base, so variable frame rate stays variable
  and every frame keeps its own time; non-increasing timestamps are dropped. Sources above
  60 fps (slow-motion phone clips) are resampled to a constant 30 fps with the ``fps`` filter.
- 10-bit, HEVC, VP9, 4:4:4 sources are converted to 8-bit 4:2:0. HDR (HLG/PQ) sources are not
  tone-mapped (this FFmpeg build has no zscale): they come out flat and washed out but
  playable.
- Audio: AAC-LC stereo 48 kHz. A source without sound gets a silent AAC track of the same
  length, so every rendition has the same shape (players and the client never special-case
  "no audio"; the cost is ~1 kB/s).
- Files: ``movflags=+faststart`` (moov before mdat); written under a temporary name in
  ``out_dir``, fsynced, then renamed to ``out_dir/{name}.mp4`` only when every rendition is
  complete. On failure the temporary files are removed and TranscodeError is raised.
- Edits (``edit=EditRecipe``, see ``edit.py``) happen in the same pass: trim and speed move
  frame timestamps before the graph, the crop follows the rotation, the look and the text
  follow each rendition's scale, and the sound goes through atrim/atempo (or is replaced by
  silence or a tone).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.filter

from .errors import InvalidMedia, TranscodeError
from .files import commit, discard, temp_beside
from .probe import ProbeResult, open_video, probe, rotation_filters

if TYPE_CHECKING:  # numpy and the edit tools load only when an edit needs them
    import numpy as np

    from .edit import EditRecipe
    from .edit_graph import EditSession

AUDIO_RATE = 48_000
MAX_FPS = 60  # sources above this (slow-motion phone clips) are resampled to CAPPED_FPS
CAPPED_FPS = 30
_SILENCE_CHUNK = 1024
_AUDIO_TB = Fraction(1, AUDIO_RATE)
_ONE_DECODER_THREAD = 1920 * 1088  # pixels a picture: up to 1080p one decoder thread
#: pixels a picture: renditions up to 480p get one x264 thread each. Each rendition already
#: encodes on its own thread beside the decoder, and x264's frame threads cost more CPU than
#: they save at these sizes (bench/transcode.py, 360p + 240p from 1080p: 2.5 -> 2.3 s of CPU
#: a run, and less wall time too); bigger renditions keep x264's own threading
_ONE_ENCODER_THREAD = 854 * 480
#: pictures handed to a rendition's encoder thread at a time: one hand-off (a wake-up and a
#: GIL exchange) per picture cost ~3 % of a run's CPU against every fourth (bench/transcode.py
#: in-process A/B, 12 interleaved runs: 2.49 -> 2.41 s of CPU for 360p + 240p from 1080p)
_BATCH = 4
_BACKLOG = 2  # batches queued per rendition's encoder at most (memory: ~3 MB at 360p)
KEYFRAME_S = Fraction(2)  # keyframe interval; HLS segments (media/hls.py) cut at these marks


@dataclass(frozen=True)
class Rendition:
    """One finished output file."""

    name: str
    width: int
    height: int
    path: Path
    bytes: int
    duration_s: float


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def plan_ladder(info: ProbeResult, short_sides: Sequence[int]) -> list[tuple[str, int, int]]:
    """(name, width, height) per rendition, largest first; never upscales, keeps the aspect ratio.

    Names are the short side ("360p"). Sides above the source's short side are dropped; if all
    are, one rendition at the source's own (even) short side is planned.
    """
    w, h = info.width, info.height
    short, long_ = min(w, h), max(w, h)
    sides = sorted({int(s) for s in short_sides if s > 0 and s <= short}, reverse=True)
    if not sides:
        sides = [max(2, short // 2 * 2)]
    plan = []
    for side in sides:
        side = max(2, side // 2 * 2)
        other = _even(long_ * side / short)
        width, height = (side, other) if w <= h else (other, side)
        plan.append((f"{side}p", width, height))
    return plan


class _VideoGraph:
    """buffer -> rotate -> scale -> split -> format=yuv420p -> sink, each smaller rendition
    scaled from the one before (see ``__init__``)."""

    def __init__(
        self,
        stream: av.VideoStream,
        first: av.VideoFrame,
        rotation: int,
        sizes,
        fps: int | None,
        edit: EditSession | None = None,
    ):
        self.graph = av.filter.Graph()
        # one thread: the default (one per core) fights x264's frame threads for the two
        # cores and was measured 8 % slower end to end (bench/transcode.py)
        self.graph.threads = 1
        src = self.graph.add_buffer(
            width=first.width,
            height=first.height,
            format=first.format.name,
            time_base=stream.time_base,
        )
        node = src
        steps = rotation_filters(rotation)
        if fps:
            steps.insert(0, ("fps", str(fps)))
        for name, args in steps:
            nxt = self.graph.add(name, args) if args else self.graph.add(name)
            node.link_to(nxt)
            node = nxt
        if edit is not None:  # crop the rotated full-size picture
            turned = rotation in (90, 270)
            w, h = (first.height, first.width) if turned else (first.width, first.height)
            node = edit.attach(self.graph, node, w, h)  # the crop
        # a cascade: the largest rendition is scaled from the source picture and each smaller
        # one from the scaled picture of the one before it (a "split" hands it on), not all from
        # the full-size picture: a 240p scale reads a 360p picture instead of a 1080p one
        self.sinks = []
        prev_w = first.height if rotation in (90, 270) else first.width
        for i, (w, h) in enumerate(sizes):
            # "area" averages: as sharp as bicubic for 2x+ reductions at half its cost (measured
            # 1.5 vs 3.3 ms a frame for 1080x1920 -> 360x640)
            flags = "area" if w * 2 <= prev_w else "bicubic"
            scale = self.graph.add("scale", f"{w}:{h}:flags={flags}")
            node.link_to(scale, 0 if i == 0 else 1, 0)
            scaled = scale
            if i + 1 < len(sizes):  # hand the scaled picture on to the next rendition too
                scaled = self.graph.add("split", "2")
                scale.link_to(scaled)
            sar = self.graph.add("setsar", "1")
            fmt = self.graph.add("format", "yuv420p")
            sink = self.graph.add("buffersink")
            # look and text per rendition, at its own size (cost follows the pixels)
            (edit.finish(self.graph, scaled, w, h) if edit is not None else scaled).link_to(sar)
            sar.link_to(fmt)
            fmt.link_to(sink)
            self.sinks.append(sink)
            node, prev_w = scaled, w
        self.graph.configure()
        if edit is not None:
            edit.prime()
        self.src = src

    def push(self, frame: av.VideoFrame | None) -> list[list[av.VideoFrame]]:
        self.src.push(frame)
        out: list[list[av.VideoFrame]] = []
        for sink in self.sinks:
            frames = []
            while True:
                try:
                    frames.append(sink.pull())
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
            out.append(frames)
        return out


class _Output:
    """One rendition being written: container, video and audio encoders, and a worker thread.

    The x264 encode of each picture and the muxing of its packets run on the output's own
    thread, handed over ``_BATCH`` pictures at a time (PyAV releases the GIL in the codec and
    muxer calls), so the decoder and the scaler in the calling thread never wait for an
    encoder: x264 runs its lookahead and waits for a free frame thread inside the encode call,
    which used to stall the decoding thread (bench/transcode.py: 0.9-1.2x of the ffmpeg CLI's
    wall time before, ~0.75x after).
    """

    def __init__(self, tmp: Path, width: int, height: int, rate, time_base, opts: dict):
        self.tmp = tmp
        self.container = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
        vs = self.container.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.time_base = time_base
        if width * height <= _ONE_ENCODER_THREAD:
            vs.thread_count = 1
        else:
            vs.thread_type = "AUTO"
        # keyframes only where encode_video forces them (fixed times, the same in every
        # rendition): no scene-cut keyframes, and x264's own interval is kept out of the way
        gop = max(1, int(round(float(rate or 30) * float(KEYFRAME_S))))
        vs.codec_context.gop_size = gop * 4
        vs.options = {
            "preset": opts["preset"],
            "crf": str(opts["crf"]),
            "forced-idr": "1",
            "x264-params": f"scenecut=0:keyint={gop * 4}:min-keyint=1",
        }
        aus = self.container.add_stream("aac", rate=AUDIO_RATE)
        aus.layout = "stereo"
        aus.bit_rate = opts["audio_bitrate"]
        # the default "twoloop" coder costs ~3x more CPU than the encode of a 240p picture
        aus.options = {"aac_coder": "fast"}
        self.video, self.audio = vs, aus
        self.last_pts: int | None = None
        self.end_pts = 0
        self.next_key = Fraction(0)  # output time of the next forced keyframe
        self.looks: Callable[[float, av.VideoFrame], None] | None = None  # see transcode()
        # the encoders open and the header is written here, before the worker exists: the
        # worker then only encodes pictures and muxes, the caller only encodes sound
        try:
            self.container.start_encoding()
        except BaseException:
            with contextlib.suppress(Exception):
                self.container.close()
            raise
        self.lock = threading.Lock()  # one muxer call at a time (worker: video, caller: sound)
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"x264-{height}")
        self.pending: deque[Future] = deque()
        self.batch: list[av.VideoFrame | None] = []

    def _submit(self, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` on the worker after what was submitted before; at most
        ``_BACKLOG`` calls wait (the caller blocks on the oldest), and a worker's error is
        raised here."""
        while self.pending and self.pending[0].done():
            self.pending.popleft().result()
        self.pending.append(self.worker.submit(fn, *args))
        while len(self.pending) > _BACKLOG:
            self.pending.popleft().result()

    def encode_video(self, frame: av.VideoFrame | None) -> None:
        if frame is not None:
            if frame.pts is None or (self.last_pts is not None and frame.pts <= self.last_pts):
                return
            self.last_pts = frame.pts
            t = frame.pts * (frame.time_base or self.video.codec_context.time_base)
            if t >= self.next_key:  # the first frame at or past the mark is a keyframe
                frame.pict_type = av.video.frame.PictureType.I
                while self.next_key <= t:
                    self.next_key += KEYFRAME_S
            else:
                frame.pict_type = av.video.frame.PictureType.NONE
            if self.looks is not None:
                self.looks(float(t), frame)
        self.batch.append(frame)
        if frame is None or len(self.batch) >= _BATCH:
            batch, self.batch = self.batch, []
            self._submit(self._encode, batch)

    def _encode(self, frames: list[av.VideoFrame | None]) -> None:
        """On the worker: encode pictures (None: flush) and mux what comes out."""
        for frame in frames:
            packets = self.video.encode(frame)
            if packets:
                with self.lock:
                    self.container.mux(packets)

    def mux_audio(self, packet: av.Packet) -> None:
        """Mux a sound packet (from the caller's thread)."""
        with self.lock:
            packet.stream = self.audio  # the same stream index and time base in each file
            self.container.mux(packet)

    def finish(self) -> None:
        """Close the file on the worker (after ``encode_video(None)``); wait for all of it."""
        self._submit(self.container.close)
        while self.pending:
            self.pending.popleft().result()
        self.worker.shutdown()

    def close(self) -> None:
        """Stop the worker (what is queued is dropped) and close the file."""
        self.worker.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()
        self.container.close()


def transcode(
    src: Path,
    out_dir: Path,
    short_sides: Sequence[int] = (360, 240),
    *,
    progress: Callable[[float], None] | None = None,
    preset: str = "veryfast",
    crf: int = 26,
    audio_bitrate: int = 96_000,
    info: ProbeResult | None = None,
    edit: EditRecipe | EditSession | None = None,
    looks: Callable[[float, av.VideoFrame], None] | None = None,
) -> list[Rendition]:
    """Transcode ``src`` into ``out_dir/{name}.mp4`` per planned rendition, in one decode pass.

    Raises InvalidMedia when ``src`` is not a video we accept (if ``info`` is not given it is
    probed first) and TranscodeError when writing fails; no partial file is left either way.
    ``progress(fraction)`` is called with values rising from 0.0 to 1.0. ``edit`` is applied
    in the same pass (InvalidMedia when it does not fit the clip, e.g. a trim past its end);
    it may be a session already made for ``info``, whose output metadata is then reused.
    ``looks(time_s, picture)`` sees every picture of the largest rendition as it goes to the
    encoder (e.g. ``poster.LookSampler.offer``: the poster and features without decoding the
    rendition again); it must not keep the picture.
    """
    src, out_dir = Path(src), Path(out_dir)
    if info is None:
        info = probe(src)
    session = _session(edit, info)
    plan = plan_ladder(session.output if session else info, short_sides)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TranscodeError(f"Cannot create the output folder: {exc}") from exc
    finals = [out_dir / f"{name}.mp4" for name, _, _ in plan]
    tmps = [temp_beside(final, ".mp4") for final in finals]
    opts = {"preset": preset, "crf": int(crf), "audio_bitrate": int(audio_bitrate)}
    report = progress or (lambda _f: None)
    try:
        report(0.0)
        durations = _run(src, info, plan, tmps, opts, report, session, looks)
        renditions = [
            Rendition(name, w, h, commit(tmp, final), final.stat().st_size, duration)
            for (name, w, h), tmp, final, duration in zip(
                plan, tmps, finals, durations, strict=True
            )
        ]
        report(1.0)
        return renditions
    except BaseException as exc:
        for tmp in tmps:
            discard(tmp)
        if isinstance(exc, (av.error.FFmpegError, OSError, ValueError, RuntimeError)):
            raise TranscodeError(f"Transcoding failed: {exc}") from exc
        raise


def _session(edit: EditRecipe | EditSession | None, info: ProbeResult) -> EditSession | None:
    """The edit session of one pass over ``info``'s clip; None when nothing is edited."""
    if edit is None:
        return None
    from .edit_graph import EditSession

    if isinstance(edit, EditSession):
        return edit
    return None if edit.is_identity else EditSession(edit, info)


class _AudioTimeline:
    """Audio for every output on one sample clock: aligned to the video start, capped at its end."""

    def __init__(self, outputs: list[_SharedSound], limit_s: float):
        self.outputs = outputs
        self.limit = int(round(limit_s * AUDIO_RATE))
        self.written = 0
        self.skip = 0  # source samples to drop (audio that starts before the video)
        self.aligned = False
        self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        self.fill: Callable[[int, int], av.AudioFrame | np.ndarray] = lambda _at, n: _silence(n)

    def align(self, start_s: float) -> None:
        """Place the first source sample at ``start_s`` on the output timeline."""
        self.aligned = True
        offset = int(round(start_s * AUDIO_RATE))
        if offset > AUDIO_RATE // 100:
            self.pad_to(offset)
        elif offset < 0:
            self.skip = -offset

    def add(self, frame: av.AudioFrame | None) -> None:
        for out_frame in self.resampler.resample(frame):
            self._write(out_frame)

    def pad_to(self, samples: int) -> None:
        while self.written < min(samples, self.limit):
            n = min(_SILENCE_CHUNK, samples - self.written)
            self._write(self.fill(self.written, n))

    def _write(self, data: av.AudioFrame | np.ndarray) -> None:
        """Append fltp stereo samples: a resampled frame, or a (2, n) array from an edit.

        Samples still to skip are dropped from the front and nothing goes past the limit;
        a frame that fits whole is encoded as it is.
        """
        n = data.samples if isinstance(data, av.AudioFrame) else data.shape[1]
        start = min(self.skip, n)
        self.skip -= start
        stop = min(n, start + max(0, self.limit - self.written))
        if stop <= start:
            return
        if isinstance(data, av.AudioFrame):
            frame = data if (start, stop) == (0, n) else _audio_slice(data, start, stop)
        else:
            import numpy as np

            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, start:stop], dtype=np.float32),
                format="fltp",
                layout="stereo",
            )
        frame.sample_rate = AUDIO_RATE
        self._emit(frame)

    def _emit(self, frame: av.AudioFrame) -> None:
        """Encode one fltp stereo 48 kHz frame at the end of the timeline, for every output."""
        frame.time_base = _AUDIO_TB
        frame.pts = self.written
        self.written += frame.samples
        for out in self.outputs:
            out.encode_audio(frame)

    def flush(self) -> None:
        """Flush the sound encoders."""
        for out in self.outputs:
            out.encode_audio(None)


class _SharedSound:
    """The sound of every rendition, encoded once: the renditions carry the same sound with the
    same settings, so the first output's AAC encoder makes the packets and each packet is muxed
    into every output (an AAC encode costs about as much CPU as a 240p picture's)."""

    def __init__(self, outputs: list[_Output]):
        self.outputs = outputs

    def encode_audio(self, frame: av.AudioFrame | None) -> None:
        for packet in self.outputs[0].audio.encode(frame):
            for out in self.outputs:
                out.mux_audio(packet)


def _silence(samples: int) -> av.AudioFrame:
    """``samples`` of fltp stereo silence."""
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    for plane in frame.planes:
        plane.update(bytes(samples * 4))
    return frame


def _audio_slice(frame: av.AudioFrame, start: int, stop: int) -> av.AudioFrame:
    """Samples ``start:stop`` of an fltp stereo frame, copied plane by plane (4 bytes each)."""
    out = av.AudioFrame(format="fltp", layout="stereo", samples=stop - start)
    for src, dst in zip(frame.planes, out.planes, strict=True):
        dst.update(memoryview(src)[start * 4 : stop * 4])
    return out


@dataclass(frozen=True)
class _Clock:
    """The time bases and frame rates of one pass."""

    tb: Fraction  # of the source's video stream
    frame_s: float  # one source frame, in seconds
    rate: Fraction  # of the output
    out_tb: Fraction  # of the output
    cap: int | None  # constant output rate for a too-fast source

    @classmethod
    def of(cls, vstream: av.VideoStream, edit: EditSession | None) -> _Clock:
        tb = vstream.time_base or Fraction(1, 90_000)
        rate = Fraction(vstream.average_rate or vstream.guessed_rate or 30)
        rate = rate.limit_denominator(1001)
        frame_s = float(1 / rate)
        if edit is not None:  # the edited timeline's frame rate
            rate = Fraction(rate * Fraction(edit.speed)).limit_denominator(1001)
        if rate > MAX_FPS:
            return cls(tb, frame_s, Fraction(CAPPED_FPS), Fraction(1, CAPPED_FPS), CAPPED_FPS)
        return cls(tb, frame_s, rate, tb, None)


class _Pass:
    """One decode pass: each video frame through the graph to every output, sound on one clock."""

    def __init__(
        self,
        vstream: av.VideoStream,
        has_audio: bool,
        plan: Sequence[tuple[str, int, int]],
        info: ProbeResult,
        clock: _Clock,
        outputs: list[_Output],
        report: Callable[[float], None],
        edit: EditSession | None,
    ):
        self.vstream, self.plan, self.clock, self.outputs = vstream, plan, clock, outputs
        self.rotation, self.report, self.edit = info.rotation, report, edit
        out_info = edit.output if edit is not None else info  # the edited timeline, if any
        # the probed duration is measured from the packets, so it also caps a truncated file
        self.audio = _AudioTimeline([_SharedSound(outputs)], limit_s=max(out_info.duration_s, 0.05))
        if edit is not None:
            self.audio.fill = edit.fill
        # silence (or the edit's tone) follows the video when no source sound is kept
        self.pad_sound = not has_audio or (edit is not None and edit.recipe.audio != "keep")
        self.expected = max(out_info.duration_s, 1e-3)
        self.graph: _VideoGraph | None = None
        self.origin = 0  # first video pts: the output's zero
        self.video_end = 0.0  # seconds of video written (end of the last frame)
        self.reported = 0.0
        self.early_audio: list[av.AudioFrame] = []  # sound decoded before the first picture

    def feed(self, packet: av.Packet) -> bool:
        """Decode one packet into the outputs; False once nothing more is wanted (trim end)."""
        is_video = packet.stream is self.vstream
        if self.edit is not None and self.edit.past_end:  # the trim's end: read just the sound on
            verdict = self.edit.after_end(packet, is_video, float(self.origin * self.clock.tb))
            if verdict != "keep":
                return verdict != "stop"
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            return True  # a damaged packet (e.g. the cut end of a truncated file)
        except av.error.FFmpegError:
            if is_video:
                raise
            return True  # undecodable sound: the track is padded with silence instead
        for frame in frames:
            if isinstance(frame, av.VideoFrame):
                self._video(frame)
            elif self.graph is None:
                self.early_audio.append(frame)
            else:
                _feed_audio(self.audio, frame, self.origin * self.clock.tb, self.edit)
        return True

    def _start(self, first: av.VideoFrame) -> None:
        """Build the graph on the first picture; its time is the output's zero."""
        self.origin = first.pts
        sizes = [(w, h) for _, w, h in self.plan]
        self.graph = _VideoGraph(
            self.vstream, first, self.rotation, sizes, self.clock.cap, self.edit
        )
        for frame in self.early_audio:
            _feed_audio(self.audio, frame, self.origin * self.clock.tb, self.edit)
        self.early_audio.clear()

    def _video(self, frame: av.VideoFrame) -> None:
        if frame.pts is None:
            return
        if self.graph is None:
            self._start(frame)
        assert self.graph is not None
        tb = self.clock.tb
        frame.pts -= self.origin
        if self.edit is not None and not self.edit.video(frame, tb, self.clock.frame_s):
            return
        start = float(frame.pts * tb)
        duration = float(frame.duration * tb) if frame.duration else self.clock.frame_s
        self.video_end = max(self.video_end, start + duration)
        _push(self.graph, self.outputs, frame)
        if self.pad_sound:
            self.audio.pad_to(int(self.video_end * AUDIO_RATE))
        done = min(0.99, self.video_end / self.expected)
        if done - self.reported >= 0.01:
            self.reported = done
            self.report(done)

    def finish(self) -> float:
        """Flush the graph, the sound and the encoders; the length written, in seconds."""
        if self.graph is None:
            raise InvalidMedia("No video frame could be decoded; the file is damaged.")
        _push(self.graph, self.outputs, None)
        audio = self.audio
        audio.limit = min(audio.limit, int(round(self.video_end * AUDIO_RATE)))
        if self.edit is not None:  # flush the edit's sound filters
            _feed_audio(audio, None, self.origin * self.clock.tb, self.edit)
        if audio.aligned:
            audio.add(None)
        audio.pad_to(audio.limit)  # same length as the video (silence if the sound ran short)
        for out in self.outputs:
            out.encode_video(None)
        audio.flush()
        return round(self.video_end, 3)


def _run(
    src: Path,
    info: ProbeResult,
    plan: Sequence[tuple[str, int, int]],
    tmps: Sequence[Path],
    opts: dict,
    report: Callable[[float], None],
    edit: EditSession | None = None,
    looks: Callable[[float, av.VideoFrame], None] | None = None,
) -> list[float]:
    """Decode ``src`` once and write every planned rendition to its temp file; their lengths."""
    with open_video(src) as (container, vstream):
        if info.coded_width * info.coded_height <= _ONE_DECODER_THREAD:
            # up to 1080p one decoder thread: the renditions' encoder threads keep both cores
            # busy beside it, and frame threads cost ~15 % more decoding CPU and more wall time
            vstream.codec_context.thread_count = 1
        else:  # bigger pictures: decoding is most of the work, so it gets frame threads
            vstream.thread_type = "AUTO"
        astream = container.streams.audio[0] if container.streams.audio else None
        clock = _Clock.of(vstream, edit)
        outputs: list[_Output] = []
        try:
            for (_, w, h), tmp in zip(plan, tmps, strict=True):
                outputs.append(_Output(tmp, w, h, clock.rate, clock.out_tb, opts))
            outputs[0].looks = looks  # the largest rendition (plan_ladder: largest first)
            one_pass = _Pass(vstream, astream is not None, plan, info, clock, outputs, report, edit)
            streams = [vstream] + ([astream] if astream is not None else [])
            for packet in container.demux(*streams):
                if not one_pass.feed(packet):
                    break
            video_end = one_pass.finish()
            for out in outputs:
                out.finish()
            return [video_end] * len(outputs)
        finally:
            for out in outputs:
                with contextlib.suppress(Exception):
                    out.close()


def _feed_audio(
    audio: _AudioTimeline,
    frame: av.AudioFrame | None,
    origin_s: Fraction,
    edit: EditSession | None = None,
) -> None:
    if edit is not None:  # trimmed/sped-up sound, already relative to the output's start
        for edited in edit.audio(frame, float(origin_s)):
            _feed_audio(audio, edited, Fraction(0))
        return
    if not audio.aligned:
        start = float(frame.pts * frame.time_base - origin_s) if frame.pts is not None else 0.0
        audio.align(start)
    audio.add(frame)


def _push(graph: _VideoGraph, outputs: list[_Output], frame: av.VideoFrame | None) -> None:
    for out, frames in zip(outputs, graph.push(frame), strict=True):
        for f in frames:
            out.encode_video(f)
