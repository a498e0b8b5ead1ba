"""Security headers on every response: nosniff everywhere, CSP, frame and referrer policy on HTML."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: The share page loads its video and poster from this origin and has one inline <style>.
HTML_CSP = (
    "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ALL_RESPONSES = {"x-content-type-options": "nosniff"}
HTML_RESPONSES = {
    "content-security-policy": HTML_CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeadersMiddleware(ASGIMiddleware):
    """Adds the headers to the response start message, whatever handler (or error) made it."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                extra = dict(ALL_RESPONSES)
                if headers.get("content-type", "").startswith("text/html"):
                    extra.update(HTML_RESPONSES)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await next_app(scope, receive, send_wrapper)
