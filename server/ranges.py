"""HTTP byte ranges (RFC 9110) for media files: parse Range, build 200/206/304/416 responses.

Bytes go out one of two ways. By default the server reads them itself: a span of up to
``CHUNK`` bytes (a player's Range request) straight from the page cache on the event loop
when all of it is cached (preadv with RWF_NOWAIT never waits for the disk), else in one hop
to a worker thread (open, pread, close); a longer one is streamed a chunk per hop. uvicorn has no zero-copy send (no ASGI
``zerocopysend``/``pathsend``), so for sendfile put nginx in front and set
``server.media_accel_redirect``: after the server's checks the answer is an empty response
whose ``X-Accel-Redirect`` names the file, and nginx sends it (sendfile, Range, 304)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Stream

from .errors import problem

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


def etag_for(path: Path | None, st: os.stat_result) -> str:
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


def _read_span(path: Path, start: int, length: int, etag: str) -> bytes:
    """The bytes [start, start + length) of the file whose ETag was ``etag`` (on a worker
    thread: open, fstat, pread, close). FileChanged if it was replaced meanwhile."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if etag_for(path, os.fstat(fd)) != etag:
            raise FileChanged
        data = os.pread(fd, length, start)
    finally:
        os.close(fd)
    if len(data) != length:
        raise FileChanged
    return data


_NOWAIT = getattr(os, "RWF_NOWAIT", 0)


def _read_cached_span(fd: int, start: int, length: int) -> bytes | None:
    """The span of the open file if the page cache holds all of it, read on the caller's
    thread without ever waiting for the disk (preadv RWF_NOWAIT); None when it would wait
    (or the OS can't say)."""
    if not _NOWAIT:
        return None
    buf = bytearray(length)
    try:
        got = os.preadv(fd, [buf], start, _NOWAIT)
    except OSError:  # EAGAIN: not all cached; EOPNOTSUPP: this filesystem can't tell
        return None
    return bytes(buf) if got == length else None


class FileChanged(Exception):
    """The file was replaced between its stat and its read (a re-transcode): retry."""


async def _chunks(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    """A long span chunk by chunk, one worker-thread hop per chunk (pread on one fd)."""
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, os.open, path, os.O_RDONLY)
    try:
        offset, end = start, start + length
        while offset < end:
            data = await loop.run_in_executor(None, os.pread, fd, min(CHUNK, end - offset), offset)
            if not data:
                break
            offset += len(data)
            yield data
    finally:
        os.close(fd)


def _if_none_match(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def accel_redirect(prefix: str, root: Path, path: Path) -> str:
    """The X-Accel-Redirect URI of a file under ``root`` (media paths are made from ids,
    never from user input; quoted anyway)."""
    return prefix.rstrip("/") + "/" + quote(path.relative_to(root).as_posix())


async def file_response(
    request: Request,
    path: Path,
    media_type: str,
    *,
    head: bool = False,
    accel: tuple[str, Path] | None = None,
) -> Response:
    """Serve a file with Range, ETag and If-None-Match support, without reading it into memory.

    A 404 problem when the file is missing. ``accel`` = (URI prefix, media root): hand the
    file to the reverse proxy instead (``X-Accel-Redirect``), which then answers Range, HEAD
    and If-None-Match itself."""
    if accel is not None:
        headers = {"X-Accel-Redirect": accel_redirect(accel[0], accel[1], path)}
        return Response(content=b"", status_code=200, headers=headers, media_type=media_type)
    try:
        # one descriptor for the metadata and a cached span: its stat and its bytes are of the
        # same file even if a re-transcode renames a new one into place meanwhile
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise problem(404, "Media missing", "the file is missing on the server") from None
    try:
        st = os.fstat(fd)
        size = st.st_size
        etag = etag_for(path, st)
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "public, max-age=3600"}
        request_headers = request.headers
        if _if_none_match(request_headers.get("if-none-match"), etag):
            return Response(content=b"", status_code=304, headers=headers)
        range_header = request_headers.get("range")
        if_range = request_headers.get("if-range")
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
        if head:
            headers["Content-Length"] = str(length)
            return Response(content=b"", status_code=status, headers=headers, media_type=media_type)
        body = _read_cached_span(fd, start, length) if length <= CHUNK else None
    finally:
        os.close(fd)
    if body is None and length <= CHUNK:  # some of it is on disk only: read it off the loop
        try:
            body = await asyncio.get_running_loop().run_in_executor(
                None, _read_span, path, start, length, etag
            )
        except (FileChanged, FileNotFoundError):
            raise problem(
                503,
                "Media changed",
                "the file was just replaced; ask again",
                headers={"Retry-After": "1"},
            ) from None
    if body is not None:
        return Response(content=body, status_code=status, headers=headers, media_type=media_type)
    headers["Content-Length"] = str(length)
    return Stream(
        _chunks(path, start, length), status_code=status, headers=headers, media_type=media_type
    )
