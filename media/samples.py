"""Synthetic test inputs written with PyAV: small videos of any codec, size, rotation or rate."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import numpy as np

_CONTAINER_BY_SUFFIX = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
    ".ts": "mpegts",
}


def _pattern(width: int, height: int) -> np.ndarray:
    """A colourful, textured RGB frame (twice as wide, so it can scroll) that no encoder finds blank."""
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 2.0, 2 * width, dtype=np.float32)[None, :]
    r = 0.5 + 0.5 * np.sin(2 * np.pi * (xs * 1.5 + ys * 0.5))
    g = 0.5 + 0.5 * np.sin(2 * np.pi * (ys * 2.0 - xs * 0.5) + 1.0)
    b = 0.5 + 0.5 * np.cos(2 * np.pi * (xs + ys) * 3.0)
    img = np.stack(np.broadcast_arrays(r, g, b), axis=-1)
    # an off-centre bright block makes orientation visible in tests (top-left quadrant)
    img[: max(1, height // 4), : max(1, width // 4)] = (1.0, 1.0, 1.0)
    return (img * 235 + 10).astype(np.uint8)


def write_test_video(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    duration_s: float = 1.0,
    fps: int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    audio: bool = True,
    container: str | None = None,
    vfr: bool = False,
) -> Path:
    """Write a small synthetic clip to ``path`` and return it.

    ``rotation`` is written as a display matrix (counter-clockwise degrees, as
    ``VideoFrame.rotation`` reads it back), so a 320x240 clip with ``rotation=90`` displays as
    240x320. ``vfr=True`` gives frames irregular durations (millisecond time base). Audio is a
    440 Hz tone: AAC, or Opus in WebM. The container defaults from the file suffix.
    """
    path = Path(path)
    fmt = container or _CONTAINER_BY_SUFFIX.get(path.suffix.lower(), "mp4")
    n_frames = max(1, round(duration_s * fps))
    pattern = _pattern(width, height)
    with av.open(str(path), "w", format=fmt) as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            vs.options = {"preset": "ultrafast"}
        elif codec == "libx265":
            vs.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        elif codec == "libvpx-vp9":
            vs.options = {"deadline": "realtime", "cpu-used": "8"}
        if vfr:
            vs.codec_context.time_base = fractions.Fraction(1, 1000)
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            acodec = "libopus" if fmt == "webm" else "aac"
            aus = out.add_stream(acodec, rate=48000)
            aus.layout = "stereo"
        rng = np.random.default_rng(1)
        pts_ms = 0
        for i in range(n_frames):
            shift = (i * 4) % width
            frame = av.VideoFrame.from_ndarray(pattern[:, shift : shift + width], format="rgb24")
            if vfr:
                frame.pts = pts_ms
                frame.time_base = fractions.Fraction(1, 1000)
                step = 1000 / fps
                pts_ms += max(1, int(step * rng.choice([0.5, 1.0, 1.5])))
            else:
                frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if aus is not None:
            total = int((pts_ms / 1000 if vfr else n_frames / fps) * 48000)
            t = np.arange(total, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 960
            for start in range(0, total, chunk):
                block = tone[start : start + chunk]
                stereo = np.ascontiguousarray(np.stack([block, block]))
                frame = av.AudioFrame.from_ndarray(stereo, format="fltp", layout="stereo")
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = fractions.Fraction(1, 48000)
                for packet in aus.encode(frame):
                    out.mux(packet)
            for packet in aus.encode():
                out.mux(packet)
    return path


def write_audio_only(path: Path, *, duration_s: float = 1.0) -> Path:
    """Write an audio-only file (AAC in ``.m4a``/``.mp4``, Opus in ``.webm``)."""
    path = Path(path)
    fmt = _CONTAINER_BY_SUFFIX.get(path.suffix.lower(), "mp4")
    with av.open(str(path), "w", format=fmt) as out:
        aus = out.add_stream("libopus" if fmt == "webm" else "aac", rate=48000)
        aus.layout = "stereo"
        total = int(duration_s * 48000)
        for start in range(0, total, 960):
            n = min(960, total - start)
            t = (np.arange(n, dtype=np.float32) + start) / 48000
            block = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(np.stack([block, block])), format="fltp", layout="stereo"
            )
            frame.sample_rate = 48000
            frame.pts = start
            for packet in aus.encode(frame):
                out.mux(packet)
        for packet in aus.encode():
            out.mux(packet)
    return path


def write_png(path: Path, *, width: int = 64, height: int = 48) -> Path:
    """Write a PNG still image to ``path`` (whatever its suffix) using PyAV's png encoder."""
    path = Path(path)
    frame = av.VideoFrame.from_ndarray(_pattern(width, height)[:, :width].copy(), format="rgb24")
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        vs = out.add_stream("png", rate=1)
        vs.width, vs.height, vs.pix_fmt = width, height, "rgb24"
        for packet in vs.encode(frame):
            out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    return path
