"""Templates of the web pages: the Jinja environment, its filters, and HTML answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from shortstack.counts import counted, noun, short_count

from ..config import Config
from ..schemas import VideoOut
from ..share import served_url
from .assets import asset_url

TEMPLATES = Path(__file__).parent / "templates"
#: #tag and @handle inside user text (the server's own hashtag and handle shapes)
_MENTION = re.compile(r"(?<![\w&])([#@])(\w{1,50})")


def linkify(text: str | None) -> Markup:
    """User text, escaped, with #tag and @handle made links (to the hashtag and profile pages)."""
    if not text:
        return Markup("")
    out: list[str] = []
    pos = 0
    for m in _MENTION.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        sign, word = m.group(1), m.group(2)
        href = f"/tag/{word.lower()}" if sign == "#" else f"/u/{word.lower()}"
        out.append(f'<a href="{escape(href)}">{escape(sign + word)}</a>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset_url
    env.filters["linkify"] = linkify
    env.filters["count"] = short_count  # 999, 1.2K, 3.4M
    env.filters["counted"] = counted  # n|counted("view"): 1 view, 1.2K views
    env.filters["noun"] = lambda word, n: noun(n, word)  # "view"|noun(n): view or views
    return env


def template_config() -> TemplateConfig:
    """The app's template engine: Jinja with autoescape on, over server/web/templates."""
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment()))


def op_id(name: str) -> Any:
    """operation_id for a GET+HEAD route: ``name`` for GET, ``head_name`` for HEAD."""

    def make(_handler: Any, method: Any, _path: Any) -> str:
        return name if str(method).upper().endswith("GET") else f"head_{name}"

    return make


def wants_html(request: Request) -> bool:
    """Whether the client is a browser (asks for text/html) rather than an API client."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """A page from the app's template engine; a HEAD request gets the headers only."""
    config: Config = request.app.state.config
    context.setdefault("base", served_url(config, request))
    text = request.app.template_engine.get_template(name).render(**context)
    body = text.encode("utf-8")
    out_headers = {"Cache-Control": "no-cache", **(headers or {})}
    if request.method == "HEAD":
        out_headers["Content-Length"] = str(len(body))
        return Response(
            content="",
            status_code=status_code,
            media_type=MediaType.HTML,  # Litestar adds "; charset=utf-8"
            headers=out_headers,
        )
    return Response(
        content=text,
        status_code=status_code,
        media_type=MediaType.HTML,  # Litestar adds "; charset=utf-8"
        headers=out_headers,
    )


def pick_rendition(video: VideoOut, short_side: int = 480) -> Any:
    """The rendition a page starts with (the script may pick another for the screen): the
    smallest whose short side reaches ``short_side``, else the biggest; None when none."""
    if not video.renditions:
        return None
    by_size = sorted(video.renditions, key=lambda r: min(r.width, r.height))
    for r in by_size:
        if min(r.width, r.height) >= short_side:
            return r
    return by_size[-1]
