"""Turns RGB frames into pre-built terminal lines of half-block cells, built with numpy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

UPPER_HALF = "▀"
RESET = "\x1b[0m"
_UPPER_HALF_BYTES = np.frombuffer(UPPER_HALF.encode(), dtype=np.uint8)


class ColorMode(StrEnum):
    """How colours are written to the terminal."""

    TRUECOLOR = "truecolor"
    COLOR256 = "256"


def detect_color_mode(environ: dict[str, str] | None = None) -> ColorMode:
    """Decide the colour mode explicitly (tmux does not set COLORTERM).

    ``SHORTSTACK_COLOR=truecolor|256`` wins; else truecolor when COLORTERM says so, inside
    tmux (which passes 24-bit colour to capable terminals), or on a known truecolor
    terminal; 256 colours otherwise.
    """
    env = os.environ if environ is None else environ
    forced = env.get("SHORTSTACK_COLOR", "").strip().lower()
    if forced in ("truecolor", "24bit", "rgb"):
        return ColorMode.TRUECOLOR
    if forced in ("256", "256color", "8bit"):
        return ColorMode.COLOR256
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return ColorMode.TRUECOLOR
    if env.get("TMUX"):
        return ColorMode.TRUECOLOR
    term = env.get("TERM", "")
    if "direct" in term or env.get("TERM_PROGRAM", "") in (
        "iTerm.app",
        "WezTerm",
        "vscode",
        "ghostty",
        "kitty",
    ):
        return ColorMode.TRUECOLOR
    return ColorMode.COLOR256


def _digit_tables() -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(256)
    digits = np.stack([values // 100, (values // 10) % 10, values % 10], axis=1) + ord("0")
    keep = np.stack([values >= 100, values >= 10, np.ones(256, bool)], axis=1)
    return digits.astype(np.uint8), keep


_DIGITS, _KEEP = _digit_tables()
_CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255])


def _cube_table() -> np.ndarray:
    """Index (0..5) of the nearest xterm colour-cube level for every 0..255 value."""
    values = np.arange(256)[:, None]
    return np.abs(values - _CUBE_LEVELS[None, :]).argmin(axis=1).astype(np.uint16)


_CUBE_INDEX = _cube_table()


def to_xterm256(rgb: np.ndarray) -> np.ndarray:
    """Map an (..., 3) uint8 array to xterm-256 palette indices (colour cube and grey ramp)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    cube = 16 + 36 * _CUBE_INDEX[r] + 6 * _CUBE_INDEX[g] + _CUBE_INDEX[b]
    mean = (r + g + b) // 3
    grey = np.clip((mean - 3) // 10, 0, 23) + 232
    greyish = (np.abs(r - g) < 10) & (np.abs(g - b) < 10) & (mean > 4) & (mean < 247)
    return np.where(greyish, grey, cube).astype(np.uint8)


def _template(mode: ColorMode) -> tuple[np.ndarray, dict[str, slice]]:
    """Byte template of one fully specified cell and where each part sits in it."""
    if mode is ColorMode.TRUECOLOR:
        text = "\x1b[38;2;000;000;000;48;2;000;000;000m" + UPPER_HALF
        parts = {
            "csi": slice(0, 2),
            "fg_head": slice(2, 7),
            "fg0": slice(7, 10),
            "fg_s1": slice(10, 11),
            "fg1": slice(11, 14),
            "fg_s2": slice(14, 15),
            "fg2": slice(15, 18),
            "sep": slice(18, 19),
            "bg_head": slice(19, 24),
            "bg0": slice(24, 27),
            "bg_s1": slice(27, 28),
            "bg1": slice(28, 31),
            "bg_s2": slice(31, 32),
            "bg2": slice(32, 35),
            "end": slice(35, 36),
            "glyph": slice(36, 39),
        }
    else:
        text = "\x1b[38;5;000;48;5;000m" + UPPER_HALF
        parts = {
            "csi": slice(0, 2),
            "fg_head": slice(2, 7),
            "fg0": slice(7, 10),
            "sep": slice(10, 11),
            "bg_head": slice(11, 16),
            "bg0": slice(16, 19),
            "end": slice(19, 20),
            "glyph": slice(20, 23),
        }
    return np.frombuffer(text.encode(), dtype=np.uint8).copy(), parts


_TEMPLATES = {mode: _template(mode) for mode in ColorMode}


@dataclass(eq=False)
class CellFrame:
    """One frame as terminal rows: ``rows[y]`` draws ``width`` cells, colours sent on change."""

    width: int
    height: int
    mode: ColorMode
    rows: list[str]
    offsets: np.ndarray  # (height, width + 1) char offset of each cell within its row
    top: np.ndarray  # (height, width, 3) uint8 colours of the upper pixels
    bottom: np.ndarray  # (height, width, 3) uint8 colours of the lower pixels
    pts: float = 0.0
    _cell_escapes: dict[tuple[int, int], str] = field(default_factory=dict, repr=False)

    def cell_escape(self, y: int, x: int) -> str:
        """The absolute colour escape of one cell (used when a row is cropped there)."""
        if self.mode is ColorMode.TRUECOLOR:
            r, g, b = (int(v) for v in self.top[y, x])
            R, G, B = (int(v) for v in self.bottom[y, x])
            return f"\x1b[38;2;{r};{g};{b};48;2;{R};{G};{B}m"
        fg = int(to_xterm256(self.top[y, x]))
        bg = int(to_xterm256(self.bottom[y, x]))
        return f"\x1b[38;5;{fg};48;5;{bg}m"

    def crop_row(self, y: int, start: int, end: int) -> str:
        """Row ``y`` limited to cells ``start..end`` (exclusive), cut at cell boundaries."""
        start = max(0, start)
        end = min(self.width, end)
        if start == 0 and end == self.width:
            return self.rows[y]
        if end <= start:
            return ""
        row = self.rows[y]
        offsets = self.offsets[y]
        head = self.cell_escape(y, start) + UPPER_HALF
        return head + row[int(offsets[start + 1]) : int(offsets[end])] + RESET


def quantize(rgb: np.ndarray, bits: int) -> np.ndarray:
    """Keep the top ``bits`` bits of each channel (centred), so neighbouring cells repeat."""
    if bits >= 8:
        return rgb
    drop = 8 - bits
    mask = np.uint8((0xFF << drop) & 0xFF)
    return (rgb & mask) | np.uint8(1 << (drop - 1))


def render_cells(
    rgb: np.ndarray, mode: ColorMode = ColorMode.TRUECOLOR, *, bits: int = 8, pts: float = 0.0
) -> CellFrame:
    """Build terminal rows for an (2*H, W, 3) uint8 image: one ``▀`` per pixel pair.

    An odd pixel height is padded with a black row. Colours are written only when they
    change from the previous cell of the row; every row starts with both colours set and
    ends with a reset, so rows can be drawn independently.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an (H, W, 3) array")
    if rgb.dtype != np.uint8:
        rgb = rgb.astype(np.uint8)
    if rgb.shape[0] % 2:
        rgb = np.concatenate([rgb, np.zeros((1, *rgb.shape[1:]), np.uint8)])
    rgb = quantize(rgb, bits)
    top = np.ascontiguousarray(rgb[0::2])
    bottom = np.ascontiguousarray(rgb[1::2])
    height, width = top.shape[:2]
    if width == 0 or height == 0:
        return CellFrame(
            width, height, mode, [""] * height, np.zeros((height, 1), np.int64), top, bottom, pts
        )

    if mode is ColorMode.TRUECOLOR:
        fg_vals = [top[..., i] for i in range(3)]
        bg_vals = [bottom[..., i] for i in range(3)]
        fg_changed = np.ones((height, width), bool)
        bg_changed = np.ones((height, width), bool)
        fg_changed[:, 1:] = (top[:, 1:] != top[:, :-1]).any(axis=2)
        bg_changed[:, 1:] = (bottom[:, 1:] != bottom[:, :-1]).any(axis=2)
    else:
        fg_idx = to_xterm256(top)
        bg_idx = to_xterm256(bottom)
        fg_vals, bg_vals = [fg_idx], [bg_idx]
        fg_changed = np.ones((height, width), bool)
        bg_changed = np.ones((height, width), bool)
        fg_changed[:, 1:] = fg_idx[:, 1:] != fg_idx[:, :-1]
        bg_changed[:, 1:] = bg_idx[:, 1:] != bg_idx[:, :-1]

    template, parts = _TEMPLATES[mode]
    cells = np.empty((height, width, template.size), np.uint8)
    cells[...] = template
    keep = np.zeros((height, width, template.size), bool)
    changed = fg_changed | bg_changed
    keep[..., parts["csi"]] = changed[..., None]
    keep[..., parts["end"]] = changed[..., None]
    keep[..., parts["glyph"]] = True
    keep[..., parts["sep"]] = (fg_changed & bg_changed)[..., None]
    for prefix, values, flags in (("fg", fg_vals, fg_changed), ("bg", bg_vals, bg_changed)):
        keep[..., parts[f"{prefix}_head"]] = flags[..., None]
        for i, channel in enumerate(values):
            where = parts[f"{prefix}{i}"]
            cells[..., where] = _DIGITS[channel]
            keep[..., where] = _KEEP[channel] & flags[..., None]
            if i:
                keep[..., parts[f"{prefix}_s{i}"]] = flags[..., None]

    data = cells[keep].tobytes()
    cell_bytes = keep.sum(axis=2, dtype=np.int64)
    row_bytes = cell_bytes.sum(axis=1)
    offsets = np.zeros((height, width + 1), np.int64)
    # every cell carries exactly one 3-byte glyph that is one character
    np.cumsum(cell_bytes - 2, axis=1, out=offsets[:, 1:])
    rows: list[str] = []
    pos = 0
    for n in row_bytes.tolist():
        rows.append(data[pos : pos + n].decode() + RESET)
        pos += n
    return CellFrame(width, height, mode, rows, offsets, top, bottom, pts)


def render_letterboxed(
    image: np.ndarray,
    cells_w: int,
    cells_h: int,
    mode: ColorMode = ColorMode.TRUECOLOR,
    *,
    bits: int = 8,
    pts: float = 0.0,
) -> CellFrame:
    """Like ``render_cells(letterbox(image, cells_w, cells_h))`` but only the picture is built
    cell by cell: the black bars around it are constant strings (a portrait clip in a wide
    pane is mostly bars)."""
    canvas = letterbox(image, cells_w, cells_h)
    h, w = min(image.shape[0], cells_h * 2), min(image.shape[1], cells_w)
    y0 = ((cells_h * 2 - h) // 2) & ~1
    x0 = (cells_w - w) // 2
    if w <= 0 or h <= 0 or (w == cells_w and h >= cells_h * 2 - 1):
        return render_cells(canvas, mode, bits=bits, pts=pts)
    picture = render_cells(canvas[y0 : y0 + h + (h % 2), x0 : x0 + w], mode, bits=bits)
    black = quantize(np.zeros((1, 1, 3), np.uint8), bits)[0, 0]
    if mode is ColorMode.TRUECOLOR:
        r, g, b = (int(v) for v in black)
        bar_escape = f"\x1b[38;2;{r};{g};{b};48;2;{r};{g};{b}m"
    else:
        index = int(to_xterm256(black))
        bar_escape = f"\x1b[38;5;{index};48;5;{index}m"
    right = cells_w - x0 - picture.width
    left_text = bar_escape + UPPER_HALF * x0 if x0 else ""
    right_text = bar_escape + UPPER_HALF * right + RESET if right else RESET
    blank_row = bar_escape + UPPER_HALF * cells_w + RESET
    blank_offsets = np.concatenate([[0], len(bar_escape) + np.arange(1, cells_w + 1)])
    offsets = np.empty((cells_h, cells_w + 1), np.int64)
    rows: list[str] = []
    top_rows = y0 // 2
    for y in range(cells_h):
        py = y - top_rows
        if 0 <= py < picture.height:
            row = picture.rows[py][: -len(RESET)]
            rows.append(left_text + row + right_text)
            base = len(left_text)
            line = offsets[y]
            if x0:
                line[0] = 0
                line[1 : x0 + 1] = len(bar_escape) + np.arange(1, x0 + 1)
            line[x0 : x0 + picture.width + 1] = base + picture.offsets[py]
            if right:
                start = base + int(picture.offsets[py][-1])
                line[x0 + picture.width + 1 :] = start + len(bar_escape) + np.arange(1, right + 1)
        else:
            rows.append(blank_row)
            offsets[y] = blank_offsets
    top = quantize(canvas[0::2], bits)
    bottom = quantize(canvas[1::2], bits)
    return CellFrame(cells_w, cells_h, mode, rows, offsets, top, bottom, pts)


def fit_size(src_w: int, src_h: int, cells_w: int, cells_h: int) -> tuple[int, int]:
    """Largest pixel size (w, 2*h cells) keeping the aspect ratio inside a cell box."""
    if src_w <= 0 or src_h <= 0 or cells_w <= 0 or cells_h <= 0:
        return 0, 0
    box_w, box_h = cells_w, cells_h * 2
    scale = min(box_w / src_w, box_h / src_h)
    w = max(1, min(box_w, round(src_w * scale)))
    h = max(2, min(box_h, round(src_h * scale)))
    h -= h % 2
    return w, max(2, h)


def letterbox(image: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    """Centre an RGB image on a black (2*cells_h, cells_w) canvas."""
    canvas = np.zeros((cells_h * 2, cells_w, 3), np.uint8)
    h, w = image.shape[:2]
    h, w = min(h, cells_h * 2), min(w, cells_w)
    y0 = ((cells_h * 2 - h) // 2) & ~1
    x0 = (cells_w - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = image[:h, :w]
    return canvas
