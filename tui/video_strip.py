"""A Textual Strip over one pre-built half-block row that crops and divides at cell boundaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.color import Color as RichColor
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from shortstack.tui.halfblocks import UPPER_HALF, CellFrame


class VideoStrip(Strip):
    """Cells ``start..end`` of row ``y`` of a CellFrame.

    Rendering returns the pre-built escape string (no Rich objects per cell). Cropping and
    dividing work in cells, so a toast or a modal drawn over playing video cuts the row at a
    cell boundary instead of in the middle of an escape sequence. Rich segments are only
    built when something asks for them (screenshots, snapshot tests).

    A ``delta`` strip writes only the cells that differ from the frame's base (the frame on
    screen), jumping over the rest: the widget hands these out only for a repaint of its own
    changed cells. A delta strip cut anywhere but at its start writes its cells in full.
    """

    __slots__ = ["_frame", "_y", "_start", "_end", "_lazy_segments", "_delta"]

    def __init__(
        self,
        frame: CellFrame,
        y: int,
        start: int = 0,
        end: int | None = None,
        *,
        delta: bool = False,
    ) -> None:
        end = frame.width if end is None else end
        super().__init__((), end - start)
        self._frame = frame
        self._y = y
        self._start = start
        self._end = end
        self._lazy_segments: list[Segment] | None = None
        self._delta = delta and start == 0 and frame.delta_rows is not None

    @property  # type: ignore[override]
    def _segments(self) -> list[Segment]:
        if self._lazy_segments is None:
            self._lazy_segments = list(self._build_segments())
        return self._lazy_segments

    @_segments.setter
    def _segments(self, value: list[Segment]) -> None:
        # Strip.__init__ assigns an empty list; the real segments are built lazily
        self._lazy_segments = list(value) or None

    def _build_segments(self) -> Iterable[Segment]:
        frame, y = self._frame, self._y
        last: tuple[int, ...] | None = None
        run = 0
        style: Style | None = None
        for x in range(self._start, self._end):
            key = (*frame.top[y, x].tolist(), *frame.bottom[y, x].tolist())
            if key != last:
                if run and style is not None:
                    yield Segment(UPPER_HALF * run, style)
                style = Style(
                    color=RichColor.from_rgb(*key[:3]), bgcolor=RichColor.from_rgb(*key[3:])
                )
                last, run = key, 0
            run += 1
        if run and style is not None:
            yield Segment(UPPER_HALF * run, style)

    @property
    def cell_length(self) -> int:
        return self._end - self._start

    def render(self, console: Console) -> str:
        if self._delta:  # never cached as _render_cache: Strip.join must not reuse it
            return self._frame.delta_row(self._y, self._end)
        if self._render_cache is None:
            self._render_cache = self._frame.crop_row(self._y, self._start, self._end)
        return self._render_cache

    def crop(self, start: int, end: int | None = None) -> Strip:
        length = self._end - self._start
        start = max(0, start)
        end = length if end is None else min(length, end)
        if start == 0 and end == length:
            return self
        if end <= start:
            return Strip([], 0)
        return VideoStrip(
            self._frame, self._y, self._start + start, self._start + end, delta=self._delta
        )

    def divide(self, cuts: Iterable[int]) -> Sequence[Strip]:
        length = self._end - self._start
        cuts = [cut for cut in cuts if cut <= length]
        if cuts == [length]:
            return [self]
        strips: list[Strip] = []
        pos = 0
        for cut in cuts:
            strips.append(self.crop(pos, cut))
            pos = cut
        return strips
