"""Share links: the server's public base URL and the link a share hands out (the page itself
is in server/web/video_pages.py)."""

from __future__ import annotations

from litestar import Request

from .config import Config


def served_url(config: Config, request: Request) -> str:
    """The server's base URL: ``server.public_url`` when set, else the address this request
    actually reached (the listening socket, not the client's Host header)."""
    if config.server.public_url:
        return config.server.public_url.rstrip("/")
    server = request.scope.get("server")
    if not server or server[1] is None:
        return config.base_url
    host, port = server
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    scheme = "https" if request.scope.get("scheme") in ("https", "wss") else "http"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def share_url(config: Config, request: Request, video_id: str) -> str:
    """The link a share hands out: the share page of the video."""
    return f"{served_url(config, request)}/v/{video_id}"
