"""HTTP byte ranges (RFC 9110) for media files: parse Range, build 200/206/304/416 responses."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from litestar import Request, Response
from litestar.response import Stream

CHUNK = 256 * 1024
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range asks for bytes the file does not have."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end) inclusive byte range asked for, or None to send the whole file.

    A malformed or multi-range header is ignored (RFC 9110 allows answering 200 with the whole
    representation); a well-formed range outside the file raises Unsatisfiable."""
    if not header:
        return None
    match = _RANGE_RE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid range-spec: ignore the header
    if start >= size:
        raise Unsatisfiable
    return start, min(end, size - 1)


def etag_for(path: Path, st: os.stat_result) -> str:
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


async def _chunks(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(start)
        remaining = length
        while remaining > 0:
            data = await fh.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


def _if_none_match(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def file_response(request: Request, path: Path, media_type: str, *, head: bool = False) -> Response:
    """Serve a file with Range, ETag and If-None-Match support, without reading it into memory."""
    st = path.stat()
    size = st.st_size
    etag = etag_for(path, st)
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "public, max-age=3600"}
    if _if_none_match(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != etag:
        range_header = None  # the client's copy is stale: send it all
    try:
        byte_range = parse_range(range_header, size)
    except Unsatisfiable:
        return Response(
            content={
                "type": "about:blank",
                "status": 416,
                "title": "Range Not Satisfiable",
                "detail": f"the file has {size} bytes",
            },
            status_code=416,
            media_type="application/problem+json",
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    if byte_range is None:
        start, length, status = 0, size, 200
    else:
        start, end = byte_range
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    if head:
        return Response(content=b"", status_code=status, headers=headers, media_type=media_type)
    return Stream(
        _chunks(path, start, length), status_code=status, headers=headers, media_type=media_type
    )
