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
        # media in a bucket or CDN: its origin is allowed too (app.state.html_headers)
        app = scope.get("app")
        chosen = app.state.get("html_headers") if app is not None else None
        html, embedded = chosen or (_RAW_HTML, _RAW_EMBED)
        extra = embedded if embed else html
    raw.extend(header for header in extra if header[0] not in present)


def _raw(*headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    merged = {k: v for h in headers for k, v in h.items()}
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items())


def html_headers_with_media_origin(origin: str) -> tuple[tuple, tuple]:
    """The (page, embed) header sets when media come from ``origin`` (``[storage]``: a
    bucket or CDN): images, media and the player's playlist fetches may come from there."""
    allowed = origin.replace(";", "").replace(" ", "")
    csp = _SAME_ORIGIN
    for directive in ("img-src", "media-src", "connect-src"):
        csp = csp.replace(f"{directive} 'self'", f"{directive} 'self' {allowed}")
    page = {**HTML_RESPONSES, "content-security-policy": f"{csp}; frame-ancestors 'none'"}
    embed = {**EMBED_RESPONSES, "content-security-policy": f"{csp}; frame-ancestors *"}
    return _raw(ALL_RESPONSES, page), _raw(ALL_RESPONSES, embed)


_RAW_ALL = _raw(ALL_RESPONSES)
_RAW_HTML = _raw(ALL_RESPONSES, HTML_RESPONSES)
_RAW_EMBED = _raw(ALL_RESPONSES, EMBED_RESPONSES)
