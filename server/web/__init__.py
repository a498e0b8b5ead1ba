"""The web: share pages, the embeddable player, oEmbed and a browser feed, as server-rendered
HTML with a small script (docs/web.md)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from .assets import favicon, static_file, static_file_head
from .pages import feed_page, hashtag_page, login_page, profile_page, search_page, upload_page
from .render import template_config
from .schema_docs import ApiDocsPlugin
from .video_pages import embed_player, oembed, share_page

#: every route of the web, for create_app's route handlers
WEB_ROUTES: list[ControllerRouterHandler] = [
    feed_page,
    share_page,
    embed_player,
    oembed,
    profile_page,
    hashtag_page,
    search_page,
    login_page,
    upload_page,
    static_file,
    static_file_head,
    favicon,
]

__all__ = ["WEB_ROUTES", "ApiDocsPlugin", "template_config"]
