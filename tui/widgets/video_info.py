"""The text beside a video: author, caption, hashtags, counts; all user text shown literally."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from shortstack.counts import counted
from shortstack.tui.plain_text import clean, plain


def video_text(video: dict[str, Any], *, following: bool | None = None) -> Text:
    """Rich Text for one video; user-provided strings never parsed as markup."""
    author = video.get("author") or {}
    text = Text()
    text.append("@")
    text.append(clean(author.get("handle", "?"), single_line=True), style="bold")
    name = author.get("display_name")
    if name:
        text.append("  ")
        text.append_text(plain(name, "dim", single_line=True))
    if following is not None:
        text.append("\n")
        text.append("✓ following" if following else "+ follow (f)", style="italic")
    text.append("\n\n")
    caption = video.get("caption") or ""
    text.append_text(plain(caption) if caption else Text("(no caption)", style="dim italic"))
    in_caption = {word.lstrip("#").lower() for word in caption.split() if word.startswith("#")}
    tags = [t for t in video.get("hashtags") or [] if str(t).lstrip("#").lower() not in in_caption]
    if tags:
        text.append("\n")
        text.append_text(
            plain(" ".join(f"#{clean(t, single_line=True).lstrip('#')}" for t in tags), "bold")
        )
    counts = video.get("counts") or {}
    liked = bool(video.get("liked_by_me"))
    text.append("\n\n")
    text.append("♥ " if liked else "♡ ", style="bold red" if liked else "")
    text.append(counted(counts.get("likes"), "like"))
    text.append("   ")
    text.append(counted(counts.get("comments"), "comment"))
    text.append("\n")
    text.append(counted(counts.get("shares"), "share"))
    text.append("   ")
    text.append(counted(counts.get("views"), "view"))
    status = video.get("status")
    if status and status != "ready":
        text.append("\n\n")
        if status == "processing":
            text.append(f"processing {int(float(video.get('progress') or 0) * 100)}%", "italic")
        else:
            text.append_text(plain(f"failed: {video.get('error') or 'unknown error'}", "red"))
    if video.get("sensitive"):
        text.append("\n\n")
        text.append("⚠ sensitive", style="bold yellow")
    duration = video.get("duration_s")
    if duration:
        text.append(f"\n{float(duration):.1f} s", style="dim")
    return text


class VideoInfo(Static):
    """Author, caption, hashtags and live counts of the current video."""

    DEFAULT_CSS = """
    VideoInfo {
        height: auto;
        padding: 0 1;
    }
    """

    def show(
        self, video: dict[str, Any] | None, *, following: bool | None = None, note: str = ""
    ) -> None:
        """Show ``video`` (None: just ``note``, dimmed)."""
        if video is None:
            self.update(Text(note, style="dim italic"))
        else:
            self.update(video_text(video, following=following))
