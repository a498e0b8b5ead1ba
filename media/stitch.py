"""Join clips into one MP4, crossfading picture and sound between them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np

from .edit import even
from .edit_graph import AUDIO_RATE, chain
from .errors import InvalidMedia, MediaError, TranscodeError
from .files import atomic_path
from .probe import probe, rotation_filters, video_stream


class _ClipReader:
    """Decode one clip into frames of a fixed size and rate (yuv420p arrays) and 48 kHz audio."""

    def __init__(self, path: Path, width: int, height: int, fps: int):
        self.path, self.width, self.height, self.fps = path, width, height, fps

    def read(self) -> tuple[list[np.ndarray], np.ndarray]:
        try:
            container = av.open(str(self.path), options={"max_pixels": str(8192 * 8192)})
        except (av.error.FFmpegError, OSError) as exc:
            raise InvalidMedia(f"{self.path.name} is not a video we can read.") from exc
        frames: list[np.ndarray] = []
        sound: list[np.ndarray] = []
        with container:
            vs = video_stream(container)
            if vs is None:
                raise InvalidMedia(f"{self.path.name} has no video track.")
            vs.thread_type = "AUTO"
            streams = [vs] + list(container.streams.audio[:1])
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            graph = sink = buf = None
            origin = None
            for frame in container.decode(*streams):
                if isinstance(frame, av.AudioFrame):
                    sound.extend(f.to_ndarray() for f in resampler.resample(frame))
                    continue
                if frame.pts is None:
                    continue
                if graph is None:
                    origin = frame.pts
                    rotation = int(round((frame.rotation or 0) / 90.0)) * 90 % 360
                    graph = av.filter.Graph()
                    buf = graph.add_buffer(
                        width=frame.width,
                        height=frame.height,
                        format=frame.format.name,
                        time_base=vs.time_base,
                    )
                    w, h = self.width, self.height
                    steps = rotation_filters(rotation) + [
                        ("scale", f"{w}:{h}:force_original_aspect_ratio=decrease"),
                        ("pad", f"{w}:{h}:(ow-iw)/2:(oh-ih)/2"),
                        ("setsar", "1"),
                        ("fps", str(self.fps)),
                        ("format", "yuv420p"),
                    ]
                    sink = graph.add("buffersink")
                    chain(graph, buf, steps).link_to(sink)
                    graph.configure()
                frame.pts -= origin
                buf.push(frame)
                frames.extend(self._drain(sink))
            if graph is None:
                raise InvalidMedia(f"No video frame of {self.path.name} could be decoded.")
            buf.push(None)
            frames.extend(self._drain(sink))
            sound.extend(f.to_ndarray() for f in resampler.resample(None))
        audio = np.concatenate(sound, axis=1) if sound else np.zeros((2, 0), np.float32)
        want = int(round(len(frames) / self.fps * AUDIO_RATE))
        if audio.shape[1] < want:
            audio = np.pad(audio, ((0, 0), (0, want - audio.shape[1])))
        return frames, audio[:, :want].astype(np.float32)

    @staticmethod
    def _drain(sink: Any) -> list[np.ndarray]:
        out = []
        while True:
            try:
                out.append(sink.pull().to_ndarray())
            except (av.error.BlockingIOError, av.error.EOFError):
                return out


def stitch(
    sources: Sequence[Path],
    dest: Path,
    *,
    crossfade_s: float = 0.5,
    fps: int = 30,
    max_side: int = 1920,
    crf: int = 18,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Join ``sources`` into one H.264/AAC MP4 at ``dest``, crossfading ``crossfade_s`` between clips.

    The picture takes the first clip's displayed size (long side at most ``max_side``); other
    clips are letterboxed into it. Video and sound fade linearly over the same frames, so the
    result is ``sum(durations) - (len(sources) - 1) * crossfade`` long (the fade is shortened
    for clips shorter than it). Written under a temporary name and renamed when complete.
    """
    sources = [Path(s) for s in sources]
    if not sources:
        raise InvalidMedia("nothing to stitch")
    first = probe(sources[0])
    scale = min(1.0, max_side / max(first.width, first.height))
    width, height = even(first.width * scale), even(first.height * scale)
    dest = Path(dest)
    report = progress or (lambda _f: None)
    mp4 = {"format": "mp4", "options": {"movflags": "+faststart"}}
    try:
        with atomic_path(dest, suffix=".mp4") as tmp, av.open(str(tmp), "w", **mp4) as out:
            vs = out.add_stream("libx264", rate=fps)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.codec_context.time_base = Fraction(1, fps)
            vs.thread_type = "AUTO"
            vs.options = {"preset": "veryfast", "crf": str(crf)}
            aus = out.add_stream("aac", rate=AUDIO_RATE)
            aus.layout = "stereo"
            aus.bit_rate = 160_000
            n_video = 0
            n_audio = 0
            tail_v: deque[np.ndarray] = deque()
            tail_a = np.zeros((2, 0), np.float32)

            def put_video(arr: np.ndarray) -> None:
                nonlocal n_video
                frame = av.VideoFrame.from_ndarray(arr, format="yuv420p")
                frame.pts = n_video
                frame.time_base = Fraction(1, fps)
                n_video += 1
                for packet in vs.encode(frame):
                    out.mux(packet)

            def put_audio(data: np.ndarray) -> None:
                nonlocal n_audio
                for at in range(0, data.shape[1], 1024):
                    block = np.ascontiguousarray(data[:, at : at + 1024], dtype=np.float32)
                    frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                    frame.sample_rate = AUDIO_RATE
                    frame.time_base = Fraction(1, AUDIO_RATE)
                    frame.pts = n_audio
                    n_audio += block.shape[1]
                    for packet in aus.encode(frame):
                        out.mux(packet)

            for index, path in enumerate(sources):
                frames, audio = _ClipReader(path, width, height, fps).read()
                n = min(len(tail_v), max(0, len(frames) - 1), int(round(crossfade_s * fps)))
                # frames of the previous clip beyond the fade can go out now
                while len(tail_v) > n:
                    put_video(tail_v.popleft())
                for k in range(n):
                    a = (k + 1) / (n + 1)
                    mixed = tail_v.popleft().astype(np.float32) * (1 - a) + frames[k] * a
                    put_video(np.clip(mixed + 0.5, 0, 255).astype(np.uint8))
                m = n * AUDIO_RATE // fps
                keep = tail_a.shape[1] - m
                put_audio(tail_a[:, :keep])
                if m:
                    ramp = np.linspace(0, 1, m, dtype=np.float32)[None, :]
                    put_audio(tail_a[:, keep:] * (1 - ramp) + audio[:, :m] * ramp)
                rest = frames[n:]
                hold = int(round(crossfade_s * fps)) if index < len(sources) - 1 else 0
                hold = min(hold, len(rest))
                for arr in rest[: len(rest) - hold]:
                    put_video(arr)
                tail_v = deque(rest[len(rest) - hold :])
                tail_a = audio[:, m:]
                report((index + 1) / len(sources))
            for arr in tail_v:
                put_video(arr)
            put_audio(tail_a)
            for packet in vs.encode(None):
                out.mux(packet)
            for packet in aus.encode(None):
                out.mux(packet)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise TranscodeError(f"Stitching failed: {exc}") from exc
    return dest
