"""Comments of the current video as threads (replies under their parent), with a box to post."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

from shortstack.tui.plain_text import clean, plain


def thread_order(comments: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Comments ordered as threads: each parent followed by its replies, with their depth."""
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    ids = {c.get("id") for c in comments}
    for comment in comments:
        parent = comment.get("parent_id")
        by_parent.setdefault(parent if parent in ids else None, []).append(comment)
    for replies in by_parent.values():
        replies.sort(key=lambda c: str(c.get("created_at", "")))
    ordered: list[tuple[dict[str, Any], int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for comment in by_parent.get(parent, []):
            ordered.append((comment, depth))
            if comment.get("id") is not None and depth < 8:
                walk(comment["id"], depth + 1)

    walk(None, 0)
    return ordered


# two short lines: one line wrapped mid-pair in an 80-column terminal ("· d" / "delete")
HINT = Text("shift+tab: pick a comment\nenter: reply · d: delete", style="dim")


class CommentItem(Static, can_focus=True):
    """One comment; enter or click picks it as the reply target."""

    BINDINGS = [
        Binding("enter", "reply", "Reply", id="comments.reply"),
        Binding("d", "delete", "Delete", id="comments.delete"),
    ]

    def __init__(self, comment: dict[str, Any], number: int, depth: int) -> None:
        self.comment = comment
        self.number = number
        self.depth = depth
        super().__init__(self._text(), classes="comment")
        self.styles.padding = (0, 0, 0, 2 * min(depth, 4))

    def _text(self) -> Text:
        author = (self.comment.get("author") or {}).get("handle")
        text = Text()
        text.append(f"{self.number:>2} ", style="dim")
        if self.depth:
            text.append("↳ ", style="dim")
        if author is None:  # a deleted account's comment, kept for its replies
            text.append("(deleted account)", style="dim italic")
        else:
            text.append(f"@{clean(author, single_line=True)}", style="bold")
        replies = self.comment.get("reply_count") or 0
        if replies:
            text.append(f"  {replies} repl{'y' if replies == 1 else 'ies'}", style="dim")
        text.append("\n")
        text.append_text(plain(self.comment.get("body", "")))
        return text

    def action_reply(self) -> None:
        self.post_message(CommentsPanel.ReplyTarget(self.comment, self.number))

    def on_click(self) -> None:
        self.action_reply()

    def action_delete(self) -> None:
        self.post_message(CommentsPanel.Delete(self.comment))


class CommentsPanel(Vertical):
    """Threaded comments with numbers (for `reply N text`) and a post box."""

    DEFAULT_CSS = """
    CommentsPanel { height: 1fr; }
    CommentsPanel > #comments-title { height: 1; text-style: bold; padding: 0 1; }
    CommentsPanel > VerticalScroll { height: 1fr; padding-left: 1; }  /* under the title */
    CommentsPanel .comment { margin: 0 0 1 0; padding-right: 1; }
    CommentsPanel .comment:focus { background: $boost; }
    CommentsPanel > #comments-target { height: auto; color: $text-muted; padding: 0 1; }
    CommentsPanel > Input { height: 3; }
    """

    BINDINGS = [Binding("escape", "cancel_reply", "Cancel reply", show=False, id="comments.cancel")]

    class Post(Message):
        """The user wants to post ``body`` (a reply when ``parent_id`` is set)."""

        def __init__(self, body: str, parent_id: str | None) -> None:
            super().__init__()
            self.body = body
            self.parent_id = parent_id

    class Delete(Message):
        """The user wants to delete a comment (the server checks who may)."""

        def __init__(self, comment: dict[str, Any]) -> None:
            super().__init__()
            self.comment = comment

    class ReplyTarget(Message):
        """A comment was picked to reply to."""

        def __init__(self, comment: dict[str, Any], number: int) -> None:
            super().__init__()
            self.comment = comment
            self.number = number

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.numbered: list[dict[str, Any]] = []
        self.reply_to: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Label("Comments", id="comments-title")
        yield VerticalScroll(id="comments-list")
        yield Static(HINT, id="comments-target")
        yield Input(
            placeholder="Add a comment… (enter to post)", id="comments-input", max_length=2000
        )

    def set_loading(self) -> None:
        """Show that comments are on their way."""
        self.numbered = []
        self._set_title("Comments (loading…)")
        self.query_one("#comments-list", VerticalScroll).remove_children()

    def _set_title(self, title: str) -> None:
        self.query_one("#comments-title", Label).update(Text(title))

    def set_comments(self, comments: list[dict[str, Any]]) -> None:
        """Show ``comments`` as numbered threads."""
        ordered = thread_order(comments)
        self.numbered = [c for c, _ in ordered]
        self._set_title(f"Comments ({len(ordered)})")
        box = self.query_one("#comments-list", VerticalScroll)
        box.remove_children()
        if not ordered:
            box.mount(Static(Text("No comments yet: be the first.", style="dim italic")))
            return
        box.mount_all(CommentItem(c, i, depth) for i, (c, depth) in enumerate(ordered, 1))

    def comment_number(self, number: int) -> dict[str, Any] | None:
        """The comment shown as ``number`` (1-based), or None."""
        if 1 <= number <= len(self.numbered):
            return self.numbered[number - 1]
        return None

    def on_comments_panel_reply_target(self, message: ReplyTarget) -> None:
        message.stop()
        self.reply_to = message.comment
        author = (message.comment.get("author") or {}).get("handle")
        who = f"@{clean(author, single_line=True)}" if author else "(deleted account)"
        target = Text(f"replying to #{message.number} {who} (esc cancels)")
        self.query_one("#comments-target", Static).update(target)
        self.query_one("#comments-input", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_reply":
            return self.reply_to is not None  # otherwise escape goes on to close the panel
        return True

    def action_cancel_reply(self) -> None:
        self.reply_to = None
        self.query_one("#comments-target", Static).update(HINT)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        body = event.value.strip()
        if not body:
            return
        parent = self.reply_to.get("id") if self.reply_to else None
        event.input.value = ""
        self.action_cancel_reply()
        self.post_message(self.Post(body, parent))
