"""Synthetic test inputs written with PyAV: small videos of any codec, size, rotation or rate."""

from __future__ import annotations

import fractions
import struct
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


def _mux(out: av.container.OutputContainer, stream, frame=None) -> None:
    """Encode ``frame`` on ``stream`` (None flushes the encoder) and write what comes out."""
    for packet in stream.encode(frame):
        out.mux(packet)


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
    black_until_s: float = 0.0,
    grain: bool = False,
) -> Path:
    """Write a small synthetic clip to ``path`` and return it.

    ``rotation`` is written as a display matrix (counter-clockwise degrees, as
    ``VideoFrame.rotation`` reads it back), so a 320x240 clip with ``rotation=90`` displays as
    240x320. ``vfr=True`` gives frames irregular durations (millisecond time base). Frames before
    ``black_until_s`` are black. ``grain=True`` adds changing film grain: at 1080x1920
    that is ~12 Mb/s, about a phone camera's bitrate (benchmarks). Audio is a 440 Hz tone: AAC,
    or Opus in WebM. The container defaults from the file suffix.
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
        noise = rng.integers(-5, 6, (3, height, width, 1), dtype=np.int16) if grain else None
        pts_ms = 0
        for i in range(n_frames):
            shift = (i * 4) % width
            picture = pattern[:, shift : shift + width]
            if i < black_until_s * fps:
                picture = np.zeros_like(picture)
            elif noise is not None:
                picture = np.clip(picture + noise[i % 3], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            if vfr:
                frame.pts = pts_ms
                frame.time_base = fractions.Fraction(1, 1000)
                step = 1000 / fps
                pts_ms += max(1, int(step * rng.choice([0.5, 1.0, 1.5])))
            else:
                frame.pts = i
            _mux(out, vs, frame)
        _mux(out, vs)
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
                _mux(out, aus, frame)
            _mux(out, aus)
    return path


def write_audio_only(path: Path, *, duration_s: float = 1.0, cover: bool = False) -> Path:
    """Write an audio-only file (AAC in ``.m4a``/``.mp4``, Opus in ``.webm``).

    ``cover=True`` (MP4 only) adds cover art: a PNG "video" stream marked as an attached picture,
    like a music file's album art.
    """
    path = Path(path)
    fmt = _CONTAINER_BY_SUFFIX.get(path.suffix.lower(), "mp4")
    with av.open(str(path), "w", format=fmt) as out:
        aus = out.add_stream("libopus" if fmt == "webm" else "aac", rate=48000)
        aus.layout = "stereo"
        if cover:
            art = out.add_stream("png", rate=1)
            art.width, art.height, art.pix_fmt = 64, 48, "rgb24"
            art.disposition = av.stream.Disposition.attached_pic
            picture = np.ascontiguousarray(_pattern(64, 48)[:, :64])
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = 0
            _mux(out, art, frame)
            _mux(out, art)
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
            _mux(out, aus, frame)
        _mux(out, aus)
    return path


def write_gif(path: Path, *, width: int = 64, height: int = 48, frames: int = 10) -> Path:
    """Write an animated GIF (``frames`` pictures at 10 fps) to ``path`` with PyAV."""
    path = Path(path)
    with av.open(str(path), "w", format="gif") as out:
        vs = out.add_stream("gif", rate=10)
        vs.width, vs.height, vs.pix_fmt = width, height, "rgb8"
        for i in range(frames):
            picture = np.roll(_pattern(width, height)[:, :width], 4 * i, axis=1).copy()
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="rgb8")
            frame.pts = i
            _mux(out, vs, frame)
        _mux(out, vs)
    return path


def write_png(path: Path, *, width: int = 64, height: int = 48) -> Path:
    """Write a PNG still image to ``path`` (whatever its suffix) using PyAV's png encoder."""
    path = Path(path)
    frame = av.VideoFrame.from_ndarray(_pattern(width, height)[:, :width].copy(), format="rgb24")
    with av.open(str(path), "w", format="image2", options={"update": "1"}) as out:
        vs = out.add_stream("png", rate=1)
        vs.width, vs.height, vs.pix_fmt = width, height, "rgb24"
        _mux(out, vs, frame)
        _mux(out, vs)
    return path


def write_pixel_bomb(path: Path, *, width: int = 16000, height: int = 16000) -> Path:
    """Write a tiny AVI (a few kB) whose headers and JPEG frames claim ``width`` x ``height``.

    A 16x16 MJPEG clip with its AVI and JPEG size fields patched: what a hostile upload looks
    like. Decoding it naively would allocate a frame of the claimed size.
    """
    path = Path(path)
    with av.open(str(path), "w", format="avi") as out:
        vs = out.add_stream("mjpeg", rate=25)
        vs.width, vs.height, vs.pix_fmt = 16, 16, "yuvj420p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 128, np.uint8), format="rgb24")
            frame.pts = i
            _mux(out, vs, frame)
        _mux(out, vs)
    data = bytearray(path.read_bytes())
    at = data.find(b"avih")
    struct.pack_into("<II", data, at + 8 + 32, width, height)  # dwWidth, dwHeight
    at = data.find(b"strf")
    struct.pack_into("<ii", data, at + 8 + 4, width, height)  # biWidth, biHeight
    at = data.find(b"\xff\xc0")  # JPEG SOF0: length(2) precision(1) height(2) width(2)
    while at >= 0:
        struct.pack_into(">HH", data, at + 5, height, width)
        at = data.find(b"\xff\xc0", at + 2)
    path.write_bytes(bytes(data))
    return path


def truncate(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dest`` (an interrupted upload)."""
    data = Path(src).read_bytes()
    Path(dest).write_bytes(data[: int(len(data) * fraction)])
    return Path(dest)


def faststart_copy(src: Path, dest: Path) -> Path:
    """Remux ``src`` into an MP4 with the moov atom first (so a truncated copy still opens)."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return Path(dest)
