"""An edit recipe as PyAV filter graphs: crop, look, text overlay, trimmed and sped-up sound."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.filter
import numpy as np

from .edit import TEXT_MAX_LINES, TEXT_SIZES, EditRecipe, crop_size, even, output_info, validate
from .font import ADVANCE, GLYPH_H, LINE, text_mask, wrap
from .looks import LOOKS
from .probe import ProbeResult

AUDIO_RATE = 48_000


def chain(graph: av.filter.Graph, node: Any, steps: Sequence[tuple[str, str]]) -> Any:
    """Link the (filter, args) ``steps`` one after the other from ``node``; return the last."""
    for name, args in steps:
        nxt = graph.add(name, args) if args else graph.add(name)
        node.link_to(nxt)
        node = nxt
    return node


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
    return [("format", "yuv420p"), *LOOKS[recipe.look].filters]


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
    box_w = min(width, even(text_w + 2 * margin + 1))
    box_h = min(height, even(text_h + 2 * margin + 1))
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
        return chain(graph, node, crop_filters(self.recipe, width, height))

    def finish(self, graph: av.filter.Graph, node: Any, width: int, height: int) -> Any:
        """Add the look and the text after ``node`` (one rendition, already ``width`` x ``height``).

        Done per rendition, after the scale: the looks cost in proportion to the pixels (a
        360p picture has a sixth of a 1080p one), and the text is drawn sharp at each size.
        """
        node = chain(graph, node, look_filters(self.recipe))
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
            chain(graph, src, audio_filters(self.recipe, float(origin_s))).link_to(sink)
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
