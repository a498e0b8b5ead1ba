"""Opaque identifiers and token hashing used by the store."""

from __future__ import annotations

import hashlib
import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """An opaque, non-sequential 11-character base62 id (~65 bits) for videos and comments.

    Base62 so an id never starts with '-' and is safe as a command-line argument."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(11))


def new_token() -> tuple[str, str]:
    """A fresh bearer token (43 base62 characters, ~256 bits) and the hash stored for it.

    Base62 for the same reason as ids: a token that starts with '-' reads as an option to
    `shortstack ... --token TOKEN` and to most other command-line tools."""
    token = "".join(secrets.choice(_ALPHABET) for _ in range(43))
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def now() -> float:
    return time.time()
