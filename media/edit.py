"""Edit recipes (trim, crop, speed, looks, text, audio, stitching) as PyAV filter graphs."""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np

from .errors import InvalidMedia, MediaError, TranscodeError
from .font import ADVANCE, GLYPH_H, LINE, text_mask, wrap
from .probe import ProbeResult, open_video, rotation_filters, video_stream

AUDIO_RATE = 48_000

# Looks work on 8-bit YUV (LUTs on the planes, no RGB round trip): cheap at full resolution.
LOOKS: dict[str, list[tuple[str, str]]] = {
    "mono": [("lutyuv", "u=128:v=128")],
    "warm": [("lutyuv", "y=clipval*1.03:u=clipval-10:v=clipval+12")],
    "vivid": [("lutyuv", "y=(val-128)*1.12+128:u=(val-128)*1.45+128:v=(val-128)*1.45+128")],
    "vintage": [("lutyuv", "y=val*0.82+26:u=(val-128)*0.55+120:v=(val-128)*0.55+138")],
    "sharpen": [("unsharp", "5:5:1.0:5:5:0.0")],
}
CROPS: dict[str, Fraction] = {"9:16": Fraction(9, 16), "1:1": Fraction(1, 1)}
TEXT_POSITIONS = ("bottom", "center", "top")
TEXT_SIZES: dict[str, int] = {"small": 28, "medium": 20, "large": 14}  # characters per line
AUDIO_MODES = ("keep", "mute", "tone")
SPEED_RANGE = (0.25, 4.0)
TEXT_MAX = 150
TEXT_MAX_LINES = 4
MIN_OUTPUT_S = 0.2
_KEYS = ("trim", "crop", "look", "filter", "speed", "text", "audio", "mute", "tone", "tone_hz")


