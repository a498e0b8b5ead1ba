"""User text shown inert, command-bar parsing and completion, token storage."""

from __future__ import annotations

import stat

import pytest

from shortstack.tui.commands import Command, CommandError, parse_command, suggest
from shortstack.tui.plain_text import clean, plain
from shortstack.tui.session import Session


def test_markup_is_kept_as_typed() -> None:
    text = plain("[bold red]x[/]")
    assert text.plain == "[bold red]x[/]"
    assert not text.spans


def test_escapes_bidi_and_zero_width_become_visible() -> None:
    assert clean("\x1b[2J\x1b]0;pwned\x07") == "\\x1b[2J\\x1b]0;pwned\\x07"
    assert clean("a\u202eb\u200bc\u2066d") == "a\\u202eb\\u200bc\\u2066d"
    assert clean("tab\there\r\x9b") == "tab\\there\\r\\x9b"
    assert clean("two\nlines") == "two\nlines"
    assert clean("two\nlines", single_line=True) == "two lines"
    assert clean(None) == ""


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("like", Command("like")),
        (":like", Command("like")),
        ("comment nice shot!", Command("comment", {"body": "nice shot!"})),
        ("reply 3 thanks a lot", Command("reply", {"number": 3, "body": "thanks a lot"})),
        ("follow @ana", Command("follow", {"handle": "ana"})),
        ("follow", Command("follow")),
        ("search #cats", Command("search", {"query": "#cats"})),
        ("why", Command("why")),
        ("weights explore=0.3", Command("weights", {"weights": {"explore": 0.3}})),
        ("weights", Command("weights", {"weights": {}})),
        ("feed trending", Command("feed", {"kind": "trending"})),
        ("ni", Command("not-interested")),
    ],
)
def test_parse_command(line: str, expected: Command) -> None:
    assert parse_command(line) == expected


def test_parse_upload_with_quoted_caption(tmp_path) -> None:
    command = parse_command('upload ~/clip.mp4 "my caption #cats"')
    assert command.name == "upload"
    assert command.args["path"].endswith("/clip.mp4") and not command.args["path"].startswith("~")
    assert command.args["caption"] == "my caption #cats"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "frobnicate",
        "comment",
        "reply x hi",
        "reply 2",
        "weights explore",
        "weights nope=1",
        "weights explore=abc",
        "feed sideways",
        'upload "unclosed',
        "like now",
    ],
)
def test_bad_commands_say_why(line: str) -> None:
    with pytest.raises(CommandError):
        parse_command(line)


def test_suggestions() -> None:
    assert suggest("li") == "like"
    assert suggest("feed tr") == "feed trending"
    assert suggest("weights explore=0.3 fr") == "weights explore=0.3 freshness="
    assert suggest("follow @a", ["ana", "bob"]) == "follow @ana"
    assert suggest("zzz") is None


def test_path_suggestion(tmp_path) -> None:
    (tmp_path / "clip_one.mp4").write_bytes(b"")
    assert suggest(f"upload {tmp_path}/cl") == f"upload {tmp_path}/clip_one.mp4"


def test_token_file_is_private(tmp_path) -> None:
    session = Session(tmp_path / "cfg")
    assert session.load_token() is None
    session.save_token("secret-token")
    assert session.load_token() == "secret-token"
    mode = stat.S_IMODE((tmp_path / "cfg" / "token").stat().st_mode)
    assert mode == 0o600
    session.clear_token()
    assert session.load_token() is None
    session.save_history(["like", "why"])
    assert session.load_history() == ["like", "why"]


def test_a_deleted_accounts_comment_shows_as_such() -> None:
    from shortstack.tui.widgets.comments_panel import CommentItem

    placeholder = {"id": "c1", "author": None, "body": "[deleted]", "reply_count": 1}
    text = CommentItem(placeholder, 1, 0)._text().plain
    assert "(deleted account)" in text and "[deleted]" in text and "@" not in text
