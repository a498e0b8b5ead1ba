"""Request bodies must keep coming: one that stalls or trickles too slowly ends in a 408."""

from __future__ import annotations

import asyncio
import time

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooSlow(HTTPException):
    """408: the request body stalled or arrived below the minimum rate."""

    status_code = 408


class BodyDeadlineMiddleware(ASGIMiddleware):
    """Bounds how a request body may arrive, so a trickling client cannot hold a connection
    (and an upload's temp file) for ever.

    Each wait for the next chunk is cut off after ``timeout_s``; once ``timeout_s`` has passed
    since the request started, the body must also average ``min_bytes_per_s``. Either way
    the handler's read raises a 408 (the upload code removes its temp file on the way out)
    and the connection is closed. Once the body is complete, ``receive`` is passed through
    untouched (streaming responses wait on it for the disconnect)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, timeout_s: float, min_bytes_per_s: float) -> None:
        self.timeout_s = timeout_s
        self.min_bytes_per_s = min_bytes_per_s

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.monotonic()
        received = 0
        complete = False

        async def timed_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=self.timeout_s)
            except TimeoutError:
                raise self._too_slow(
                    f"no part of the request body arrived for {self.timeout_s:g} s"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
                return message
            received += len(message.get("body", b""))
            elapsed = time.monotonic() - started
            if (
                self.min_bytes_per_s > 0
                and elapsed > self.timeout_s
                and received < self.min_bytes_per_s * elapsed
            ):
                raise self._too_slow(
                    f"the request body arrived at {received / elapsed / 1024:.2f} KiB/s; the"
                    f" minimum is {self.min_bytes_per_s / 1024:g} KiB/s"
                )
            return message

        await next_app(scope, timed_receive, send)

    @staticmethod
    def _too_slow(detail: str) -> BodyTooSlow:
        return BodyTooSlow(detail=detail, headers={"Connection": "close"})
