"""Streaming multipart upload: the file part goes to a temp file, size enforced as bytes arrive."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from .config import Config
from .errors import problem
from .storage import LocalStorage

if TYPE_CHECKING:
    from shortstack.media.probe import ProbeResult

MAX_FIELD_BYTES = 16 * 1024


@dataclass
class ReceivedUpload:
    path: Path
    size: int
    sha256: str
    filename: str | None
    content_type: str | None
    fields: dict[str, str] = field(default_factory=dict)
    raw_fields: dict[str, bytes] = field(default_factory=dict)  # the ``raw`` parts, as sent


async def receive_upload(
    request: Request,
    storage: LocalStorage,
    *,
    max_bytes: int,
    raw: dict[str, int] | None = None,
) -> ReceivedUpload:
    """Read a multipart/form-data body with one `file` part into a temp file in the data dir.

    Raises problem details: 415 not multipart, 413 too big, 422 no file / malformed.
    The temp file is removed on every error path. Parts named in ``raw`` (name: most bytes,
    413 beyond) are kept as bytes in ``raw_fields`` (e.g. a captions file)."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != "multipart/form-data" or not options.get("boundary"):
        raise problem(
            415,
            "Unsupported media type",
            "upload the video as multipart/form-data with a 'file' field",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise problem(
            413, "Upload too large", f"the upload limit is {max_bytes // (1024 * 1024)} MiB"
        )
    temp = storage.new_temp(".upload")
    digest = hashlib.sha256()
    size = 0
    fields: dict[str, str] = {}
    raw_fields: dict[str, bytes] = {}
    filename = content_type = None
    seen_file = False
    current: MultipartSegment | None = None
    buf = bytearray()
    out = open(temp, "wb")  # noqa: SIM115 - closed in finally
    ok = False
    try:
        with PushMultipartParser(
            options["boundary"], max_segment_count=16, max_header_size=8192
        ) as parser:
            async for chunk in request.stream():
                if not chunk:
                    continue
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        current = event
                        buf.clear()
                        if event.name == "file" and event.filename is not None:
                            if seen_file:
                                raise problem(422, "Too many files", "send exactly one 'file' part")
                            seen_file = True
                            filename, content_type = event.filename, event.content_type
                    elif event:
                        if (
                            current is not None
                            and current.name == "file"
                            and current.filename is not None
                        ):
                            size += len(event)
                            if size > max_bytes:
                                raise problem(
                                    413,
                                    "Upload too large",
                                    f"the upload limit is {max_bytes // (1024 * 1024)} MiB",
                                )
                            digest.update(event)
                            out.write(event)
                        else:
                            buf += event
                            if current is not None and raw and current.name in raw:
                                if len(buf) > raw[current.name]:
                                    raise problem(
                                        413,
                                        "Field too large",
                                        f"form field {current.name!r} is over"
                                        f" {raw[current.name] // 1024} KiB",
                                    )
                            elif len(buf) > MAX_FIELD_BYTES:
                                raise problem(
                                    422,
                                    "Field too large",
                                    f"form field {current.name!r} is too long"
                                    if current
                                    else "form field too long",
                                )
                    else:  # end of a segment
                        if current is not None and not (
                            current.name == "file" and current.filename is not None
                        ):
                            if raw and current.name in raw:
                                raw_fields[current.name] = bytes(buf)
                            else:
                                fields[current.name] = buf.decode("utf-8", "replace")
                        current = None
        if not seen_file:
            raise problem(422, "No file", "the upload has no 'file' part")
        if size == 0:
            raise problem(422, "Empty file", "the uploaded file is empty")
        ok = True  # made durable when it is adopted (storage.adopt_source), not before
    # ParserError, and ParserLimitReached (too many parts, huge headers)
    except MultipartError as exc:
        raise problem(422, "Malformed upload", f"the multipart body is malformed: {exc}") from None
    finally:
        out.close()
        if not ok:
            temp.unlink(missing_ok=True)
    return ReceivedUpload(
        temp, size, digest.hexdigest(), filename, content_type, fields, raw_fields
    )


async def probe_upload(path: Path, config: Config) -> ProbeResult:
    """Probe a received upload in a child process within the configured limits; 422 if refused.

    The child is killed after ``limits.probe_timeout_s``: a file made to hang or crash a
    demuxer costs a process, never one of the server's threads.
    """
    from shortstack.media.errors import InvalidMedia
    from shortstack.media.pipeline import Limits, probe_isolated

    limits = Limits(config.limits.max_dimension, config.limits.max_duration_s)
    try:
        return await asyncio.to_thread(
            probe_isolated,
            path,
            timeout_s=config.limits.probe_timeout_s,
            limits=limits,
            memory_limit_mb=config.media.max_memory_mb or None,
        )
    except InvalidMedia as exc:
        raise problem(422, "Not a playable video", str(exc)) from None


_FLAGS = {
    "true": True,
    "1": True,
    "on": True,
    "yes": True,
    "false": False,
    "0": False,
    "off": False,
    "no": False,
    "": False,
}


def flag_field(value: str | None, *, field: str) -> bool:
    """A yes/no form field (true/false, 1/0, on/off, yes/no; absent is no); 422 otherwise."""
    if value is None:
        return False
    flag = _FLAGS.get(value.strip().lower())
    if flag is None:
        raise problem(422, "Invalid field", f"{field}: expected true or false")
    return flag
