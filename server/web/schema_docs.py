"""``/schema``: the API reference page, drawn by a small shipped script (no CDN, works offline)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from markupsafe import escape

from .assets import asset_url


class ApiDocsPlugin(OpenAPIRenderPlugin):
    """Lists every operation of ``/schema/openapi.json`` with its parameters and answers."""

    def __init__(self, *, path: str | list[str] = "/", **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(openapi_schema.get("info", {}).get("title", "API"))
        spec = escape(self.get_openapi_json_route(request))
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title} API</title>"
            f'<link rel="icon" href="/favicon.ico">'
            f'<link rel="stylesheet" href="{asset_url("schema.css")}">'
            f'<script defer src="{asset_url("schema.js")}"></script></head>'
            f'<body><main id="docs" data-spec="{spec}"><h1>{title} API</h1>'
            f'<p>The machine-readable document: <a href="{spec}">{spec}</a>.</p>'
            "</main></body></html>"
        ).encode()
