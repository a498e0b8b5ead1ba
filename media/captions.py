"""Captions: WebVTT and SRT parsed and checked (naming the line of a fault), SRT as WebVTT.

Plain Python (no PyAV): the server validates uploads with it, the transcode child writes
automatic captions with it, and the terminal client finds the cue at a playback position.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: how far past the video's end a cue may run, in seconds (encoders round durations)
END_SLACK_S = 1.0

_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_VTT_TIMING = re.compile(rf"^{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t]+(.*))?$")
_SRT_TIMING = re.compile(
    r"^(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})[ \t]+-->[ \t]+"
    r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})(?:[ \t]+.*)?$"
)
_LOOKS_TIMED = re.compile(r"^\s*\d{1,3}:\d\d")
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>]*>")
_VTT_TAGS = re.compile(r"</?(?:b|i|u|c|v|lang|ruby|rt)(?:[ .][^<>]*)?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|lrm|rlm|nbsp|#\d{1,6}|#x[0-9a-fA-F]{1,6});")


class CaptionError(ValueError):
    """A caption file that is not valid; ``line`` is its 1-based line number (0: the file)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption: shown from ``start`` to ``end`` (seconds); ``text`` as in the WebVTT file."""

    start: float
    end: float
    text: str
    line: int = 0  # the line of its timing in the source file (0: made, not parsed)


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def format_time(t: float) -> str:
    """Seconds as a WebVTT timestamp, ``HH:MM:SS.mmm``."""
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def sniff(text: str) -> str:
    """``"vtt"`` when the text starts like WebVTT, else ``"srt"``."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    return "vtt" if first.startswith("WEBVTT") else "srt"


def _blocks(lines: Sequence[str], start: int) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines from index ``start``, each with its 1-based first line number."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for i in range(start, len(lines)):
        if lines[i].strip() == "":
            if current:
                blocks.append((first, current))
                current = []
        else:
            if not current:
                first = i + 1
            current.append(lines[i])
    if current:
        blocks.append((first, current))
    return blocks


