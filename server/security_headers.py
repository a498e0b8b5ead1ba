"""Security headers on every response: nosniff everywhere, CSP, frame and referrer policy on HTML.

A Litestar ``before_send`` hook: it sees every response start, whether a handler, an error
handler, the router (404/405) or a middleware (429) made it."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

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


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Add the headers to an HTTP response start message (those a handler set stay)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    extra = dict(ALL_RESPONSES)
    if headers.get("content-type", "").startswith("text/html"):
        extra.update(HTML_RESPONSES)
    for name, value in extra.items():
        if name not in headers:
            headers[name] = value
