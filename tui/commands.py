"""Parses the `:` command bar's plain words into commands and suggests completions."""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from textual.suggester import Suggester

WEIGHT_KEYS = ("content", "collaborative", "following", "trending", "freshness", "explore")
FEED_NAMES = {
    "for-you": "for-you",
    "foryou": "for-you",
    "fy": "for-you",
    "following": "following",
    "trending": "trending",
}

# name -> (usage, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "like": ("like", "like the current video"),
    "unlike": ("unlike", "remove your like"),
    "comment": ("comment TEXT", "comment on the current video"),
    "reply": ("reply N TEXT", "reply to comment number N of the comments panel"),
    "comments": ("comments", "show or hide the comments panel"),
    "follow": ("follow [@handle]", "follow a user (default: the current author)"),
    "unfollow": ("unfollow [@handle]", "stop following a user"),
    "search": ("search QUERY", "search videos, #tags and @users"),
    "why": ("why", "why this video: reasons, score, explanation"),
    "weights": ("weights [key=value ...]", "show or set your feed blend weights"),
    "upload": ('upload PATH ["caption"]', "upload a video file"),
    "share": ("share", "copy the link of the current video"),
    "not-interested": ("not-interested", "show fewer videos like this one"),
    "hide-creator": ("hide-creator", "hide this video's creator from your feeds (mutes them)"),
    "next": ("next", "next video"),
    "prev": ("prev", "previous video"),
    "pause": ("pause", "pause or resume"),
    "mute": ("mute", "sound off or on (remembered)"),
    "volume": ("volume 0-100", "the sound's volume in percent (remembered)"),
    "loop": ("loop", "loop the current video on or off"),
    "captions": (
        "captions LANG|on|off",
        "captions under the picture: a language (e.g. en), on or off",
    ),
    "author": ("author", "open the current author's profile"),
    "feed": ("feed for-you|following|trending", "switch feed"),
    "profile": ("profile [@handle]", "open a profile (default: yours)"),
    "notifications": ("notifications", "open notifications"),
    "lab": ("lab", "open the feed lab (blend weights on a simulation)"),
    "delete": ("delete", "delete the current video (yours only)"),
    "show": ("show", "show the sensitive video behind the notice"),
    "mark-sensitive": ("mark-sensitive", "mark the current video sensitive (yours; admins: any)"),
    "unmark-sensitive": ("unmark-sensitive", "clear the sensitive mark of the current video"),
    "sensitive-media": (
        "sensitive-media on|off",
        "on: show sensitive videos without the notice; off: ask each time",
    ),
    "admin": ("admin", "the Admin screen: reports, audit log, registration (admins)"),
    "delete-account": ("delete-account", "delete your account and everything in it (asks)"),
    "help": ("help", "list every key and command"),
    "logout": ("logout", "log out and forget the token"),
    "quit": ("quit", "leave Shortstack"),
}
ALIASES = {"ni": "not-interested", "previous": "prev", "q": "quit", "?": "help", "s": "search"}


_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


class CommandError(ValueError):
    """The command line could not be understood; the message says how to fix it."""


