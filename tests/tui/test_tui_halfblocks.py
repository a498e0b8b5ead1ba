"""Frame -> half-block rows: escapes, colour-change elision, cell-boundary cropping, sizing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from rich.console import Console
from rich.segment import Segment

from shortstack.tui.halfblocks import (
    RESET,
    UPPER_HALF,
    ColorMode,
    detect_color_mode,
    fit_size,
    letterbox,
    render_cells,
    to_xterm256,
)
from shortstack.tui.video_strip import VideoStrip

SGR = re.compile(r"\x1b\[[0-9;]*m")


def visible(text: str) -> str:
    return SGR.sub("", text)


def image(rows: list[list[tuple[int, int, int]]]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def test_one_cell_per_pixel_pair_with_top_as_fg_and_bottom_as_bg() -> None:
    frame = render_cells(image([[(255, 0, 0)], [(0, 0, 255)]]))
    assert frame.rows == [f"\x1b[38;2;255;0;0;48;2;0;0;255m{UPPER_HALF}{RESET}"]


def test_colours_are_sent_only_when_they_change() -> None:
    red, blue = (255, 0, 0), (0, 0, 255)
    frame = render_cells(image([[red, red, red, blue], [blue, blue, red, red]]))
    row = frame.rows[0]
    assert visible(row) == UPPER_HALF * 4
    assert row.count("\x1b[") == 4  # first cell, bg change, fg change, reset
    assert "\x1b[48;2;255;0;0m" in row  # only bg changed at cell 2
    assert "\x1b[38;2;0;0;255m" in row  # only fg changed at cell 3


def test_odd_height_is_padded() -> None:
    frame = render_cells(np.full((3, 2, 3), 7, np.uint8))
    assert frame.height == 2 and frame.width == 2


def test_offsets_point_at_cell_starts() -> None:
    rng = np.random.default_rng(3)
    frame = render_cells(rng.integers(0, 256, (6, 9, 3), dtype=np.uint8))
    for y in range(frame.height):
        row, offsets = frame.rows[y], frame.offsets[y]
        for x in range(frame.width):
            cell = row[offsets[x] : offsets[x + 1]]
            assert cell.endswith(UPPER_HALF) and visible(cell) == UPPER_HALF


def test_crop_row_keeps_whole_cells_and_restates_colours() -> None:
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (2, 10, 3), dtype=np.uint8)
    frame = render_cells(pixels)
    cropped = frame.crop_row(0, 3, 7)
    assert visible(cropped) == UPPER_HALF * 4
    r, g, b = pixels[0, 3]
    assert cropped.startswith(f"\x1b[38;2;{r};{g};{b};")
    assert cropped.endswith(RESET)
    assert frame.crop_row(0, 0, 10) == frame.rows[0]
    assert frame.crop_row(0, 5, 5) == ""


def test_256_colour_mode() -> None:
    frame = render_cells(image([[(255, 0, 0)], [(0, 0, 0)]]), ColorMode.COLOR256)
    assert frame.rows[0] == f"\x1b[38;5;196;48;5;16m{UPPER_HALF}{RESET}"
    grey = to_xterm256(np.array([128, 128, 128], np.uint8))
    assert 232 <= int(grey) <= 255


def test_colour_mode_is_decided_explicitly() -> None:
    assert detect_color_mode({"COLORTERM": "truecolor"}) is ColorMode.TRUECOLOR
    assert (
        detect_color_mode({"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"})
        is ColorMode.TRUECOLOR
    )
    assert detect_color_mode({"TERM": "xterm-256color"}) is ColorMode.COLOR256
    assert detect_color_mode({"TMUX": "x", "SHORTSTACK_COLOR": "256"}) is ColorMode.COLOR256


def test_fit_size_keeps_aspect_ratio() -> None:
    assert fit_size(1080, 1920, 80, 22) == (25, 44)  # portrait in a landscape pane
    assert fit_size(1920, 1080, 80, 22) == (78, 44)
    w, h = fit_size(64, 112, 40, 10)
    assert h == 20 and abs(w / h - 64 / 112) < 0.1
    canvas = letterbox(np.full((4, 2, 3), 255, np.uint8), 6, 3)
    assert canvas.shape == (6, 6, 3) and canvas[:, :2].max() == 0
    assert canvas[0:4, 2:4].min() == 255 and canvas[4:].max() == 0  # starts on a cell row


def test_video_strip_crops_and_divides_at_cell_boundaries() -> None:
    rng = np.random.default_rng(5)
    frame = render_cells(rng.integers(0, 256, (2, 12, 3), dtype=np.uint8))
    strip = VideoStrip(frame, 0)
    assert strip.cell_length == 12
    console = Console()
    parts = strip.divide([4, 9, 12])
    assert [p.cell_length for p in parts] == [4, 5, 3]
    assert "".join(visible(p.render(console)) for p in parts) == UPPER_HALF * 12
    inner = strip.crop(2, 5).crop(1, 3)
    assert visible(inner.render(console)) == UPPER_HALF * 2
    assert inner.render(console) == frame.crop_row(0, 3, 5)
    # Rich segments (for screenshots) carry the same colours as the escapes
    segments = list(strip)
    assert sum(len(s.text) for s in segments) == 12
    assert all(isinstance(s, Segment) and s.style is not None for s in segments)
    top = frame.top[0, 0]
    assert segments[0].style.color.triplet == tuple(int(v) for v in top)


def test_picture_box_caps_big_panes() -> None:
    from shortstack.tui.playback import picture_box

    assert picture_box(80, 24, 12000) == (80, 24)
    w, h = picture_box(300, 80, 12000)
    assert w * h <= 12000 and abs(w / h - 300 / 80) < 0.1


def cells_of(row: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Parse a pre-built row into the (fg, bg) colours of each cell."""
    fg: tuple[int, ...] = ()
    bg: tuple[int, ...] = ()
    cells = []
    pos = 0
    while pos < len(row):
        match = SGR.match(row, pos)
        if match:
            params = [int(p) for p in match.group()[2:-1].split(";") if p]
            i = 0
            while i < len(params):
                if params[i] in (38, 48):
                    width = 5 if params[i + 1] == 2 else 3
                    value = tuple(params[i + 2 : i + width])
                    fg, bg = (value, bg) if params[i] == 38 else (fg, value)
                    i += width
                else:
                    i += 1
            pos = match.end()
            continue
        assert row[pos] == UPPER_HALF
        cells.append((fg, bg))
        pos += 1
    return cells


@pytest.mark.parametrize("mode", list(ColorMode))
@pytest.mark.parametrize(
    ("shape", "pane"), [((40, 12), (30, 12)), ((9, 30), (30, 12)), ((7, 5), (12, 9))]
)
def test_letterboxed_rendering_matches_the_full_canvas(mode, shape, pane) -> None:
    from shortstack.tui.halfblocks import render_letterboxed

    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    cols, rows = pane
    fast = render_letterboxed(image, cols, rows, mode, bits=5)
    full = render_cells(letterbox(image, cols, rows), mode, bits=5)
    assert fast.width == full.width and fast.height == full.height
    assert (fast.top == full.top).all() and (fast.bottom == full.bottom).all()
    for y in range(rows):
        assert cells_of(fast.rows[y]) == cells_of(full.rows[y]), y
        assert visible(fast.rows[y]) == UPPER_HALF * cols
        for x0, x1 in ((0, cols), (1, cols - 2), (cols // 2, cols // 2 + 3), (cols - 1, cols)):
            assert cells_of(fast.crop_row(y, x0, x1)) == cells_of(full.crop_row(y, x0, x1))
