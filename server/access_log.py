"""One access-log line per HTTP request: method, path, status, duration and client."""

from __future__ import annotations

import logging
import re
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shortstack.access")

# anything but printable ASCII (and the backslash that starts an escape) is written escaped,
# so a request can neither forge a log line (%0A) nor reach the terminal (ESC[2J)
_UNPRINTABLE = re.compile(r"[^\x21-\x5b\x5d-\x7e]")


def _escape(char: re.Match[str]) -> str:
    code = ord(char.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def log_field(value: str, limit: int = 300) -> str:
    """One log field: cut to ``limit`` characters, unprintable characters as ``\\xNN``."""
    return _UNPRINTABLE.sub(_escape, value[:limit]) or "-"


class AccessLogMiddleware(ASGIMiddleware):
    """Logs `GET /api/feed/for-you 200 12.3ms 127.0.0.1` once the response has started."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = ("^/healthz$",)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_wrapper)
        finally:
            client = scope.get("client") or ("-", 0)
            query = scope.get("query_string", b"")
            path = scope["path"] + (f"?{query.decode('latin-1')}" if query else "")
            log.info(
                "%s %s %d %.1fms %s",
                log_field(scope["method"], 16),
                log_field(path),
                status,
                (time.perf_counter() - started) * 1000,
                log_field(str(client[0]), 64),
            )
