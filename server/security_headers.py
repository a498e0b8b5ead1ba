"""Security headers on every response: nosniff everywhere, CSP, frame and referrer policy on HTML.

A Litestar ``before_send`` hook: it sees every response start, whether a handler, an error
handler, the router (404/405) or a middleware (429) made it."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

#: The web pages (server/web/) load scripts, styles, images and media from this origin only
#: and talk to its API; no inline script or style, no plugins, forms post here only.
_SAME_ORIGIN = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'"
)
HTML_CSP = f"{_SAME_ORIGIN}; frame-ancestors 'none'"
#: The embeddable player (/embed/{id}, the oEmbed iframe) may be framed by any site.
EMBED_CSP = f"{_SAME_ORIGIN}; frame-ancestors *"
ALL_RESPONSES = {"x-content-type-options": "nosniff"}
HTML_RESPONSES = {
    "content-security-policy": HTML_CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
EMBED_RESPONSES = {
    "content-security-policy": EMBED_CSP,
    "referrer-policy": "no-referrer",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Add the headers to an HTTP response start message (those a handler set stay)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    extra = dict(ALL_RESPONSES)
    if headers.get("content-type", "").startswith("text/html"):
        embed = str(scope.get("path", "")).startswith("/embed/")
        extra.update(EMBED_RESPONSES if embed else HTML_RESPONSES)
    for name, value in extra.items():
        if name not in headers:
            headers[name] = value
