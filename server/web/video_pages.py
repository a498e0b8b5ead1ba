"""A video on the web: the share page ``/v/{id}``, the embeddable player and oEmbed."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.params import Parameter
from markupsafe import escape

from ..captions import track_out
from ..comments import CommentsController
from ..config import Config
from ..errors import problem
from ..schemas import VideoOut, video_out
from ..share import served_url
from ..store import captions as captions_store
from ..store.db import Database
from ..store.errors import NotFound
from ..store.users import User
from ..visibility import visible_video
from .render import op_id, pick_rendition, render, wants_html

VideoId = Annotated[str, Parameter(max_length=32)]
_VIDEO_PATH = re.compile(r"^/(?:v|embed)/([A-Za-z0-9_-]{1,32})/?$")
#: how often the processing page reloads itself (seconds)
REFRESH_S = 3


def _poster_size(v: VideoOut) -> tuple[int, int]:
    """The poster's size: the display size, at most 720 wide (media/poster.py)."""
    w, h = v.width or 720, v.height or 1280
    if w > 720:
        h, w = max(2, round(h * 720 / w)), 720
    return w, h


def video_context(v: VideoOut, base: str) -> dict[str, Any]:
    """What the templates need about a video: its JSON shape plus absolute URLs."""
    start = pick_rendition(v)
    poster_w, poster_h = _poster_size(v)
    return {
        "v": v,
        "page_url": f"{base}/v/{v.id}",
        "embed_url": f"{base}/embed/{v.id}",
        "poster": f"{base}{v.poster_url}" if v.poster_url else None,
        "poster_w": poster_w,
        "poster_h": poster_h,
        "start": start,
        "sources": ",".join(f"{min(r.width, r.height)}:{r.url}" for r in v.renditions),
        "revealed": False,
        "start_url": f"{base}{start.url}" if start else None,
        "oembed_url": f"{base}/oembed?format=json&url={quote(f'{base}/v/{v.id}', safe='')}",
        "title": (v.caption.splitlines()[0][:80] if v.caption else "") or f"@{v.author.handle}",
    }


def _gone(
    request: Request, status: int, title: str, text: str, exc: Exception | None = None
) -> Response:
    """A browser gets an HTML page with the status; an API client the problem details."""
    if not wants_html(request):
        raise exc or problem(status, title, text)
    return render(request, "gone.html", status, title=title, text=text)


async def _video_page(
    request: Request,
    video_id: str,
    db: Database,
    viewer: User | None,
    config: Config,
    template: str,
) -> Response:
    try:
        record = await visible_video(db, video_id, viewer)
    except NotFound as exc:
        # unknown, removed, unpublished or across a block: all the same 404 (visibility.py)
        text = "This video does not exist, or it was removed."
        return _gone(request, 404, "Video not found", text, exc)
    v = video_out(record)
    base = served_url(config, request)
    if v.status == "processing":  # only its owner and admins get this far
        return render(
            request,
            "processing.html",
            202,
            {"Refresh": str(REFRESH_S)},
            refresh_s=REFRESH_S,
            v=v,
            percent=round(v.progress * 100),
        )
    if v.status == "failed" or not v.renditions:
        return _gone(
            request,
            410,
            "Video failed",
            f"This video could not be processed: {v.error or 'unknown error'}",
        )
    context = video_context(v, base)
    # a sensitive video shows its notice first; ?reveal=1 is the "show video" link (scripts off)
    context["revealed"] = request.query_params.get("reveal") == "1"
    context["self_card"] = context
    # captions as <track>s, the first language shown by default (the player's menu changes it)
    context["tracks"] = [track_out(v.id, t) for t in await captions_store.list_tracks(db, v.id)]
    if template == "share.html":
        comments = await CommentsController.list_comments.fn(
            None, video_id=v.id, db=db, viewer=viewer, limit=20, cursor=None, parent_id=None
        )
        context["comments"] = comments.items
    return render(request, template, **context)


@route(
    "/v/{video_id:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    operation_id=op_id("share_page"),
    summary="Share page (HTML) for a video; HEAD answers its headers",
    tags=["web"],
)
async def share_page(
    request: Request,
    video_id: VideoId,
    db: NamedDependency[Database],
    viewer: NamedDependency[User | None],
    config: NamedDependency[Config],
) -> Response:
    return await _video_page(request, video_id, db, viewer, config, "share.html")


@route(
    "/embed/{video_id:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    operation_id=op_id("embed_player"),
    summary="The player alone, for an iframe (oEmbed html)",
    tags=["web"],
)
async def embed_player(
    request: Request,
    video_id: VideoId,
    db: NamedDependency[Database],
    viewer: NamedDependency[User | None],
    config: NamedDependency[Config],
) -> Response:
    return await _video_page(request, video_id, db, viewer, config, "embed.html")


def _fit(w: int, h: int, max_w: int | None, max_h: int | None) -> tuple[int, int]:
    """w x h scaled down (never up) to fit the bounds, keeping the aspect ratio."""
    scale = 1.0
    if max_w:
        scale = min(scale, max_w / w)
    if max_h:
        scale = min(scale, max_h / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


Bound = Annotated[int | None, Parameter(ge=16, le=4096)]


@get(
    "/oembed",
    operation_id="oembed",
    summary="oEmbed (JSON, type video) for a share page URL",
    tags=["web"],
)
async def oembed(
    request: Request,
    db: NamedDependency[Database],
    config: NamedDependency[Config],
    url: Annotated[str, Parameter(min_length=1, max_length=500)],
    format: Annotated[  # noqa: A002 - oEmbed's name; anything else is a 400
        Literal["json"], Parameter(description="json (the only format served)")
    ] = "json",
    maxwidth: Bound = None,
    maxheight: Bound = None,
) -> Response[dict]:
    parts = urlsplit(url)
    match = _VIDEO_PATH.match(parts.path or "")
    if parts.scheme not in ("http", "https") or not match:
        raise problem(404, "Not Found", "not the URL of a video on this server")
    record = await visible_video(db, match.group(1), None)
    if record.status != "ready" or not record.renditions:
        raise problem(404, "Not Found", f"no video {match.group(1)!r}")
    v = video_out(record)
    base = served_url(config, request)
    ctx = video_context(v, base)
    natural_w, natural_h = (v.width or 360), (v.height or 640)
    # a phone-sized frame by default: at most 360 wide and 640 high
    w, h = _fit(natural_w, natural_h, maxwidth or 360, maxheight or 640)
    title = ctx["title"]
    frame = (
        f'<iframe src="{ctx["embed_url"]}" width="{w}" height="{h}" frameborder="0" '
        f'allow="autoplay; fullscreen; picture-in-picture" '
        f'title="{escape(title)}"></iframe>'
    )
    thumb_w, thumb_h = ctx["poster_w"], ctx["poster_h"]
    body: dict[str, Any] = {
        "version": "1.0",
        "type": "video",
        "title": title,
        "author_name": v.author.display_name or v.author.handle,
        "author_url": f"{base}/u/{v.author.handle}",
        "provider_name": "Shortstack",
        "provider_url": f"{base}/",
        "html": frame,
        "width": w,
        "height": h,
    }
    fits = (not maxwidth or thumb_w <= maxwidth) and (not maxheight or thumb_h <= maxheight)
    if ctx["poster"] and fits and not v.sensitive:  # a sensitive picture stays behind its notice
        body.update(thumbnail_url=ctx["poster"], thumbnail_width=thumb_w, thumbnail_height=thumb_h)
    return Response(content=body, media_type="application/json")
