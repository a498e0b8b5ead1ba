"""A selectable list of videos (profile and search results) with plain-text captions."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from shortstack.counts import counted, short_count
from shortstack.tui.plain_text import clean


def video_line(video: dict[str, Any]) -> Text:
    """One line: status, caption and counts."""
    counts = video.get("counts") or {}
    author = (video.get("author") or {}).get("handle", "?")
    text = Text(no_wrap=True, overflow="ellipsis")
    status = video.get("status", "ready")
    if status != "ready":
        text.append(f"[{status}] ", style="italic")
    text.append(f"@{clean(author, single_line=True)}", style="bold")
    text.append(
        f"  ♥ {short_count(counts.get('likes'))} · {counted(counts.get('comments'), 'comment')}  ",
        style="dim",
    )
    text.append(clean(video.get("caption") or "(no caption)", single_line=True))
    return text


class VideoList(OptionList):
    """Lists videos; choosing one posts VideoList.Chosen with the list and the index."""

    DEFAULT_CSS = """
    VideoList {
        height: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class Chosen(Message):
        """A video was chosen (enter or click)."""

        def __init__(self, videos: list[dict[str, Any]], index: int) -> None:
            super().__init__()
            self.videos = videos
            self.index = index

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.videos: list[dict[str, Any]] = []

    def set_videos(self, videos: list[dict[str, Any]]) -> None:
        """Replace the listed videos."""
        self.videos = list(videos)
        self.clear_options()
        self.add_options([Option(video_line(v)) for v in self.videos])
        if self.videos:
            self.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.videos, event.option_index))
