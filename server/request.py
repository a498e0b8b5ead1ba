"""The app's request class: a JSON body nested too deeply to decode is malformed JSON (400)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException


class ShortstackRequest(Request):
    """Litestar's Request, except that a JSON body msgspec cannot decode without running out of
    stack (``[`` x 1000) is refused like any other malformed JSON instead of raising
    RecursionError (a 500 with a traceback)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            # the route raises SerializationException as a 400 ClientException
            raise SerializationException("JSON is malformed: nested too deeply") from None
