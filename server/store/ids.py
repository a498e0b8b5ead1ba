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
    """A fresh bearer token and the hash stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def now() -> float:
    return time.time()
