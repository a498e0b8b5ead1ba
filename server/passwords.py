"""The password policy: long enough, not blank, not the handle, not common or easily guessed.

Common and guessable passwords are found by zxcvbn (its lists of leaked passwords, words,
names, keyboard patterns, repeats and sequences), with the handle and display name as
extra words. Used by register, password change, the admin API and `shortstack admin`."""

from __future__ import annotations

from zxcvbn import zxcvbn

#: zxcvbn score (0..4) a password needs: 2 = "somewhat guessable", beyond online guessing
MIN_SCORE = 2
#: zxcvbn's cost grows faster than the length (about 50 ms at 32 characters, 0.7 s at its
#: maximum of 72): only the start is checked; a password whose first 32 characters are hard
#: to guess is hard to guess
_CHECKED_CHARS = 32


class WeakPassword(ValueError):
    """The password breaks a rule; str(exc) names it."""


def check_password(
    password: str, *, handle: str, display_name: str | None = None, min_length: int = 10
) -> None:
    """Raise WeakPassword naming the first rule the password breaks."""
    if not password.strip():
        raise WeakPassword("the password is blank")
    if len(password) < min_length:
        raise WeakPassword(f"a password needs at least {min_length} characters")
    names = [n for n in (handle, display_name) if n]
    if password.strip().lstrip("@").casefold() in {n.casefold() for n in names}:
        raise WeakPassword("the password may not be the handle or display name")
    result = zxcvbn(password[:_CHECKED_CHARS], user_inputs=names)
    if result["score"] < MIN_SCORE:
        why = result["feedback"].get("warning") or "it is easy to guess"
        raise WeakPassword(f"the password is too common or easy to guess: {why.rstrip('.')}")
