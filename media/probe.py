"""Probe an uploaded file and decide, by decoding, whether it is a video we accept."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from .errors import InvalidMedia

# FFmpeg demuxer names (one entry of the comma-separated ``format.name``) -> our container name.
ALLOWED_CONTAINERS: dict[str, str] = {
    "mov": "mp4",
    "mp4": "mp4",
    "matroska": "matroska",
    "webm": "matroska",
    "avi": "avi",
    "mpegts": "mpegts",
}
_IMAGE_HINTS = ("image2", "_pipe", "gif", "apng", "webp", "ico", "tiff", "bmp")
_ANIMATED_IMAGES = ("gif", "apng", "webp")  # formats that may hold more than one picture


@dataclass(frozen=True)
class ProbeResult:
    """What a file really is. ``width``/``height`` are the DISPLAY size, after rotation."""

    container: str
    duration_s: float
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # counter-clockwise degrees in 0/90/180/270, as the display matrix says
    fps: float
    video_codec: str
    audio_codec: str | None
    has_audio: bool
    pix_fmt: str
    bit_depth: int
    vfr: bool


def _open(path: Path, max_dimension: int) -> av.container.InputContainer:
    # max_pixels makes the decoders (also the ones av.open runs to find stream info) refuse
    # frames above the budget instead of allocating them: a 16000x16000 header costs nothing.
    try:
        return av.open(str(path), options={"max_pixels": str(max_dimension * max_dimension)})
    except av.error.InvalidDataError as exc:
        raise InvalidMedia(
            "The file is not a video we can read (unknown or damaged format)."
        ) from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InvalidMedia(
            f"The file is not a video we can read ({exc.__class__.__name__})."
        ) from exc


def _container_name(fmt_name: str) -> str:
    for name in fmt_name.split(","):
        if name in ALLOWED_CONTAINERS:
            return ALLOWED_CONTAINERS[name]
    upload = "upload MP4, MOV, MKV, WebM, AVI or MPEG-TS"
    if any(hint in fmt_name for hint in _ANIMATED_IMAGES):
        raise InvalidMedia(f"Animated images (GIF, APNG, WebP) are not accepted; {upload}.")
    if any(hint in fmt_name for hint in _IMAGE_HINTS):
        raise InvalidMedia("This is a still image, not a video.")
    raise InvalidMedia(f"Unsupported file format {fmt_name!r}; {upload}.")


_NOT_MOTION = (
    av.stream.Disposition.attached_pic
    | av.stream.Disposition.still_image
    | av.stream.Disposition.timed_thumbnails
)


@contextlib.contextmanager
def open_video(path: Path | str) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open a file for decoding (pixel bombs refused) with its moving-picture stream.

    Raises InvalidMedia when it cannot be read or has no video track; closes it on exit."""
    try:
        container = av.open(str(path), options={"max_pixels": str(8192 * 8192)})
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMedia("The file is not a video we can read.") from exc
    with container:
        stream = video_stream(container)
        if stream is None:
            raise InvalidMedia("The file has no video track.")
        yield container, stream


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first moving-picture stream (cover art and thumbnails are not video), or None."""
    for stream in container.streams.video:
        if not (stream.disposition & _NOT_MOTION):
            return stream
    return None


def _normal_rotation(degrees: float) -> int:
    return int(round(degrees / 90.0)) * 90 % 360


def _scan_video_packets(
    container: av.container.InputContainer, stream: av.VideoStream
) -> tuple[float | None, bool]:
    """Demux (no decoding) the video packets: their real time span, and whether rates vary."""
    times: list[int] = []
    end = None
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        times.append(packet.pts)
        stop = packet.pts + (packet.duration or 0)
        end = stop if end is None else max(end, stop)
    if not times or stream.time_base is None:
        return None, False
    times.sort()
    start = times[0]
    deltas = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    if end <= times[-1] and deltas:  # packets without durations (e.g. MPEG-TS)
        end = times[-1] + sorted(deltas)[len(deltas) // 2]
    duration = float((end - start) * stream.time_base)
    vfr = bool(deltas) and (max(deltas) - min(deltas)) > 0.02 * max(deltas) + 1
    if len(times) == 1 and duration <= 0:
        duration = 0.0
    return duration, vfr


def probe(path: Path, *, max_dimension: int = 8192, max_duration_s: float = 600.0) -> ProbeResult:
    """Inspect ``path`` and return what it really holds, or raise InvalidMedia saying why not.

    Headers lie, so at least one video frame must decode, and the duration is measured from the
    demuxed packets (a truncated file reports its full length in its header). The probed size is
    checked against ``max_dimension`` before anything is decoded.
    """
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InvalidMedia("The file could not be read.") from exc
    if size == 0:
        raise InvalidMedia("The file is empty.")
    container = _open(path, max_dimension)
    try:
        name = _container_name(container.format.name)
        stream = video_stream(container)
        if stream is None:
            if container.streams.audio:
                raise InvalidMedia("The file has only sound; a video track is required.")
            raise InvalidMedia("The file has no video track.")
        cc = stream.codec_context
        coded_w, coded_h = stream.width, stream.height
        if coded_w <= 0 or coded_h <= 0:
            raise InvalidMedia(
                f"The video's picture size could not be read; it may be damaged or larger than "
                f"{max_dimension}x{max_dimension}."
            )
        if max(coded_w, coded_h) > max_dimension:
            raise InvalidMedia(
                f"The video is {coded_w}x{coded_h}; the largest side allowed is {max_dimension} px."
            )
        header_duration = None
        if stream.duration is not None and stream.time_base is not None:
            header_duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            header_duration = container.duration / 1_000_000
        if header_duration is not None and header_duration > max_duration_s + 0.1:
            raise InvalidMedia(
                f"The video is {header_duration:.0f} s long; the limit is {max_duration_s:.0f} s."
            )
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_codec = audio.codec_context.codec.canonical_name if audio is not None else None

        try:
            frame = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as exc:
            raise InvalidMedia("No video frame could be decoded; the file is damaged.") from exc
        rotation = _normal_rotation(frame.rotation or 0)
        pix_fmt = frame.format.name
        bit_depth = max((c.bits for c in frame.format.components), default=8)
        coded_w, coded_h = frame.width, frame.height
        sar = stream.sample_aspect_ratio or cc.sample_aspect_ratio
        if sar and sar > 0 and sar != 1:
            coded_disp_w = max(2, round(coded_w * Fraction(sar)))
        else:
            coded_disp_w = coded_w
        if rotation in (90, 270):
            width, height = coded_h, coded_disp_w
        else:
            width, height = coded_disp_w, coded_h

        try:
            container.seek(0)
            measured, vfr = _scan_video_packets(container, stream)
        except av.error.FFmpegError:
            measured, vfr = None, False
        duration = measured if measured else (header_duration or 0.0)
        if duration > max_duration_s + 0.1:
            raise InvalidMedia(
                f"The video is {duration:.0f} s long; the limit is {max_duration_s:.0f} s."
            )
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        return ProbeResult(
            container=name,
            duration_s=round(duration, 3),
            width=width,
            height=height,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation=rotation,
            fps=round(fps, 3),
            video_codec=cc.codec.canonical_name,  # "av1", not the decoder ("libdav1d")
            audio_codec=audio_codec,
            has_audio=audio is not None,
            pix_fmt=pix_fmt,
            bit_depth=bit_depth,
            vfr=vfr,
        )
    finally:
        container.close()


def rotation_filters(rotation: int) -> list[tuple[str, str]]:
    """Filter steps that turn the pixels the way the display matrix says (counter-clockwise)."""
    if rotation == 90:
        return [("transpose", "cclock")]
    if rotation == 270:
        return [("transpose", "clock")]
    if rotation == 180:
        return [("hflip", ""), ("vflip", "")]
    return []