def parse_vtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file (NOTE, STYLE and REGION blocks are skipped)."""
    lines = text.removeprefix("\ufeff").split("\n")
    if not _HEADER.match(lines[0]):
        raise CaptionError(1, 'a WebVTT file starts with the line "WEBVTT"')
    i = 1
    while i < len(lines) and lines[i].strip():  # header metadata up to the first blank line
        if "-->" in lines[i]:
            raise CaptionError(i + 1, "a blank line must separate the header from the cues")
        i += 1
    cues: list[Cue] = []
    for first, block in _blocks(lines, i):
        head = block[0]
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            if cues and not head.startswith("NOTE"):
                raise CaptionError(first, f"{head.split()[0]} blocks must come before the cues")
            continue
        at = 0
        if "-->" not in head:  # a cue identifier (unless it is a broken timing)
            at = 1
            if _LOOKS_TIMED.match(head) and (len(block) < 2 or "-->" not in block[1]):
                at = 0
            elif len(block) < 2:
                raise CaptionError(first, "expected a cue timing (00:00:01.000 --> 00:00:02.000)")
        timing = block[at]
        m = _VTT_TIMING.match(timing.strip())
        if m is None:
            raise CaptionError(
                first + at,
                f"not a cue timing: {timing.strip()[:60]!r} (expected 00:00:01.000 --> 00:00:02.000)",
            )
        cues.append(_cue(block, first, at, m))
    return cues


def _cue(
    block: list[str],
    first: int,
    at: int,
    timing: re.Match[str],
    text: Callable[[str], str] = str,
) -> Cue:
    """The cue whose timing line is ``block[at]`` (file line ``first + at``): its text is the
    lines after it, which may not hold another timing arrow."""
    payload = block[at + 1 :]
    for k, line in enumerate(payload):
        if "-->" in line:
            raise CaptionError(first + at + 1 + k, '"-->" in cue text (a missing blank line?)')
    start = _seconds(*timing.group(1, 2, 3, 4))
    end = _seconds(*timing.group(5, 6, 7, 8))
    return Cue(start, end, text("\n".join(payload)), first + at)


def parse_srt(text: str) -> list[Cue]:
    """The cues of a SubRip (SRT) file, their text made valid WebVTT cue text."""
    lines = text.removeprefix("\ufeff").split("\n")
    cues: list[Cue] = []
    for first, block in _blocks(lines, 0):
        at = 0
        if "-->" not in block[0]:
            if not block[0].strip().isdigit():
                raise CaptionError(first, f"expected a cue number, got {block[0].strip()[:60]!r}")
            at = 1
            if len(block) < 2:
                raise CaptionError(first, "expected a cue timing (00:00:01,000 --> 00:00:02,000)")
        m = _SRT_TIMING.match(block[at].strip())
        if m is None:
            raise CaptionError(
                first + at,
                f"not a cue timing: {block[at].strip()[:60]!r}"
                " (expected 00:00:01,000 --> 00:00:02,000)",
            )
        cues.append(_cue(block, first, at, m, _srt_text))
    if not cues:
        raise CaptionError(0, "no cues found (expected WebVTT or SRT)")
    return cues


def _srt_text(text: str) -> str:
    """SRT cue text as WebVTT cue text: b/i/u tags kept, others (font) dropped, & and < escaped."""
    out: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        out.append(_escape(text[pos : m.start()]))
        tag = m.group(0).lower().replace(" ", "")
        if tag in ("<b>", "</b>", "<i>", "</i>", "<u>", "</u>"):
            out.append(tag)
        pos = m.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    parts = _ENTITY.split(text)
    entities = _ENTITY.findall(text)
    escaped = [p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in parts]
    out = escaped[0]
    for entity, part in zip(entities, escaped[1:], strict=True):
        out += entity + part
    return out


def check(
    cues: Sequence[Cue], *, duration_s: float | None, max_cues: int, slack_s: float = END_SLACK_S
) -> None:
    """Refuse empty files, too many cues, start >= end, cues past the video's end and cues that
    start before the one above them (overlaps are fine)."""
    if not cues:
        raise CaptionError(0, "the file has no cues")
    if len(cues) > max_cues:
        raise CaptionError(cues[max_cues].line, f"more than {max_cues} cues")
    previous = 0.0
    for cue in cues:
        if cue.end <= cue.start:
            raise CaptionError(cue.line, "the cue ends before it starts (start must be < end)")
        if duration_s is not None and cue.end > duration_s + slack_s:
            raise CaptionError(
                cue.line,
                f"the cue ends at {format_time(cue.end)}, after the video"
                f" ({format_time(duration_s)})",
            )
        if cue.start < previous:
            raise CaptionError(
                cue.line, "the cue starts before the cue above it (cues must be in time order)"
            )
        previous = cue.start


def to_vtt(cues: Sequence[Cue]) -> str:
    """A WebVTT file of ``cues`` (used for SRT uploads and automatic captions)."""
    out = ["WEBVTT", ""]
    for n, cue in enumerate(cues, 1):
        out += [str(n), f"{format_time(cue.start)} --> {format_time(cue.end)}", cue.text, ""]
    return "\n".join(out)


def plain(text: str) -> str:
    """Cue text as plain words: tags dropped, entities decoded, lines joined."""
    return " ".join(html.unescape(_VTT_TAGS.sub("", _TAG.sub("", text))).split())


def cue_at(cues: Sequence[Cue], t: float) -> Cue | None:
    """The cue showing at ``t`` seconds (the latest that started), or None. ``cues`` in order."""
    i = bisect.bisect_right([c.start for c in cues], t)
    for cue in reversed(cues[max(0, i - 16) : i]):  # the latest to start wins; overlaps are rare
        if t < cue.end:
            return cue
    return None
