"""Domain errors raised by the store; the server maps each to an HTTP problem-details status."""

from __future__ import annotations


class StoreError(Exception):
    """Base of domain errors; str(exc) is a user-facing detail."""

    title = "Error"


class NotFound(StoreError):
    """The thing asked for does not exist."""

    title = "Not found"


class Conflict(StoreError):
    """The request clashes with what exists (e.g. a taken handle)."""

    title = "Conflict"


class Forbidden(StoreError):
    """The caller may not do this to this thing."""

    title = "Forbidden"


class Unprocessable(StoreError):
    """The request is well-formed but not acceptable."""

    title = "Unprocessable"


class TooMany(StoreError):
    """A quota is used up; ``retry_after_s`` says when it frees up again."""

    title = "Quota exceeded"

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
