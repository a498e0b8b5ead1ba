"""Rules for user text the server stores: display names, bios, captions and comments.

Everything is NFC-normalised. Names refuse control and format characters and names that
look blank (impersonation by an invisible or empty-looking name); free text (bio, caption,
comment) refuses control characters other than newline and tab, and bidi overrides. Captions,
comments and display names also refuse the admins' blocked terms. A broken rule is a 422 whose
detail names the field and the rule."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from .errors import problem

#: an account's handle: 3-30 of a-z, 0-9 and _ (register, admin-created accounts)
HANDLE_PATTERN = r"^[a-z0-9_]{3,30}$"

# characters that render as nothing or as blank space although they are not "whitespace"
_BLANK_LOOKING = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0\u034f\u17b4\u17b5")
# embeddings and overrides reorder the text around them (the "evil.exe" -> "exe.live" trick)
_BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZWJ = "\u200d"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}{' ' + name if name else ''}"


def _refuse(field: str, title: str, rule: str):
    return problem(422, title, f"{field}: {rule}")


def _joins_emoji(text: str, i: int) -> bool:
    """A zero-width joiner inside an emoji sequence (like 👩‍💻) is part of the picture."""
    return 0 < i < len(text) - 1 and "So" in (
        unicodedata.category(text[i - 1]),
        unicodedata.category(text[i + 1]),
    )


def _normalise(value: str) -> str:
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n"))


def display_name(value: str, *, field: str = "display_name", max_chars: int = 60) -> str:
    """A display name as stored: NFC, trimmed; refuses control/format characters, line breaks,
    space other than U+0020, bidi controls and names that look blank."""
    text = _normalise(value).strip(" ")
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        if char == _ZWJ and _joins_emoji(text, i):
            continue
        if category[0] == "C" or category in ("Zl", "Zp") or char in _BIDI_OVERRIDES:
            raise _refuse(
                field,
                "Invalid display name",
                f"control, format and invisible characters are not allowed ({_describe(char)})",
            )
        if category == "Zs" and char != " ":
            raise _refuse(
                field,
                "Invalid display name",
                f"only the plain space may separate words ({_describe(char)})",
            )
    visible = [
        c
        for c in text
        if c not in _BLANK_LOOKING
        and c != _ZWJ
        and unicodedata.category(c) not in ("Zs", "Mn", "Me", "Cf")
    ]
    if not visible:
        raise _refuse(field, "Invalid display name", "a name needs at least one visible character")
    if len(text) > max_chars:
        raise _refuse(field, "Invalid display name", f"at most {max_chars} characters")
    return text


def free_text(value: str, *, field: str) -> str:
    """A bio, caption or comment as stored: NFC, CRLF as LF; refuses control characters other
    than newline and tab, and bidi embeddings/overrides."""
    text = _normalise(value)
    for char in text:
        if char in "\n\t":
            continue
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_OVERRIDES:
            raise _refuse(
                field,
                "Invalid characters",
                f"control characters (other than newline and tab) and bidi overrides are not"
                f" allowed ({_describe(char)})",
            )
    return text


def blocked_terms(value: str, terms: Iterable[str], *, field: str) -> None:
    """Refuse text that contains one of the admins' blocked terms: a case-insensitive substring
    match on the NFC, case-folded text ("spam" also catches "SPAMMER"). The 422 names the rule,
    never the term (so the list cannot be probed term by term from the answers)."""
    folded = _normalise(value).casefold()
    if any(term and term in folded for term in terms):
        raise _refuse(
            field, "Blocked term", "contains a term this server does not allow (blocked terms)"
        )
