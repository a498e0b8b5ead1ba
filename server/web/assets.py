"""Static files of the web pages: content-hashed names, long cache, and the favicon."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated

from litestar import Response, get, head
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

STATIC = files(__package__) / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    """One shipped file: its bytes, type and the hashed name it is served under."""

    name: str
    hashed: str
    body: bytes
    media_type: str
    etag: str


def _load() -> dict[str, Asset]:
    out: dict[str, Asset] = {}
    for entry in STATIC.iterdir():
        if not entry.is_file() or entry.name.startswith("."):
            continue
        body = entry.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:12]
        stem, dot, ext = entry.name.rpartition(".")
        hashed = f"{stem}.{digest}.{ext}" if dot else f"{entry.name}.{digest}"
        kind = TYPES.get(f".{ext}") or mimetypes.guess_type(entry.name)[0]
        out[entry.name] = Asset(
            entry.name, hashed, body, kind or "application/octet-stream", f'"{digest}"'
        )
    return out


ASSETS = _load()
BY_HASH = {a.hashed: a for a in ASSETS.values()}


def asset_url(name: str) -> str:
    """The URL of a shipped file under its content-hashed name (templates call this)."""
    return f"/static/{ASSETS[name].hashed}"


def _answer(asset: Asset, cache: str, with_body: bool) -> Response[bytes]:
    return Response(
        content=asset.body if with_body else b"",
        media_type=asset.media_type,
        headers={
            "Cache-Control": cache,
            "ETag": asset.etag,
            "Content-Length": str(len(asset.body)),
        },
    )


AssetName = Annotated[str, Parameter(max_length=100)]


@get("/static/{name:str}", operation_id="web_static", include_in_schema=False)
async def static_file(name: AssetName) -> Response[bytes]:
    asset = BY_HASH.get(name)
    if asset is None:
        raise NotFoundException(detail=f"no static file {name!r}")
    return _answer(asset, IMMUTABLE, True)


@head("/static/{name:str}", operation_id="web_static_head", include_in_schema=False)
async def static_file_head(name: AssetName) -> Response[None]:
    asset = BY_HASH.get(name)
    if asset is None:
        raise NotFoundException(detail=f"no static file {name!r}")
    return _answer(asset, IMMUTABLE, False)  # type: ignore[return-value]


@get("/favicon.ico", operation_id="favicon", include_in_schema=False)
async def favicon() -> Response[bytes]:
    return _answer(ASSETS["favicon.ico"], "public, max-age=86400", True)