@dataclass(frozen=True)
class Command:
    """One parsed command line."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


def _handle(word: str) -> str:
    handle = word.strip().lstrip("@").lower()
    if not handle:
        raise CommandError("expected a @handle")
    return handle


def parse_command(line: str) -> Command:
    """Parse one command-bar line like ``comment nice shot!`` or ``weights explore=0.3``."""
    text = line.strip()
    if text.startswith(":"):
        text = text[1:].strip()
    if not text:
        raise CommandError("empty command: type `help` for the list")
    word, _, rest = text.partition(" ")
    name = ALIASES.get(word.lower(), word.lower())
    rest = rest.strip()
    if name not in COMMANDS:
        close = [c for c in COMMANDS if c.startswith(name[:2])]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise CommandError(f"unknown command {word!r}{hint}")
    usage = COMMANDS[name][0]
    if name == "comment":
        if not rest:
            raise CommandError(f"usage: {usage}")
        return Command(name, {"body": rest})
    if name == "reply":
        number, _, body = rest.partition(" ")
        if not number.isdigit() or not body.strip():
            raise CommandError(f"usage: {usage}")
        return Command(name, {"number": int(number), "body": body.strip()})
    if name in ("follow", "unfollow", "profile"):
        return Command(name, {"handle": _handle(rest)} if rest else {})
    if name == "search":
        if not rest:
            raise CommandError(f"usage: {usage}")
        return Command(name, {"query": rest})
    if name == "feed":
        kind = FEED_NAMES.get(rest.lower())
        if kind is None:
            raise CommandError(f"usage: {usage}")
        return Command(name, {"kind": kind})
    if name == "weights":
        weights: dict[str, float] = {}
        for item in rest.replace(",", " ").split():
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            if not sep or key not in WEIGHT_KEYS:
                raise CommandError(f"usage: {usage} with keys {', '.join(WEIGHT_KEYS)}")
            try:
                weights[key] = float(value)
            except ValueError:
                raise CommandError(f"{key}: {value!r} is not a number") from None
            if not 0.0 <= weights[key] <= 10.0:
                raise CommandError(f"{key}: expected a number from 0 to 10")
        return Command(name, {"weights": weights})
    if name == "sensitive-media":
        if rest.lower() not in ("on", "off"):
            raise CommandError(f"usage: {usage}")
        return Command(name, {"on": rest.lower() == "on"})
    if name == "captions":
        word = rest.lower()
        if word in ("on", "off"):
            return Command(name, {"on": word == "on"})
        if not _LANG.match(rest):
            raise CommandError(f"usage: {usage} (a language tag like en or pt-BR)")
        return Command(name, {"on": True, "lang": rest})
    if name == "volume":
        word = rest.rstrip("%").strip()
        if not word.isdigit() or not 0 <= int(word) <= 100:
            raise CommandError(f"usage: {usage}")
        return Command(name, {"percent": int(word)})
    if name == "upload":
        try:
            parts = shlex.split(rest)
        except ValueError as exc:
            raise CommandError(f"upload: {exc}") from None
        if not parts:
            raise CommandError(f"usage: {usage}")
        path = os.path.expanduser(parts[0])
        return Command(name, {"path": path, "caption": " ".join(parts[1:])})
    if rest:
        raise CommandError(f"{name} takes no arguments")
    return Command(name)


class CommandSuggester(Suggester):
    """Completes command names, feed names, weight keys, known @handles and file paths."""

    def __init__(self, handles: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._handles = handles or (lambda: ())

    async def get_suggestion(self, value: str) -> str | None:
        return suggest(value, self._handles())


def suggest(value: str, handles: Iterable[str] = ()) -> str | None:
    """The full line completed from ``value``, or None."""
    if not value or value.endswith("  "):
        return None
    word, space, rest = value.partition(" ")
    if not space:
        for name in COMMANDS:
            if name.startswith(word.lower()) and name != word:
                return name
        return None
    name = ALIASES.get(word.lower(), word.lower())
    last = rest.split(" ")[-1]
    head = value[: len(value) - len(last)]
    options: Iterable[str] = ()
    if name == "feed":
        options = ("for-you", "following", "trending")
    elif name == "sensitive-media":
        options = ("on", "off")
    elif name == "captions":
        options = ("on", "off", "en")
    elif name == "weights":
        options = tuple(f"{k}=" for k in WEIGHT_KEYS)
    elif name in ("follow", "unfollow", "profile") or (name == "search" and last.startswith("@")):
        options = tuple(f"@{h}" for h in handles)
    elif name == "upload" and rest == last and last:
        matches = sorted(glob.glob(os.path.expanduser(last) + "*"))[:20]
        options = tuple(m + ("/" if os.path.isdir(m) else "") for m in matches)
        if last.startswith("~"):
            home = os.path.expanduser("~")
            options = tuple("~" + m[len(home) :] if m.startswith(home) else m for m in options)
    for option in options:
        if last and option.startswith(last) and option != last:
            return head + option
    return None
