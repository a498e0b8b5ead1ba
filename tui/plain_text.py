"""Makes user text (captions, comments, names) inert: no markup, no terminal escapes, no bidi tricks.

The one sanitiser for everything that shows user text: the terminal client's widgets and
every `shortstack` command's output (text and --json) go through it."""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

# C0 controls except newline, DEL, C1 controls, bidi embeddings/overrides/isolates, marks,
# zero-width characters, line/paragraph separators and the BOM.
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_NAMED = {"\t": "\\t", "\r": "\\r", "\x1b": "\\x1b", "\x07": "\\x07", "\x08": "\\x08"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, *, single_line: bool = False) -> str:
    """Replace control, bidi and zero-width characters with visible escapes like ``\\x1b``."""
    text = _UNSAFE.sub(_escape, "" if value is None else str(value))
    if single_line:
        text = text.replace("\n", " ")
    return text


def clean_json(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the same characters as ``\\uXXXX``.

    json.dumps already escapes C0 controls but writes DEL, C1 controls (0x9b is CSI on
    some terminals) and bidi overrides raw; this escapes them too. The unsafe characters can
    only stand inside JSON strings, where ``\\uXXXX`` decodes to the same value."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def plain(value: object, style: str | Style = "", *, single_line: bool = False) -> Text:
    """A Rich Text of user text shown literally (markup like ``[bold]`` stays as typed)."""
    return Text(clean(value, single_line=single_line), style=style, no_wrap=single_line)
