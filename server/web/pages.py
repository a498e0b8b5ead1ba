"""The web app's pages: the feed at ``/``, profiles, hashtags, search, log in and upload.

Pages are rendered for an anonymous visitor (readable with scripts off); the script
(static/app.js) adds what needs the visitor's token, kept in the browser (docs/web.md)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.params import Parameter

from ..config import Config
from ..feed import FeedController
from ..search import SearchController
from ..share import served_url
from ..store.db import Database
from ..store.errors import NotFound
from ..users import UsersController
from .render import op_id, render, wants_html
from .video_pages import video_context

GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]
#: videos the feed page carries before the script asks for more
FIRST_PAGE = 4


@route(
    "/", http_method=GET_HEAD, operation_id=op_id("web_feed"), summary="The web feed", tags=["web"]
)
async def feed_page(
    request: Request,
    db: NamedDependency[Database],
    config: NamedDependency[Config],
) -> Response:
    page = await FeedController.trending.fn(
        None,
        state=request.app.state,
        db=db,
        viewer=None,
        limit=FIRST_PAGE,
        cursor=None,
    )
    base = served_url(config, request)
    cards = [video_context(item.video, base) for item in page.items]
    return render(request, "feed.html", cards=cards, next_cursor=page.next_cursor)


Handle = Annotated[str, Parameter(max_length=40)]


@route("/u/{handle:str}", http_method=GET_HEAD, operation_id=op_id("web_profile"), tags=["web"])
async def profile_page(
    request: Request, handle: Handle, db: NamedDependency[Database], config: NamedDependency[Config]
) -> Response:
    handle = handle.lstrip("@").lower()
    try:
        user = await UsersController.get_user.fn(None, handle=handle, db=db, viewer=None)
    except NotFound:
        if not wants_html(request):
            raise
        return render(
            request, "gone.html", 404, title="No such account", text=f"There is no @{handle} here."
        )
    videos = await UsersController.user_videos.fn(
        None, handle=handle, db=db, viewer=None, limit=30, cursor=None
    )
    base = served_url(config, request)
    return render(
        request,
        "profile.html",
        user=user,
        cards=[video_context(v, base) for v in videos.items if v.status == "ready"],
    )


Tag = Annotated[str, Parameter(max_length=60)]


@route("/tag/{tag:str}", http_method=GET_HEAD, operation_id=op_id("web_hashtag"), tags=["web"])
async def hashtag_page(
    request: Request, tag: Tag, db: NamedDependency[Database], config: NamedDependency[Config]
) -> Response:
    tag = tag.lstrip("#").lower()
    found = await SearchController.search.fn(None, db=db, viewer=None, q=f"#{tag}", limit=30)
    base = served_url(config, request)
    count = next((t.videos for t in found.hashtags if t.tag == tag), len(found.videos))
    return render(
        request,
        "hashtag.html",
        tag=tag,
        count=count,
        cards=[video_context(v, base) for v in found.videos],
    )


Query = Annotated[str, Parameter(max_length=200)]


@route("/search", http_method=GET_HEAD, operation_id=op_id("web_search"), tags=["web"])
async def search_page(
    request: Request,
    db: NamedDependency[Database],
    config: NamedDependency[Config],
    q: Query = "",
) -> Response:
    text = q.strip()
    found = None
    if text:
        found = await SearchController.search.fn(None, db=db, viewer=None, q=text, limit=20)
    base = served_url(config, request)
    return render(
        request,
        "search.html",
        q=text,
        found=found,
        cards=[video_context(v, base) for v in found.videos] if found else [],
    )


@route("/login", http_method=GET_HEAD, operation_id=op_id("web_login"), tags=["web"])
async def login_page(request: Request, config: NamedDependency[Config]) -> Response:
    return render(request, "login.html", min_password=config.accounts.password_min_length)


@route("/upload", http_method=GET_HEAD, operation_id=op_id("web_upload"), tags=["web"])
async def upload_page(request: Request, config: NamedDependency[Config]) -> Response:
    return render(request, "upload.html", max_mb=config.limits.max_upload_mb)
