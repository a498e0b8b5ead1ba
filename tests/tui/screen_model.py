"""A small terminal model for tests: applies written output (cursor moves, SGR colours, text) to a grid."""

from __future__ import annotations

import re

from rich.cells import cell_len

_TOKEN = re.compile(
    r"\x1b\[(?P<private>[?<>=]?)(?P<params>[0-9;:]*)(?P<final>[A-Za-z@`~])"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[()][A-Za-z0-9]|\x1b[=>78cDEHM]"  # charset, keypad, save/restore, etc.
    r"|(?P<ctl>[\r\n\b\x07])"
    r"|(?P<text>[^\x1b\r\n\b\x07]+)"
)

Colour = tuple[int, ...] | None


class ScreenModel:
    """What a terminal of ``width`` x ``height`` shows: a character and (fg, bg) per cell.

    Colours are kept as written: ``(r, g, b)`` for truecolor, ``(index,)`` for 256 colours,
    None for the default. Unknown sequences are ignored; a sequence the model cannot place
    (a cursor move outside the screen) fails the test.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.colours: list[list[tuple[Colour, Colour]]] = [
            [(None, None)] * width for _ in range(height)
        ]
        self.x = self.y = 0
        self.fg: Colour = None
        self.bg: Colour = None

    def feed(self, data: str) -> None:
        pos = 0
        while pos < len(data):
            match = _TOKEN.match(data, pos)
            assert match, f"cannot parse {data[pos : pos + 20]!r}"
            pos = match.end()
            if match.group("text") is not None:
                self._text(match.group("text"))
            elif match.group("ctl") is not None:
                ctl = match.group("ctl")
                if ctl == "\r":
                    self.x = 0
                elif ctl == "\n":
                    self.y = min(self.y + 1, self.height - 1)
                elif ctl == "\b":
                    self.x = max(0, self.x - 1)
            elif match.group("final") is not None and not match.group("private"):
                self._csi(match.group("params"), match.group("final"))

    def _csi(self, params: str, final: str) -> None:
        numbers = (
            [int(p) if p else 0 for p in params.replace(":", ";").split(";")] if params else []
        )
        if final == "H":
            row = numbers[0] if numbers else 1
            col = numbers[1] if len(numbers) > 1 else 1
            self.y, self.x = max(row, 1) - 1, max(col, 1) - 1
            assert self.y < self.height and self.x < self.width, (row, col)
        elif final == "C":
            self.x = min(self.width, self.x + max(numbers[0] if numbers else 1, 1))
        elif final == "D":
            self.x = max(0, self.x - max(numbers[0] if numbers else 1, 1))
        elif final == "A":
            self.y = max(0, self.y - max(numbers[0] if numbers else 1, 1))
        elif final == "B":
            self.y = min(self.height - 1, self.y + max(numbers[0] if numbers else 1, 1))
        elif final == "G":
            self.x = max(numbers[0] if numbers else 1, 1) - 1
        elif final == "m":
            self._sgr(numbers or [0])

    def _sgr(self, numbers: list[int]) -> None:
        i = 0
        while i < len(numbers):
            n = numbers[i]
            if n in (38, 48):
                if numbers[i + 1] == 2:
                    value: Colour = tuple(numbers[i + 2 : i + 5])
                    i += 5
                else:
                    value = (numbers[i + 2],)
                    i += 3
                if n == 38:
                    self.fg = value
                else:
                    self.bg = value
                continue
            if n == 0:
                self.fg = self.bg = None
            elif n == 39:
                self.fg = None
            elif n == 49:
                self.bg = None
            elif 30 <= n <= 37 or 90 <= n <= 97:
                self.fg = (n,)
            elif 40 <= n <= 47 or 100 <= n <= 107:
                self.bg = (n,)
            i += 1

    def _text(self, text: str) -> None:
        for char in text:
            width = cell_len(char)
            if width == 0:
                continue
            if self.x >= self.width:  # no auto-wrap in a full-screen app's output
                continue
            self.chars[self.y][self.x] = char
            self.colours[self.y][self.x] = (self.fg, self.bg)
            if width == 2 and self.x + 1 < self.width:
                self.chars[self.y][self.x + 1] = ""
                self.colours[self.y][self.x + 1] = (self.fg, self.bg)
            self.x += width

    def row_text(self, y: int) -> str:
        return "".join(self.chars[y])
