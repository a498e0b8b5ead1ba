"""One line of text for a notification payload (for toasts and the notifications screen)."""

from __future__ import annotations

from typing import Any

NOTIFICATION_VERBS = {
    "like": "liked your video",
    "comment": "commented on your video",
    "reply": "replied to your comment",
    "follow": "followed you",
    "report_resolved": "a moderator resolved your report",
}


def notification_text(data: dict[str, Any]) -> str:
    """A one-line text for a notification payload (whatever fields it has)."""
    for key in ("text", "message", "body"):
        if data.get(key):
            return str(data[key])
    actor = data.get("actor") or data.get("from") or ""
    who = actor.get("handle") if isinstance(actor, dict) else actor
    kind = str(data.get("kind") or data.get("type") or "activity")
    verb = NOTIFICATION_VERBS.get(kind, kind)
    return f"@{who} {verb}" if who else verb