@dataclass(frozen=True)
class EditRecipe:
    """What to do to an upload before it is published. Times are in source seconds."""

    trim_start: float = 0.0
    trim_end: float | None = None
    crop: str | None = None
    look: str | None = None
    speed: float = 1.0
    text: str = ""
    text_position: str = "bottom"
    text_size: str = "medium"
    audio: str = "keep"
    tone_hz: float = 440.0

    @property
    def is_identity(self) -> bool:
        """True when the recipe changes nothing."""
        return not self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (what is stored and shown); parse_recipe reads it back."""
        out: dict[str, Any] = {}
        if self.trim_start or self.trim_end is not None:
            out["trim"] = {"start": self.trim_start, "end": self.trim_end}
        if self.crop:
            out["crop"] = self.crop
        if self.look:
            out["look"] = self.look
        if self.speed != 1.0:
            out["speed"] = self.speed
        if self.text:
            out["text"] = {
                "text": self.text,
                "position": self.text_position,
                "size": self.text_size,
            }
        if self.audio != "keep":
            out["audio"] = self.audio
            if self.audio == "tone":
                out["tone_hz"] = self.tone_hz
        return out


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidMedia(f"{what} must be a number of seconds, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise InvalidMedia(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidMedia(f"{what} must be a finite number")
    return number


def _parse_trim(value: Any) -> tuple[float, float | None]:
    if isinstance(value, str):
        start, sep, end = value.partition("-")
        if not sep:
            raise InvalidMedia(f"trim must look like 'START-END' (seconds), not {value!r}")
        value = [start or 0, end or None]
    if isinstance(value, Mapping):
        extra = set(value) - {"start", "end"}
        if extra:
            raise InvalidMedia(f"trim takes 'start' and 'end', not {sorted(extra)}")
        value = [value.get("start", 0) or 0, value.get("end")]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InvalidMedia("trim must be {'start': S, 'end': E}, [S, E] or 'S-E' in seconds")
    start = _number(value[0], "trim start")
    end = None if value[1] is None else _number(value[1], "trim end")
    return start, end


def parse_recipe(data: Mapping[str, Any] | None) -> EditRecipe:
    """Read a recipe from its JSON form; raise InvalidMedia saying what is wrong.

    Checks names and ranges that do not depend on the clip (known looks, crops, speeds, text
    length); ``validate`` then checks the recipe against the probed clip (trim inside it).
    """
    if data is None:
        return EditRecipe()
    if not isinstance(data, Mapping):
        raise InvalidMedia("the edit recipe must be a JSON object")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InvalidMedia(
            f"unknown edit option(s) {', '.join(map(repr, unknown))}; known options: "
            "trim, crop, look, speed, text, audio, tone_hz"
        )
    kw: dict[str, Any] = {}
    if data.get("trim") is not None:
        kw["trim_start"], kw["trim_end"] = _parse_trim(data["trim"])
    if data.get("crop") not in (None, "", "none", "original"):
        crop = str(data["crop"])
        if crop not in CROPS:
            raise InvalidMedia(f"unknown crop {crop!r}; known crops: {', '.join(CROPS)}")
        kw["crop"] = crop
    look = data.get("look", data.get("filter"))
    if look not in (None, "", "none"):
        if not isinstance(look, str) or look.lower() not in LOOKS:
            raise InvalidMedia(f"unknown look {look!r}; known looks: {', '.join(LOOKS)}")
        kw["look"] = look.lower()
    if data.get("speed") is not None:
        speed = _number(data["speed"], "speed")
        if not SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]:
            raise InvalidMedia(
                f"speed must be between {SPEED_RANGE[0]} and {SPEED_RANGE[1]}, not {speed}"
            )
        kw["speed"] = speed
    text = data.get("text")
    if text is not None:
        if isinstance(text, str):
            text = {"text": text}
        if not isinstance(text, Mapping) or not isinstance(text.get("text", ""), str):
            raise InvalidMedia("text must be a string or {'text', 'position', 'size'}")
        extra = set(text) - {"text", "position", "size"}
        if extra:
            raise InvalidMedia(f"text takes 'text', 'position' and 'size', not {sorted(extra)}")
        body = " ".join(text.get("text", "").split())
        if len(body) > TEXT_MAX:
            raise InvalidMedia(f"text overlay is at most {TEXT_MAX} characters")
        position = text.get("position", "bottom")
        if position not in TEXT_POSITIONS:
            raise InvalidMedia(
                f"unknown text position {position!r}; known: {', '.join(TEXT_POSITIONS)}"
            )
        size = text.get("size", "medium")
        if size not in TEXT_SIZES:
            raise InvalidMedia(f"unknown text size {size!r}; known: {', '.join(TEXT_SIZES)}")
        kw.update(text=body, text_position=position, text_size=size)
    audio = data.get("audio", "keep")
    if data.get("mute"):
        audio = "mute"
    if data.get("tone") not in (None, False):
        audio = "tone"
        kw["tone_hz"] = _number(data["tone"], "tone")
    if audio not in AUDIO_MODES:
        raise InvalidMedia(f"unknown audio mode {audio!r}; known: {', '.join(AUDIO_MODES)}")
    kw["audio"] = audio
    if data.get("tone_hz") is not None:
        kw["tone_hz"] = _number(data["tone_hz"], "tone_hz")
    if not 20.0 <= kw.get("tone_hz", 440.0) <= 20_000.0:
        raise InvalidMedia("tone frequency must be between 20 and 20000 Hz")
    return EditRecipe(**kw)


def validate(recipe: EditRecipe, info: ProbeResult) -> None:
    """Raise InvalidMedia when ``recipe`` does not fit the probed clip (e.g. trim outside it)."""
    duration = info.duration_s
    start, end = recipe.trim_start, recipe.trim_end
    if start < 0 or (end is not None and end < 0):
        raise InvalidMedia("trim times cannot be negative")
    if start >= duration:
        raise InvalidMedia(f"trim start {start:g} s is past the end of the {duration:g} s video")
    if end is not None and end > duration + 0.05:
        raise InvalidMedia(f"trim end {end:g} s is past the end of the {duration:g} s video")
    if end is not None and end <= start:
        raise InvalidMedia(f"trim end {end:g} s must come after trim start {start:g} s")
    if output_duration(recipe, duration) < MIN_OUTPUT_S:
        raise InvalidMedia(f"the edited video would be shorter than {MIN_OUTPUT_S} s")
    if recipe.look is not None and recipe.look not in LOOKS:
        raise InvalidMedia(f"unknown look {recipe.look!r}; known looks: {', '.join(LOOKS)}")
    if recipe.crop is not None and recipe.crop not in CROPS:
        raise InvalidMedia(f"unknown crop {recipe.crop!r}; known crops: {', '.join(CROPS)}")
    if not SPEED_RANGE[0] <= recipe.speed <= SPEED_RANGE[1]:
        raise InvalidMedia(f"speed must be between {SPEED_RANGE[0]} and {SPEED_RANGE[1]}")


def output_duration(recipe: EditRecipe, duration_s: float) -> float:
    """Length of the edited video, in seconds."""
    end = duration_s if recipe.trim_end is None else min(recipe.trim_end, duration_s)
    return max(0.0, end - recipe.trim_start) / recipe.speed


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def crop_size(
    recipe: EditRecipe, width: int, height: int, sar: Fraction = Fraction(1)
) -> tuple[int, int]:
    """Pixel size after the recipe's centred crop of a ``width`` x ``height`` picture."""
    if recipe.crop is None:
        return width, height
    aspect = CROPS[recipe.crop]
    if width * sar / height > aspect:
        return min(width, _even(height * aspect / sar)), height
    return width, min(height, _even(width * sar / aspect))


