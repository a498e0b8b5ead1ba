"""Security headers on every response: nosniff everywhere, CSP, frame and referrer policy on HTML.

A Litestar ``before_send`` hook: it sees every response start, whether a handler, an error
handler, the router (404/405) or a middleware (429) made it."""

from __future__ import annotations

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
    # one pass over the raw header list (Litestar's MutableScopeHeaders scanned it per name)
    raw = message.get("headers")
    if not isinstance(raw, list):
        raw = message["headers"] = list(raw or ())
    present = set()
    content_type = b""
    for name, value in raw:
        name = name.lower()
        present.add(name)
        if name == b"content-type":
            content_type = value
    extra = _RAW_ALL
    if content_type.startswith(b"text/html"):
        embed = str(scope.get("path", "")).startswith("/embed/")
        extra = _RAW_EMBED if embed else _RAW_HTML
    raw.extend(header for header in extra if header[0] not in present)


def _raw(*headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    merged = {k: v for h in headers for k, v in h.items()}
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items())


_RAW_ALL = _raw(ALL_RESPONSES)
_RAW_HTML = _raw(ALL_RESPONSES, HTML_RESPONSES)
_RAW_EMBED = _raw(ALL_RESPONSES, EMBED_RESPONSES)
