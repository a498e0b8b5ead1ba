"""The caption line under the picture: the cue at the playback position, as plain text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Static

from shortstack.media.captions import CaptionError, Cue, cue_at, parse_vtt, plain
from shortstack.tui.plain_text import clean


@dataclass
class CaptionPrefs:
    """The viewer's caption choice: the language, and on or off (``C``); the app loads and saves
    it with its settings (tui/session.py)."""

    lang: str = "en"
    on: bool = True


def caption_prefs(app: Any) -> CaptionPrefs:
    """The app's caption choice (kept on the app, shared by every feed screen)."""
    prefs = getattr(app, "_caption_prefs", None)
    if prefs is None:
        prefs = CaptionPrefs()
        app._caption_prefs = prefs
    return prefs


def pick_track(tracks: list[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """The track in ``lang``, else one of the same language (``en`` for ``en-GB``), else None."""
    wanted = lang.lower()
    for track in tracks:
        if track["lang"].lower() == wanted:
            return track
    base = wanted.split("-")[0]
    for track in tracks:
        if track["lang"].lower().split("-")[0] == base:
            return track
    return None


class CaptionLine(Static):
    """One or two lines of caption under the video; hidden when off or the video has none."""

    DEFAULT_CSS = """
    CaptionLine {
        width: 1fr;
        height: auto;
        max-height: 2;
        min-height: 1;
        background: black;
        color: white;
        text-align: center;
        display: none;
    }
    CaptionLine.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.video_id: str | None = None
        self.cues: list[Cue] = []
        self.lang = ""
        self.automatic = False
        self.enabled = True
        self._shown: tuple[str, ...] | None = None

    def set_track(self, video_id: str, vtt: str, lang: str, kind: str) -> bool:
        """Load the captions of ``video_id``; False when the text cannot be read."""
        try:
            cues = parse_vtt(vtt)
        except CaptionError:
            self.clear_track()
            return False
        self.video_id, self.cues, self.lang = video_id, cues, lang
        self.automatic = kind == "automatic"
        self._shown = None
        self._refresh_display()
        return True

    def clear_track(self) -> None:
        """No captions (another video, or none in the chosen language)."""
        self.video_id, self.cues, self.lang, self.automatic = None, [], "", False
        self._shown = None
        self.update("")
        self._refresh_display()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self._refresh_display()

    def _refresh_display(self) -> None:
        self.set_class(self.enabled and bool(self.cues), "-shown")

    def text_at(self, position: float) -> str:
        """The caption shown at ``position`` seconds, inert (no markup, no escapes)."""
        cue = cue_at(self.cues, position)
        return "" if cue is None else clean(plain(cue.text), single_line=True)

    def at(self, position: float | None) -> None:
        """Show the cue at ``position`` seconds (None: nothing is playing)."""
        if not self.cues:
            return
        words = "" if position is None else self.text_at(position)
        key = (words, self.lang)
        if key == self._shown:
            return
        self._shown = key
        line = Text(words, no_wrap=False)
        if words and self.automatic:
            line = Text.assemble(Text(f"[{self.lang} auto] ", style="dim"), line)
        self.update(line)