def output_info(recipe: EditRecipe, info: ProbeResult) -> ProbeResult:
    """What the edited video will be: cropped display size, edited duration, rate."""
    width, height = crop_size(recipe, info.width, info.height)
    return replace(
        info,
        width=width,
        height=height,
        duration_s=round(output_duration(recipe, info.duration_s), 3),
        fps=round(info.fps * recipe.speed, 3),
    )


def crop_filters(recipe: EditRecipe, width: int, height: int) -> list[tuple[str, str]]:
    """The (filter, args) chain for the centred crop of a ``width`` x ``height`` picture."""
    cw, ch = crop_size(recipe, width, height)
    if (cw, ch) == (width, height):
        return []
    return [("crop", f"{cw}:{ch}:{(width - cw) // 4 * 2}:{(height - ch) // 4 * 2}")]


def look_filters(recipe: EditRecipe) -> list[tuple[str, str]]:
    """The (filter, args) chain of the recipe's look (8-bit 4:2:0 first: the LUTs assume it)."""
    if recipe.look is None:
        return []
    return [("format", "yuv420p"), *LOOKS[recipe.look]]


def _atempo_chain(speed: float) -> list[tuple[str, str]]:
    steps = []
    while speed < 0.5:
        steps.append(("atempo", "0.5"))
        speed /= 0.5
    steps.append(("atempo", f"{speed:.6f}"))
    return steps


def audio_filters(recipe: EditRecipe, origin_s: float = 0.0) -> list[tuple[str, str]]:
    """The (filter, args) chain that trims (source timestamps) and speeds up the sound.

    The output's timestamps start at the trim start; ``atempo`` keeps the pitch.
    """
    steps: list[tuple[str, str]] = []
    start = origin_s + recipe.trim_start
    trim = [f"start={start:.6f}"]
    if recipe.trim_end is not None:
        trim.append(f"end={origin_s + recipe.trim_end:.6f}")
    steps.append(("atrim", ":".join(trim)))
    steps.append(("asetpts", f"PTS-{start:.6f}/TB"))
    if recipe.speed != 1.0:
        steps.extend(_atempo_chain(recipe.speed))
    return steps


