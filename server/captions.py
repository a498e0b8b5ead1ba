"""Captions: upload (WebVTT or SRT, checked and stored as WebVTT), list, serve, delete."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Iterable
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, head, put
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.plugins.problem_details import ProblemDetailsException

from shortstack.media.captions import CaptionError, Cue, check, parse_srt, parse_vtt, sniff, to_vtt

from .config import Config
from .errors import problem
from .interactions import VideoId
from .storage import STORAGE_ERRORS, LocalStorage
from .store import captions as store
from .store.db import Database
from .store.errors import Forbidden, NotFound
from .store.moderation import blocked_terms as blocked_term_list
from .store.users import User
from .text_rules import blocked_terms, free_text
from .uploads import ReceivedUpload
from .visibility import owned_video, visible_video

VTT_TYPE = "text/vtt"  # Litestar adds "; charset=utf-8" to every text/* type
_LANG_RE = re.compile(r"^([a-zA-Z]{2,3})((?:-[a-zA-Z0-9]{2,8}){0,3})$")
LangName = Annotated[
    str,
    Parameter(
        max_length=40, description="A language tag (BCP 47, e.g. en, pt-BR, zh-Hant); GET: LANG.vtt"
    ),
]


class CaptionTrackOut(msgspec.Struct):
    lang: str
    kind: str  # "uploaded" | "automatic"
    cues: int
    url: str
    updated_at: float


class CaptionListOut(msgspec.Struct):
    items: list[CaptionTrackOut]


def language_tag(value: str, field: str = "lang") -> str:
    """A BCP-47-ish tag in its usual case (``pt-br`` -> ``pt-BR``); 422 when it is not one."""
    m = _LANG_RE.match(value)
    if m is None:
        raise problem(
            422,
            "Invalid language",
            f"{field}: {value[:40]!r} is not a language tag (e.g. en, pt-BR, zh-Hant)",
        )
    parts = [m.group(1).lower()]
    for sub in m.group(2).split("-")[1:]:
        if len(sub) == 2 and sub.isalpha():
            parts.append(sub.upper())
        elif len(sub) == 4 and sub.isalpha():
            parts.append(sub.title())
        else:
            parts.append(sub.lower())
    return "-".join(parts)


def caption_file(
    raw: bytes,
    content_type: str | None,
    duration_s: float | None,
    config: Config,
    terms: Iterable[str] = (),
) -> tuple[str, int]:
    """An uploaded caption file as stored: (WebVTT text, cue count). Problem details on a fault:
    413 too big, 422 naming the line (encoding, characters, blocked terms, timings, cue count)."""
    limit = config.captions.max_kb * 1024
    if len(raw) > limit:
        raise problem(413, "Captions too large", f"a caption file is at most {limit // 1024} KiB")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise problem(
            422, "Invalid captions", f"captions line {line}: not UTF-8 (captions must be UTF-8)"
        ) from None
    if not text.strip():
        raise problem(422, "Invalid captions", "captions: the file is empty")
    text = text.replace("\r\n", "\n")
    terms = list(terms)
    for n, line in enumerate(text.split("\n"), 1):
        free_text(line, field=f"captions line {n}")  # the comment rules: no escapes, no controls
        blocked_terms(line, terms, field=f"captions line {n}")  # and the admins' blocked terms
    text = free_text(text, field="captions")  # NFC, as comments are stored
    kind = (content_type or "").split(";")[0].strip().lower()
    fmt = {"text/vtt": "vtt", "application/x-subrip": "srt", "text/srt": "srt"}.get(kind)
    fmt = fmt or sniff(text)
    try:
        cues = parse_vtt(text) if fmt == "vtt" else parse_srt(text)
        check(cues, duration_s=duration_s, max_cues=config.captions.max_cues)
    except CaptionError as exc:
        where = f"captions line {exc.line}" if exc.line else "captions"
        raise problem(422, "Invalid captions", f"{where}: {exc.message}") from None
    return (text if fmt == "vtt" else to_vtt(cues)), len(cues)


def upload_captions(
    received: ReceivedUpload, duration_s: float | None, config: Config, terms: Iterable[str]
) -> tuple[str, str, int] | None:
    """The ``captions`` part of a video upload, checked: (language, WebVTT, cues) or None."""
    raw = received.raw_fields.get("captions")
    if raw is None:
        return None
    lang = language_tag(received.fields.get("captions_lang", "en").strip(), "captions_lang")
    vtt, cues = caption_file(raw, None, duration_s, config, terms)
    return lang, vtt, cues


async def store_upload_captions(
    db: Database, video_id: str, captions: tuple[str, str, int], config: Config
) -> None:
    """Store the checked captions of a new video (its HLS is made later, listing them)."""
    lang, vtt, cues = captions
    await store.put_track(db, video_id, lang, vtt, cues, max_tracks=config.captions.max_languages)


def automatic_vtt(cues: list[Cue], terms: Iterable[str] = ()) -> tuple[str, int]:
    """Automatic captions (an engine's words) as stored: sanitised cue text, as WebVTT; a cue
    with one of the admins' blocked terms is left out, as is an engine's odd output."""
    clean = []
    terms = list(terms)
    for cue in cues:
        try:
            words = " ".join(free_text(cue.text, field="automatic captions").split())
            blocked_terms(words, terms, field="automatic captions")
        except ProblemDetailsException:  # an engine's odd output or a blocked term: that cue goes
            continue
        words = words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        words = words.replace("-->", "->")
        if words and cue.end > cue.start:
            clean.append(Cue(cue.start, cue.end, words))
    return to_vtt(clean), len(clean)


def track_out(video_id: str, track: store.CaptionTrack) -> CaptionTrackOut:
    return CaptionTrackOut(
        track.lang,
        track.kind,
        track.cues,
        f"/api/videos/{video_id}/captions/{track.lang}.vtt",
        track.updated_at,
    )


async def refresh_hls(db: Database, storage: LocalStorage, video_id: str) -> None:
    """List the video's caption languages in its HLS master playlist (when it has one)."""
    from shortstack.media.hls import SubtitleTrack, set_subtitles

    tracks = [
        SubtitleTrack(
            t.lang,
            t.lang + (" (automatic)" if t.kind == "automatic" else ""),
            f"../captions/{t.lang}.m3u8",
            t.kind == "automatic",
        )
        for t in await store.list_tracks(db, video_id)
    ]

    def rewrite() -> None:
        with storage.hls_edit(video_id) as hls_dir:  # a bucket's: a local copy, uploaded back
            set_subtitles(hls_dir, tracks)

    # the .vtt still serves; the next change tries again
    with contextlib.suppress(*STORAGE_ERRORS):
        await asyncio.to_thread(rewrite)


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise problem(
                413, "Captions too large", f"a caption file is at most {limit // 1024} KiB"
            )
    return bytes(body)


async def _caption_body(
    db: Database, video_id: str, lang: str, viewer: User | None
) -> tuple[str, str]:
    """What GET answers for LANG.vtt or LANG.m3u8: (body, media type); 404 as for the video."""
    video = await visible_video(db, video_id, viewer)
    name, dot, ext = lang.rpartition(".")
    if not dot or ext not in ("vtt", "m3u8") or _LANG_RE.match(name) is None:
        raise NotFound(f"no captions {lang!r} (ask for LANG.vtt)")
    track, vtt = await store.get_vtt(db, video_id, language_tag(name))
    if ext == "m3u8":  # one segment: the whole .vtt (HLS SUBTITLES rendition)
        duration = video.duration_s or 0.0
        playlist = (
            "#EXTM3U\n#EXT-X-VERSION:3\n"
            f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXTINF:{duration:.3f},\n{track.lang}.vtt\n#EXT-X-ENDLIST\n"
        )
        return playlist, "application/vnd.apple.mpegurl"
    return vtt, VTT_TYPE


class CaptionsController(Controller):
    path = "/api/videos"
    tags = ["captions"]

    @get(
        "/{video_id:str}/captions",
        operation_id="list_captions",
        summary="The video's caption languages (uploaded or automatic)",
    )
    async def list_captions(
        self, video_id: VideoId, db: NamedDependency[Database], viewer: NamedDependency[User | None]
    ) -> CaptionListOut:
        await visible_video(db, video_id, viewer)
        return CaptionListOut(
            [track_out(video_id, t) for t in await store.list_tracks(db, video_id)]
        )

    @get(
        "/{video_id:str}/captions/{lang:str}",
        operation_id="get_captions",
        summary="One language's captions: LANG.vtt (WebVTT) or LANG.m3u8 (its HLS playlist)",
    )
    async def get_captions(
        self,
        video_id: VideoId,
        lang: LangName,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
    ) -> Response:
        body, media_type = await _caption_body(db, video_id, lang, viewer)
        return Response(body, media_type=media_type)

    @head(
        "/{video_id:str}/captions/{lang:str}",
        operation_id="head_captions",
        summary="Headers of LANG.vtt or LANG.m3u8",
    )
    async def head_captions(
        self,
        video_id: VideoId,
        lang: LangName,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
    ) -> Response[None]:
        body, media_type = await _caption_body(db, video_id, lang, viewer)
        length = str(len(body.encode()))
        return Response(None, media_type=media_type, headers={"Content-Length": length})

    @put(
        "/{video_id:str}/captions/{lang:str}",
        operation_id="put_captions",
        summary="Add or replace one language's captions (owner; body: WebVTT or SRT)",
        description="The body is the caption file: text/vtt, application/x-subrip, or anything"
        " else (then detected). UTF-8 only; SRT is stored as WebVTT. 422 names the line.",
        request_max_body_size=None,  # _read_body enforces captions.max_kb
    )
    async def put_captions(
        self,
        request: Request,
        video_id: VideoId,
        lang: LangName,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        storage: NamedDependency[LocalStorage],
    ) -> CaptionTrackOut:
        video = await visible_video(db, video_id, user)
        if user.id != video.author_id:
            raise Forbidden("only the video's owner can add captions")
        tag = language_tag(lang)
        raw = await _read_body(request, config.captions.max_kb * 1024)
        terms = await blocked_term_list(db)
        vtt, cues = caption_file(
            raw, request.headers.get("content-type"), video.duration_s, config, terms
        )
        await store.put_track(
            db, video_id, tag, vtt, cues, max_tracks=config.captions.max_languages
        )
        await refresh_hls(db, storage, video_id)
        track, _ = await store.get_vtt(db, video_id, tag)
        return track_out(video_id, track)

    @delete(
        "/{video_id:str}/captions/{lang:str}",
        operation_id="delete_captions",
        summary="Remove one language's captions (owner or admin)",
    )
    async def delete_captions(
        self,
        video_id: VideoId,
        lang: LangName,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
    ) -> None:
        await owned_video(db, video_id, user, "remove its captions")
        tag = language_tag(lang)
        if not await store.delete_track(db, video_id, tag):
            raise NotFound(f"video {video_id} has no captions in {tag!r}")
        await refresh_hls(db, storage, video_id)
