"""Turns RGB frames into pre-built terminal lines of half-block cells, built with numpy."""

from __future__ import annotations

import itertools
import os
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
MAX_SKIP = 999  # longest cursor-forward jump written in one escape (3 digits)


def _count_tables() -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(MAX_SKIP + 1)
    digits = np.stack([values // 100, (values // 10) % 10, values % 10], axis=1) + ord("0")
    keep = np.stack([values >= 100, values >= 10, np.ones(values.size, bool)], axis=1)
    return digits.astype(np.uint8), keep


_COUNT_DIGITS, _COUNT_KEEP = _count_tables()


def _as_items(table: np.ndarray, blank: bool = False) -> np.ndarray:
    """An (n, 3) table as n 3-byte items (copied in one go); ``blank`` appends an all-zero one."""
    rows = np.ascontiguousarray(table, dtype=np.uint8)
    if blank:
        rows = np.concatenate([rows, np.zeros((1, 3), np.uint8)])
    return rows.view("V3").ravel()


# 3-digit groups and which of their digits are written, as 3-byte items; the keep tables end
# with an all-false item, picked for cells whose colour (or jump) is not written
_DIGIT_ITEMS, _KEEP_ITEMS = _as_items(_DIGITS), _as_items(_KEEP, blank=True)
_COUNT_ITEMS, _COUNT_KEEP_ITEMS = _as_items(_COUNT_DIGITS), _as_items(_COUNT_KEEP, blank=True)
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


_serials = itertools.count(1)


class CellFrame:
    """One frame as terminal rows: ``rows[y]`` draws ``width`` cells, colours sent on change.

    A frame made by :func:`render_delta` also carries ``delta_rows``: the same picture written
    over its ``base`` frame (the one with serial ``base``), sending only the cells that differ
    (cursor-forward escapes jump over the rest) and ``spans``, the cells each row changes.
    Its full ``rows`` are built only when something asks for them.
    """

    def __init__(
        self,
        width: int,
        height: int,
        mode: ColorMode,
        rows: list[str] | None,
        offsets: np.ndarray | None,
        top: np.ndarray,
        bottom: np.ndarray,
        pts: float = 0.0,
    ) -> None:
        self.width = width
        self.height = height
        self.mode = mode
        self._rows = rows
        self._offsets = offsets  # (height, width + 1) char offset of each cell within its row
        self.top = top  # (height, width, 3) uint8 colours of the upper pixels
        self.bottom = bottom  # (height, width, 3) uint8 colours of the lower pixels
        self.pts = pts
        self.serial = next(_serials)
        #: serial of the frame ``delta_rows`` are written over (None: no delta)
        self.base: int | None = None
        self.delta_rows: list[str] | None = None
        self.delta_offsets: np.ndarray | None = None
        #: (y, x1, x2): the cells of row y that differ from the base frame
        self.spans: list[tuple[int, int, int]] = []
        self._keys: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's upper and lower colour packed into one integer (fast to compare)."""
        if self._keys is None:
            self._keys = (pack_rgb(self.top), pack_rgb(self.bottom))
        return self._keys

    def __repr__(self) -> str:
        return f"<CellFrame #{self.serial} {self.width}x{self.height} {self.mode.value}>"

    def _build_rows(self) -> None:
        rgb = np.empty((self.height * 2, self.width, 3), np.uint8)
        rgb[0::2], rgb[1::2] = self.top, self.bottom
        full = render_cells(rgb, self.mode)  # the colours are quantised already
        self._rows, self._offsets = full._rows, full._offsets

    @property
    def rows(self) -> list[str]:
        """Each row drawn in full (every cell written)."""
        if self._rows is None:
            self._build_rows()
        assert self._rows is not None
        return self._rows

    @property
    def offsets(self) -> np.ndarray:
        if self._offsets is None:
            self._build_rows()
        assert self._offsets is not None
        return self._offsets

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

    def delta_row(self, y: int, end: int) -> str:
        """Cells ``0..end`` of row ``y`` written over the base frame (unchanged cells skipped).

        The cursor may be left past ``end`` (a skip is not cut): the compositor moves the
        cursor before everything it writes next.
        """
        assert self.delta_rows is not None and self.delta_offsets is not None
        row = self.delta_rows[y]
        if end >= self.width:
            return row
        cut = int(self.delta_offsets[y, max(0, end)])
        return row[:cut] + RESET if cut else ""


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours as (...) uint32 ``0xRRGGBB``."""
    packed = rgb[..., 0].astype(np.uint32) << 16
    packed |= rgb[..., 1].astype(np.uint32) << 8
    packed |= rgb[..., 2]
    return packed


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


_SKIP_TEMPLATE = np.frombuffer(b"\x1b[000C", dtype=np.uint8)


def _digit_groups(mode: ColorMode, n_skip: int, size: int) -> np.dtype:
    """A structured dtype over one delta cell: its jump count and colour digit groups."""
    _, parts = _TEMPLATES[mode]
    names = ["count"] + [n for n in parts if n[:2] in ("fg", "bg") and n[2:].isdigit()]
    offsets = [2] + [parts[n].start + n_skip for n in names[1:]]
    return np.dtype(
        {"names": names, "formats": ["V3"] * len(names), "offsets": offsets, "itemsize": size}
    )


def render_delta(
    image: np.ndarray,
    cells_w: int,
    cells_h: int,
    mode: ColorMode = ColorMode.TRUECOLOR,
    *,
    bits: int = 8,
    pts: float = 0.0,
    base: CellFrame | None = None,
) -> CellFrame:
    """The frame ``render_letterboxed`` makes, written over ``base`` (the frame on screen).

    When ``base`` has the same size and colour mode, the frame carries ``delta_rows``: each
    row sends only the cells whose colours differ from ``base`` (a cursor-forward escape
    jumps over each run of unchanged cells, and the colours are restated after it), and
    ``spans`` says which cells those are. Otherwise a full frame is made.
    """
    if (
        base is None
        or base.width != cells_w
        or base.height != cells_h
        or base.mode is not mode
        or not 0 < cells_w <= MAX_SKIP
        or cells_h <= 0
    ):
        return render_letterboxed(image, cells_w, cells_h, mode, bits=bits, pts=pts)
    canvas = quantize(letterbox(image, cells_w, cells_h), bits)
    top = np.ascontiguousarray(canvas[0::2])
    bottom = np.ascontiguousarray(canvas[1::2])
    frame = CellFrame(cells_w, cells_h, mode, None, None, top, bottom, pts)
    frame.base = base.serial
    fg_key, bg_key = frame.keys
    base_fg, base_bg = base.keys
    changed = (fg_key != base_fg) | (bg_key != base_bg)
    frame.delta_rows = [""] * cells_h
    frame.delta_offsets = offsets = np.zeros((cells_h, cells_w + 1), np.int64)
    rows_hit = np.flatnonzero(changed.any(axis=1))
    if rows_hit.size == 0:
        return frame
    cols_hit = np.flatnonzero(changed.any(axis=0))
    y0, y1 = int(rows_hit[0]), int(rows_hit[-1]) + 1
    x0, x1 = int(cols_hit[0]), int(cols_hit[-1]) + 1
    # only the box around the changes is encoded; every row jumps to it
    write = changed[y0:y1, x0:x1]
    fg_rgb, bg_rgb = top[y0:y1, x0:x1], bottom[y0:y1, x0:x1]
    height, width = write.shape
    prev_write = np.zeros_like(write)
    prev_write[:, 1:] = write[:, :-1]
    columns = np.arange(width)
    next_write = np.minimum.accumulate(np.where(write, columns, width)[:, ::-1], axis=1)[:, ::-1]
    counts = next_write - columns  # unchanged cells from here to the next changed one
    counts[:, 0] += x0  # the first jump also covers the columns left of the box
    skip_start = ~write & (next_write < width)  # trailing unchanged cells are not jumped
    skip_start[:, 1:] &= write[:, :-1]

    if mode is ColorMode.TRUECOLOR:
        fg_vals = [fg_rgb[..., i] for i in range(3)]
        bg_vals = [bg_rgb[..., i] for i in range(3)]
        fg_box, bg_box = fg_key[y0:y1, x0:x1], bg_key[y0:y1, x0:x1]
        fg_same = fg_box[:, 1:] == fg_box[:, :-1]
        bg_same = bg_box[:, 1:] == bg_box[:, :-1]
    else:
        fg_idx, bg_idx = to_xterm256(fg_rgb), to_xterm256(bg_rgb)
        fg_vals, bg_vals = [fg_idx], [bg_idx]
        fg_same = fg_idx[:, 1:] == fg_idx[:, :-1]
        bg_same = bg_idx[:, 1:] == bg_idx[:, :-1]
    # colours are restated on the first cell written after a jump
    fg_changed = write & ~prev_write
    bg_changed = fg_changed.copy()
    fg_changed[:, 1:] |= write[:, 1:] & ~fg_same
    bg_changed[:, 1:] |= write[:, 1:] & ~bg_same

    cell_template, parts = _TEMPLATES[mode]
    n_skip = _SKIP_TEMPLATE.size
    size = n_skip + cell_template.size
    cells = np.empty((height, width, size), np.uint8)
    cells[..., :n_skip] = _SKIP_TEMPLATE
    cells[..., n_skip:] = cell_template
    keep = np.zeros(cells.shape, bool)
    shifted = {name: slice(sl.start + n_skip, sl.stop + n_skip) for name, sl in parts.items()}
    # the 3-digit groups are written as 3-byte items through a structured view of each cell
    groups = _digit_groups(mode, n_skip, size)
    cell_items = cells.reshape(height, width * size).view(groups)
    keep_items = keep.view(np.uint8).reshape(height, width * size).view(groups)
    keep[..., 0:2] = skip_start[..., None]
    keep[..., 5] = skip_start
    cell_items["count"] = _COUNT_ITEMS[counts]
    keep_items["count"] = _COUNT_KEEP_ITEMS[np.where(skip_start, counts, MAX_SKIP + 1)]
    either = fg_changed | bg_changed
    keep[..., shifted["csi"]] = either[..., None]
    keep[..., shifted["end"]] = either[..., None]
    keep[..., shifted["glyph"]] = write[..., None]
    keep[..., shifted["sep"]] = (fg_changed & bg_changed)[..., None]
    for prefix, values, flags in (("fg", fg_vals, fg_changed), ("bg", bg_vals, bg_changed)):
        keep[..., shifted[f"{prefix}_head"]] = flags[..., None]
        for i, channel in enumerate(values):
            name = f"{prefix}{i}"
            cell_items[name] = _DIGIT_ITEMS[channel]
            keep_items[name] = _KEEP_ITEMS[np.where(flags, channel, np.uint16(256))]
            if i:
                keep[..., shifted[f"{prefix}_s{i}"]] = flags[..., None]

    data = cells[keep].tobytes()
    cell_bytes = keep.sum(axis=2, dtype=np.int64)
    row_bytes = cell_bytes.sum(axis=1).tolist()
    chars = cell_bytes - 2 * write  # the glyph is 3 bytes, one character
    lead = f"\x1b[{x0}C" if x0 else ""
    pre = np.where(write[:, 0], len(lead), 0)
    offsets[y0:y1, 1 : x0 + 1] = pre[:, None]
    offsets[y0:y1, x0 + 1 : x1 + 1] = pre[:, None] + np.cumsum(chars, axis=1)
    offsets[y0:y1, x1 + 1 :] = (pre + chars.sum(axis=1))[:, None]
    first = np.argmax(write, axis=1)
    last = width - np.argmax(write[:, ::-1], axis=1)
    has_write = write.any(axis=1).tolist()
    starts_written = write[:, 0].tolist()
    rows = frame.delta_rows
    pos = 0
    for i, n in enumerate(row_bytes):
        if has_write[i]:
            text = data[pos : pos + n].decode()
            rows[y0 + i] = (lead if starts_written[i] else "") + text + RESET
            frame.spans.append((y0 + i, x0 + int(first[i]), x0 + int(last[i])))
        pos += n
    return frame


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
