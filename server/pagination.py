"""Opaque cursors, the shared `limit` / `cursor` query parameters and the pages they make."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from litestar.exceptions import ValidationException
from litestar.params import Parameter

from .schemas import Page

R = TypeVar("R")
T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=50, description="Items per page, 1..50.")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="Opaque cursor from next_cursor.")
]


def encode_cursor(value: Any) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(cursor: str | None, shape: type | tuple[type, ...] = list) -> Any:
    """Decode a cursor made by encode_cursor; anything else is a 400."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise ValidationException(
            detail="the cursor is not valid: use next_cursor from a previous page"
        ) from None
    if not isinstance(value, shape) or not _sane(value):
        raise ValidationException(
            detail="the cursor is not valid: use next_cursor from a previous page"
        )
    return value


def _sane(value: Any) -> bool:
    """No bools posing as ints, and every int fits SQLite's 64 bits (else a 500 downstream)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, list):
        return all(_sane(v) for v in value)
    return True


def keyset_cursor(cursor: str | None) -> tuple[float, str] | None:
    value = decode_cursor(cursor, list)
    if value is None:
        return None
    if len(value) != 2 or not isinstance(value[0], int | float) or not isinstance(value[1], str):
        raise ValidationException(
            detail="the cursor is not valid: use next_cursor from a previous page"
        )
    return float(value[0]), value[1]


def keyset_position(record: Any) -> list[Any]:
    """Where a record stands in a (created_at, id) keyset order: what keyset_cursor decodes."""
    return [record.created_at, record.id]


def page_of(
    rows: Sequence[R],
    limit: int,
    out: Callable[[R], T],
    position: Callable[[R], Any] = keyset_position,
) -> Page[T]:
    """The page of the first `limit` of the `limit + 1` rows fetched; when the extra row shows
    there is more, next_cursor encodes the position of the page's last row."""
    shown = rows[:limit]
    nxt = encode_cursor(position(shown[-1])) if len(rows) > limit else None
    return Page(items=[out(r) for r in shown], next_cursor=nxt)
