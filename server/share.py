"""The public share page behind share links: a tiny HTML page that plays the video in a browser."""

from __future__ import annotations

import html
from typing import Annotated

from litestar import Request, Response, get, head
from litestar.di import NamedDependency
from litestar.params import Parameter

from .config import Config
from .store.db import Database
from .store.users import User
from .visibility import visible_video

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title} · Shortstack</title>
<meta property="og:title" content="{title}"><meta property="og:image" content="{poster}">
<style>body{{background:#111;color:#eee;font:16px system-ui;margin:0;display:grid;place-items:center;min-height:100vh}}
video{{max-height:80vh;max-width:100vw;background:#000}}p{{max-width:40em;padding:0 1em}}</style></head>
<body><main><video src="{src}" poster="{poster}" controls autoplay loop playsinline></video>
<p><b>@{handle}</b> {caption}</p></main></body></html>"""


VideoId = Annotated[str, Parameter(max_length=32)]


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


@get(
    "/v/{video_id:str}",
    operation_id="share_page",
    summary="Share page (HTML) for a video",
    tags=["videos"],
)
async def share_page(
    video_id: VideoId, db: NamedDependency[Database], viewer: NamedDependency[User | None]
) -> Response:
    return await _page(video_id, db, viewer)


@head(
    "/v/{video_id:str}",
    operation_id="head_share_page",
    summary="Share page headers (as GET, without the page)",
    tags=["videos"],
)
async def share_page_head(
    video_id: VideoId, db: NamedDependency[Database], viewer: NamedDependency[User | None]
) -> Response[None]:
    page = await _page(video_id, db, viewer)
    length = len(page.content.encode("utf-8"))
    return Response(
        content=b"",
        status_code=page.status_code,
        media_type=page.media_type,
        headers={"Content-Length": str(length)},
    )


async def _page(video_id: str, db: Database, viewer: User | None) -> Response[str]:
    video = await visible_video(db, video_id, viewer)
    if video.status != "ready" or not video.renditions:
        return Response(
            content="<p>This video is still processing.</p>",
            media_type="text/html",
            status_code=202,
        )
    best = video.renditions[0].name
    return Response(
        content=PAGE.format(
            title=html.escape(video.caption[:80] or f"@{video.author_handle}"),
            src=f"/api/videos/{video.id}/media/{best}",
            poster=f"/api/videos/{video.id}/poster",
            handle=html.escape(video.author_handle),
            caption=html.escape(video.caption),
        ),
        media_type="text/html",
    )
