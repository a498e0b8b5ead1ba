"""Opaque identifiers and token hashing used by the store."""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id() -> str:
    """An opaque, non-sequential 11-character id for videos and comments."""
    return secrets.token_urlsafe(8)


def new_token() -> tuple[str, str]:
    """A fresh bearer token and the hash stored for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def now() -> float:
    return time.time()
