"""Opaque cursors and the shared `limit` / `cursor` query parameters."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from litestar.exceptions import ValidationException
from litestar.params import Parameter

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