def tone(
    start: int, count: int, hz: float, *, rate: int = AUDIO_RATE, level: float = 0.2
) -> np.ndarray:
    """``count`` stereo float32 samples of a sine at ``hz`` starting at sample ``start``."""
    t = (np.arange(start, start + count, dtype=np.float64)) / rate
    wave = (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.ascontiguousarray(np.stack([wave, wave]))


@dataclass(frozen=True)
class TextLayout:
    """Where the caption block sits on a picture: pixel box and font scale."""

    x: int
    y: int
    width: int
    height: int
    scale: int
    lines: tuple[str, ...]


def text_layout(recipe: EditRecipe, width: int, height: int) -> TextLayout | None:
    """Size and place the text for a ``width`` x ``height`` picture (None without text).

    The font scale gives about 20 characters per line (medium) whatever the resolution; the
    block is centred horizontally, and sits above the bottom fifth (where players draw their
    own controls), below the top tenth, or in the middle.
    """
    if not recipe.text:
        return None
    per_line = TEXT_SIZES[recipe.text_size]
    scale = max(1, width // (ADVANCE * per_line))
    margin = max(2, scale * 2)
    lines = wrap(recipe.text, width - 2 * margin - 2 * scale, scale)
    if len(lines) > TEXT_MAX_LINES:
        lines = lines[:TEXT_MAX_LINES]
        last = lines[-1]
        lines[-1] = (last[: max(0, len(last) - 3)] + "...") if len(last) > 3 else "..."
    text_w = max(len(line) for line in lines) * ADVANCE * scale - scale
    text_h = (len(lines) - 1) * LINE * scale + GLYPH_H * scale
    box_w = min(width, _even(text_w + 2 * margin + 1))
    box_h = min(height, _even(text_h + 2 * margin + 1))
    x = max(0, (width - box_w) // 4 * 2)
    if recipe.text_position == "top":
        y = int(height * 0.10)
    elif recipe.text_position == "center":
        y = (height - box_h) // 2
    else:
        y = int(height * 0.80) - box_h
    y = min(max(0, y), height - box_h) // 2 * 2
    return TextLayout(x, y, box_w, box_h, scale, tuple(lines))


def text_overlay(layout: TextLayout) -> np.ndarray:
    """The caption block as an RGBA image: white text, dark outline, translucent backing box."""
    rgba = np.zeros((layout.height, layout.width, 4), dtype=np.uint8)
    rgba[..., 3] = 96  # backing box
    glyphs = np.zeros((layout.height, layout.width), dtype=bool)
    scale = layout.scale
    margin = max(2, scale * 2)
    for i, line in enumerate(layout.lines):
        mask = text_mask(line, scale)
        top = margin + i * LINE * scale
        left = (layout.width - mask.shape[1]) // 2
        h = min(mask.shape[0], layout.height - top)
        w = min(mask.shape[1], layout.width - left)
        if h > 0 and w > 0:
            glyphs[top : top + h, left : left + w] |= mask[:h, :w]
    outline = glyphs.copy()
    r = max(1, scale // 3)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            outline |= np.roll(np.roll(glyphs, dy, axis=0), dx, axis=1)
    rgba[outline] = (0, 0, 0, 230)
    rgba[glyphs] = (255, 255, 255, 255)
    return rgba


def _chain(graph: av.filter.Graph, node: Any, steps: Sequence[tuple[str, str]]) -> Any:
    for name, args in steps:
        nxt = graph.add(name, args) if args else graph.add(name)
        node.link_to(nxt)
        node = nxt
    return node


class EditSession:
    """One recipe applied during one decode pass: frame clock, graph pieces, audio, fill.

    Transcode calls ``video()`` on each decoded frame (pts relative to the first frame),
    ``attach()`` while building its filter graph, ``audio()`` on each decoded audio frame and
    ``fill()`` for the samples it pads; all in source order, single-threaded.
    """

    def __init__(self, recipe: EditRecipe, info: ProbeResult | None = None):
        if info is not None:
            validate(recipe, info)
        self.recipe = recipe
        self.source = info
        self.output = output_info(recipe, info) if info is not None else None
        self.past_end = False
        self._overlays: list[tuple[Any, av.VideoFrame]] = []
        self._audio_graph: tuple[Any, Any, Any] | None = None
        self._audio_done = False

    @property
    def speed(self) -> float:
        return self.recipe.speed

    def video(self, frame: av.VideoFrame, time_base: Fraction, frame_dur: float) -> bool:
        """Move ``frame`` onto the edited timeline; False when it is trimmed away."""
        r = self.recipe
        t = float(frame.pts * time_base)
        dur = float(frame.duration * time_base) if frame.duration else frame_dur
        if r.trim_end is not None and t >= r.trim_end - 1e-6:
            self.past_end = True
            return False
        if t + dur <= r.trim_start + 1e-6:
            return False
        new_t = max(0.0, t - r.trim_start) / r.speed
        frame.pts = int(round(new_t / time_base))
        frame.duration = max(1, int(round(dur / r.speed / time_base)))
        return True

    def after_end(self, packet: av.Packet, is_video: bool, origin_s: float) -> str:
        """Once past the trim end: "skip" this packet, or "stop" reading the file.

        Video is done; sound is read on for up to half a second of packets, as the container
        may store it a little after the video of the same moment.
        """
        if self.recipe.audio != "keep" or self._audio_done:
            return "stop"
        if is_video:
            has_audio = self.source is None or self.source.has_audio
            return "skip" if has_audio else "stop"
        end = self.recipe.trim_end if self.recipe.trim_end is not None else math.inf
        if packet.pts is None or packet.time_base is None:
            return "keep"
        return "stop" if float(packet.pts * packet.time_base) - origin_s > end + 0.5 else "keep"

    def attach(self, graph: av.filter.Graph, node: Any, width: int, height: int) -> Any:
        """Add the crop after ``node`` (the rotated, full-size ``width`` x ``height`` picture)."""
        return _chain(graph, node, crop_filters(self.recipe, width, height))

    def finish(self, graph: av.filter.Graph, node: Any, width: int, height: int) -> Any:
        """Add the look and the text after ``node`` (one rendition, already ``width`` x ``height``).

        Done per rendition, after the scale: the looks cost in proportion to the pixels (a
        360p picture has a sixth of a 1080p one), and the text is drawn sharp at each size.
        """
        node = _chain(graph, node, look_filters(self.recipe))
        layout = text_layout(self.recipe, width, height)
        if layout is None:
            return node
        image = av.VideoFrame.from_ndarray(text_overlay(layout), format="rgba")
        image.pts = 0
        src = graph.add_buffer(
            width=layout.width, height=layout.height, format="rgba", time_base=Fraction(1, 1000)
        )
        over = graph.add("overlay", f"x={layout.x}:y={layout.y}:eof_action=repeat:format=yuv420")
        node.link_to(over, 0, 0)
        src.link_to(over, 0, 1)
        self._overlays.append((src, image))
        return over

    def prime(self) -> None:
        """After the graph is configured: feed each (single-frame) text image to its overlay."""
        for src, image in self._overlays:
            src.push(image)
            src.push(None)

    def audio(self, frame: av.AudioFrame | None, origin_s: float) -> list[av.AudioFrame]:
        """Edited sound for one source frame (None flushes); pts relative to the output start."""
        if self.recipe.audio != "keep" or self._audio_done:
            return []
        if self._audio_graph is None:
            if frame is None:
                return []
            graph = av.filter.Graph()
            src = graph.add_abuffer(
                format=frame.format.name,
                sample_rate=frame.sample_rate,
                layout=frame.layout.name,
                time_base=frame.time_base,
            )
            sink = graph.add("abuffersink")
            _chain(graph, src, audio_filters(self.recipe, float(origin_s))).link_to(sink)
            graph.configure()
            self._audio_graph = (graph, src, sink)  # contexts do not keep their graph alive
        _, src, sink = self._audio_graph
        try:
            src.push(frame)
        except av.error.EOFError:  # past the trim end: the graph has finished
            frame = None
        out = []
        while True:
            try:
                f = sink.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            out.append(f)
        if frame is None:
            self._audio_done = True
        return out

    def fill(self, start: int, count: int) -> np.ndarray:
        """Samples for the padded stretches: silence, or the tone for ``audio='tone'``."""
        if self.recipe.audio == "tone":
            return tone(start, count, self.recipe.tone_hz)
        return np.zeros((2, count), dtype=np.float32)


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    from .poster import _encode_jpeg as encode

    return encode(rgb)


def _write_atomic(dest: Path, data: bytes) -> None:
    from .files import write_atomic as write

    write(dest, data)


def preview_still(
    src: Path, recipe: EditRecipe, dest: Path, *, max_width: int = 360, at_s: float | None = None
) -> Path:
    """Write a JPEG of one frame of ``src`` with the recipe's crop, look and text applied.

    The frame is taken ``at_s`` seconds into the source (default: a third into the trimmed
    part). Returns ``dest``; raises InvalidMedia for unreadable input.
    """
    src, dest = Path(src), Path(dest)
    with open_video(src) as (container, stream):
        tb = stream.time_base or Fraction(1, 90_000)
        if at_s is None:
            total = float(stream.duration * tb) if stream.duration else None
            if total is None and container.duration:
                total = container.duration / 1_000_000
            end = recipe.trim_end if recipe.trim_end is not None else (total or recipe.trim_start)
            at_s = recipe.trim_start + max(0.0, end - recipe.trim_start) / 3
        start = stream.start_time or 0
        want = start + int(at_s / tb)
        chosen = None
        with contextlib.suppress(av.error.FFmpegError):
            if at_s > 0:
                container.seek(want, stream=stream, backward=True)
            for frame in container.decode(stream):
                chosen = frame
                if frame.pts is None or frame.pts >= want:
                    break
        if chosen is None:
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(0)
                chosen = next(container.decode(stream), None)
        if chosen is None:
            raise InvalidMedia("No video frame could be decoded; the file is damaged.")
        rotation = int(round((chosen.rotation or 0) / 90.0)) * 90 % 360
        width, height = chosen.width, chosen.height
        if rotation in (90, 270):
            width, height = height, width
        session = EditSession(recipe)
        graph = av.filter.Graph()
        buf = graph.add_buffer(
            width=chosen.width, height=chosen.height, format=chosen.format.name, time_base=tb
        )
        node = _chain(graph, buf, rotation_filters(rotation))
        node = session.attach(graph, node, width, height)
        cw, ch = crop_size(recipe, width, height)
        if cw > max_width:
            cw, ch = max_width, _even(ch * max_width / cw)
            node = _chain(graph, node, [("scale", f"{cw}:{ch}")])
        node = session.finish(graph, node, cw, ch)
        node = _chain(graph, node, [("format", "rgb24")])
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()
        session.prime()
        chosen.pts = 0
        buf.push(chosen)
        buf.push(None)
        rgb = sink.pull().to_ndarray(format="rgb24")
    try:
        data = _encode_jpeg(rgb)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(dest, data)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"Could not write the preview: {exc}") from exc
    return dest


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
                    _chain(graph, buf, steps).link_to(sink)
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
    from .probe import probe

    first = probe(sources[0])
    scale = min(1.0, max_side / max(first.width, first.height))
    width, height = _even(first.width * scale), _even(first.height * scale)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part.mp4")
    report = progress or (lambda _f: None)
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
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
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except MediaError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TranscodeError(f"Stitching failed: {exc}") from exc
    return dest
