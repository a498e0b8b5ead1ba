"""One access-log line per HTTP request: method, path, status, duration and client."""

from __future__ import annotations

import logging
import time

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shortstack.access")


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
                scope["method"],
                path[:300],
                status,
                (time.perf_counter() - started) * 1000,
                client[0],
            )
