"""The "why this video" panel: score, reasons with weights, and the recommender's explanation."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from shortstack.tui.plain_text import plain

BAR_WIDTH = 12


def why_text(item: dict[str, Any] | None) -> Text:
    """Rich Text for a feed item's score, reasons and explanation."""
    text = Text()
    text.append("Why this video\n", style="bold")
    if not item or ("score" not in item and not item.get("reasons")):
        text.append("\nNo recommendation data: this video was opened directly.", style="dim")
        return text
    score = item.get("score")
    if isinstance(score, int | float):
        text.append(f"\nscore {score:.3f}\n")
    reasons = item.get("reasons") or []
    if reasons:
        text.append("\n")
    top = max((abs(float(r.get("weight") or 0)) for r in reasons), default=0.0) or 1.0
    for reason in reasons:
        weight = float(reason.get("weight") or 0)
        filled = round(BAR_WIDTH * abs(weight) / top)
        text.append(
            "█" * filled + "░" * (BAR_WIDTH - filled), style="green" if weight >= 0 else "red"
        )
        text.append(f" {weight:+.2f} ")
        text.append_text(plain(reason.get("kind", ""), "bold", single_line=True))
        text.append("\n   ")
        text.append_text(plain(reason.get("text", "")))
        text.append("\n")
    explanation = item.get("explanation")
    if explanation:
        text.append("\n")
        text.append_text(plain(explanation, "italic"))
    return text


class WhyPanel(Static):
    """Shows why the recommender picked the current video."""

    DEFAULT_CSS = """
    WhyPanel {
        height: auto;
        padding: 0 1;
    }
    """

    def show(self, item: dict[str, Any] | None) -> None:
        """Show the feed item (``{video, score, reasons, explanation}``)."""
        self.update(why_text(item))
