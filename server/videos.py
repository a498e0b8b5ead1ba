"""Videos: upload, metadata, delete, media streaming with Range, posters."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, head, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from .captions import store_upload_captions, upload_captions
from .config import Config
from .edit_preview import RECIPE_HELP, check_recipe, recipe_from_field
from .errors import problem
from .interactions import VideoId
from .jobs import JobRunner
from .object_storage import S3Storage
from .ranges import file_response
from .schemas import VideoOut, video_out
from .storage import LocalStorage
from .store import moderation as moderation_store
from .store import videos as store
from .store.db import Database
from .store.users import User
from .store.videos import VideoRecord
from .text_rules import blocked_terms, free_text
from .uploads import flag_field, probe_upload, receive_upload
from .visibility import owned_video, visible_video

CAPTION_MAX = 2200
RenditionName = Annotated[str, Parameter(max_length=16, pattern=r"^[a-z0-9]+$")]


HLS_WAIT_S = 30.0


async def _package(request: Request, sources: list[tuple[str, Path, int, int]], dest: Path) -> None:
    """Package HLS on demand (videos transcoded before HLS was made with the renditions):
    at most ``limits.hls_package_per_minute`` per client address (429 beyond), one at a
    time in the server (the rest wait their turn, 503 after ``HLS_WAIT_S``)."""
    from shortstack.media.errors import MediaError
    from shortstack.media.hls import MASTER, package_hls

    config: Config = request.app.state.config
    budget = request.app.stores.get("hls_packaging")
    address = request.client.host if request.client else "-"
    used = int(await budget.get(address) or 0)
    if used >= config.limits.hls_package_per_minute:
        retry = await budget.expires_in(address) or 60
        raise problem(
            429,
            "Too many HLS packagings",
            f"HLS for older videos is made on request, at most"
            f" {config.limits.hls_package_per_minute} a minute per address; the MP4"
            " renditions play meanwhile",
            headers={"Retry-After": str(max(1, retry))},
        )
    expires = await budget.expires_in(address) if used else None
    await budget.set(address, str(used + 1), expires_in=expires or 60)
    lock: asyncio.Lock = request.app.state.hls_packaging
    try:
        await asyncio.wait_for(lock.acquire(), HLS_WAIT_S)
    except TimeoutError:
        raise problem(
            503,
            "HLS busy",
            "another video is being packaged; try again shortly",
            headers={"Retry-After": "5"},
        ) from None
    try:
        if not (dest / MASTER).exists():  # not made while this request waited
            await asyncio.to_thread(package_hls, sources, dest)
    except MediaError as exc:
        raise problem(503, "HLS unavailable", f"{exc}; the MP4 renditions still play") from None
    finally:
        lock.release()


@functools.lru_cache(maxsize=4096)
def _rendition_file(storage: LocalStorage, video_id: str, rendition: str) -> Path:
    """``storage.rendition_path``, remembered: paths are made from ids (they never change) and
    building one with pathlib cost more than reading a cached 64 KB span."""
    return storage.rendition_path(video_id, rendition)


def _accel(request: Request, storage: LocalStorage) -> tuple[str, Path] | None:
    """(prefix, media root) when ``server.media_accel_redirect`` hands media bytes to nginx."""
    prefix = request.app.state.config.server.media_accel_redirect
    return (prefix, storage.root) if prefix else None


def _to_bucket(url: str) -> Response:
    """A redirect to a media file's bucket (or CDN) URL, checked for this viewer just now:
    clients keep no copy of it past a minute (a presigned one expires)."""
    return Response(
        content=None,
        status_code=302,
        headers={"location": url, "cache-control": "private, max-age=60"},
    )


def _absolute(playlist: str, to_url: Callable[[str], str]) -> str:
    """A playlist with its relative URIs (file lines, ``URI="..."`` of EXT-X-MAP) made
    absolute by ``to_url``; subtitle media lines keep theirs (the API serves captions)."""
    lines = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            line = to_url(line)
        elif line.startswith("#EXT-X-MAP:"):
            line = re.sub(r'URI="([^"]+)"', lambda m: f'URI="{to_url(m.group(1))}"', line)
        lines.append(line)
    return "\n".join(lines) + "\n"


async def _package_into_bucket(request: Request, storage: S3Storage, video: VideoRecord) -> None:
    """HLS for a video made before HLS was (e.g. moved by ``migrate --storage``): its
    renditions downloaded to a scratch folder, packaged there (``_package``'s limits), the
    folder uploaded (playlists last)."""
    with storage.scratch("hls") as work:
        sources = []
        for r in video.renditions:
            path = work / f"{r.name}.mp4"
            key = storage.key(video.id, f"{r.name}.mp4")
            if not await asyncio.to_thread(storage.get_file, key, path):
                raise problem(404, "Media missing", "a rendition file is missing in the bucket")
            sources.append((r.name, path, r.width, r.height))
        await _package(request, sources, work / "hls")
        await asyncio.to_thread(storage.upload_tree, work / "hls", video.id, under="hls/")


async def _hls_from_bucket(
    request: Request,
    storage: S3Storage,
    video: VideoRecord,
    rendition: str | None,
    name: str,
    head_only: bool,
) -> Response:
    """HLS of a video whose media is in a bucket (its visibility already checked).

    The master playlist always comes from here (its caption playlists are the API's); with a
    CDN base URL it names the CDN's media playlists, whose relative segment URIs resolve
    there. A private bucket's media playlists come from here too, each segment a presigned
    URL (a relative URI cannot carry a signature). Segments: a redirect."""
    from shortstack.media.hls import CONTENT_TYPES

    video_id = video.id
    public = bool(storage.config.public_base_url)
    if rendition is not None and (name != "index.m3u8" or public):
        return _to_bucket(storage.url(video_id, f"hls/{rendition}/{name}"))
    folder = "hls/" if rendition is None else f"hls/{rendition}/"
    key = storage.key(video_id, folder + name)
    body = await asyncio.to_thread(storage.get_bytes, key)
    if body is None and rendition is None:  # made at transcode time; older videos: here
        await _package_into_bucket(request, storage, video)
        body = await asyncio.to_thread(storage.get_bytes, key)
    if body is None:
        raise problem(
            404,
            "HLS unavailable",
            "this video has no HLS in the media bucket; the MP4 renditions still play",
        )
    text = body.decode()
    if rendition is None and public:
        text = _absolute(text, lambda uri: storage.url(video_id, f"hls/{uri}"))
    elif rendition is not None:
        text = _absolute(text, lambda uri: storage.url(video_id, f"hls/{rendition}/{uri}"))
    payload = text.encode()
    headers = {"cache-control": "private, max-age=60", "content-length": str(len(payload))}
    return Response(
        content=None if head_only else payload,
        media_type=CONTENT_TYPES[".m3u8"],
        headers=headers,
    )


def _quota(config: Config, user: User) -> store.UploadQuota | None:
    """The user's daily upload quota (limits.uploads_per_day, upload_mb_per_day); admins: none."""
    limits = config.limits
    if user.is_admin or not (limits.uploads_per_day or limits.upload_mb_per_day):
        return None
    return store.UploadQuota(limits.uploads_per_day, limits.upload_mb_per_day * 1024 * 1024)


class VideosController(Controller):
    path = "/api/videos"
    tags = ["videos"]

    @post(
        operation_id="upload_video",
        summary="Upload a video (multipart: file, caption, optional edit recipe JSON, sensitive)",
        description="Streams the file to disk, probes it, validates the edit recipe against it, and"
        " queues the transcode (which applies the recipe). 202 with status processing. "
        + RECIPE_HELP,
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=None,  # receive_upload enforces limits.max_upload_mb while streaming
    )
    async def upload(
        self,
        request: Request,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        storage: NamedDependency[LocalStorage],
        jobs: NamedDependency[JobRunner],
    ) -> VideoOut:
        from shortstack.media.edit import output_info

        quota = _quota(config, user)
        if quota is not None:  # used up already: refused before a byte is read
            await store.check_upload_quota(db, user.id, quota, 1)
        received = await receive_upload(
            request,
            storage,
            max_bytes=config.limits.max_upload_mb * 1024 * 1024,
            raw={"captions": config.captions.max_kb * 1024},
        )
        temp = received.path
        try:
            caption = free_text(received.fields.get("caption", ""), field="caption").strip()
            terms = await moderation_store.blocked_terms(db)
            blocked_terms(caption, terms, field="caption")
            if len(caption) > CAPTION_MAX:
                raise problem(
                    422, "Caption too long", f"a caption is at most {CAPTION_MAX} characters"
                )
            recipe = recipe_from_field(received.fields.get("edit"))
            sensitive = flag_field(received.fields.get("sensitive"), field="sensitive")
            info = await probe_upload(temp, config)
            # the job reuses this probe (the source is never probed twice)
            payload: dict[str, object] = {"probe": dataclasses.asdict(info)}
            edit_json = None
            if recipe is not None:
                check_recipe(recipe, info, config)
                info = output_info(recipe, info)  # the metadata shown is the edited video's
                edit_json = json.dumps(recipe.to_dict(), separators=(",", ":"))
                payload["edit"] = recipe.to_dict()
            captions = upload_captions(
                received, info.duration_s, config, terms
            )  # 422 before any row
            # checked once the upload is valid; the same file with another recipe is a new video
            existing = await store.find_duplicate(db, user.id, received.sha256, edit_json)
            if existing is not None:
                raise problem(
                    409,
                    "Already uploaded",
                    f"you already posted this file with this edit as video {existing}",
                )
            video_id = store.new_video_id()
            # a rename in the data dir; a (multipart) upload to a bucket: off the event loop
            await asyncio.to_thread(storage.adopt_source, temp, video_id)
            try:
                await store.create_video(
                    db,
                    user.id,
                    caption,
                    video_id=video_id,
                    content_hash=received.sha256,
                    source_bytes=received.size,
                    info=msgspec.structs.asdict(info)
                    if isinstance(info, msgspec.Struct)
                    else vars(info),
                    max_attempts=config.media.job_max_attempts,
                    job_payload=json.dumps(payload),
                    edit=edit_json,
                    quota=quota,
                    sensitive=sensitive,
                )
                if captions is not None:
                    await store_upload_captions(db, video_id, captions, config)
            except BaseException:
                await asyncio.to_thread(storage.delete_video, video_id)
                raise
        finally:
            temp.unlink(missing_ok=True)
        jobs.wake()
        return video_out(await store.get_video(db, video_id, user.id))

    @get("/{video_id:str}", operation_id="get_video", summary="A video")
    async def get_video(
        self, video_id: VideoId, db: NamedDependency[Database], viewer: NamedDependency[User | None]
    ) -> VideoOut:
        return video_out(await visible_video(db, video_id, viewer))

    @delete(
        "/{video_id:str}", operation_id="delete_video", summary="Delete a video (owner or admin)"
    )
    async def delete_video(
        self,
        video_id: VideoId,
        user: NamedDependency[User],
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
    ) -> None:
        await owned_video(db, video_id, user, "delete it")
        await store.delete_video(db, video_id)
        await asyncio.to_thread(storage.delete_video, video_id)

    async def _media(
        self,
        request: Request,
        video_id: str,
        rendition: str,
        db: NamedDependency[Database],
        head_only: bool,
        viewer: User | None,
    ) -> Response:
        # storage from the app's state, not injected beside db: a handler's independent
        # dependencies are resolved in an anyio task group, a task and a loop turn each
        storage: LocalStorage = request.app.state.storage
        video = await visible_video(db, video_id, viewer)
        if video.status != "ready" or rendition not in {r.name for r in video.renditions}:
            names = ", ".join(r.name for r in video.renditions) or "none yet"
            raise problem(404, "No such rendition", f"video {video_id} has renditions: {names}")
        if isinstance(storage, S3Storage):
            return _to_bucket(storage.url(video_id, f"{rendition}.mp4"))
        path = _rendition_file(storage, video_id, rendition)  # missing: 404 Media missing
        return await file_response(
            request, path, "video/mp4", head=head_only, accel=_accel(request, storage)
        )

    @get(
        "/{video_id:str}/media/{rendition:str}",
        operation_id="get_media",
        summary="Stream a rendition (Range supported)",
    )
    async def media(
        self,
        request: Request,
        video_id: VideoId,
        rendition: RenditionName,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
    ) -> Response:
        return await self._media(request, video_id, rendition, db, False, viewer)

    @head(
        "/{video_id:str}/media/{rendition:str}",
        operation_id="head_media",
        summary="Rendition headers",
    )
    async def media_head(
        self,
        request: Request,
        video_id: VideoId,
        rendition: RenditionName,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
    ) -> Response[None]:
        return await self._media(request, video_id, rendition, db, True, viewer)

    async def _hls(
        self,
        request: Request,
        video_id: str,
        rendition: str | None,
        name: str,
        db: Database,
        storage: LocalStorage,
        viewer: User | None,
        head_only: bool = False,
    ) -> Response:
        from shortstack.media.hls import CONTENT_TYPES, MASTER

        video = await visible_video(db, video_id, viewer)
        names = {r.name for r in video.renditions}
        try:
            path = storage.hls_path(video_id, rendition, name)
        except ValueError:
            path = None
        if (
            video.status != "ready"
            or not names
            or path is None
            or (rendition is not None and rendition not in names)
        ):
            raise problem(404, "No such HLS file", f"video {video_id} has no {request.url.path}")
        if isinstance(storage, S3Storage):
            return await _hls_from_bucket(request, storage, video, rendition, name, head_only)
        if not storage.hls_path(video_id, None, MASTER).exists():
            # made at transcode time; a video made before gets it here, bounded (see _package)
            sources = [
                (r.name, storage.rendition_path(video_id, r.name), r.width, r.height)
                for r in video.renditions
            ]
            if not all(p.exists() for _, p, _, _ in sources):
                raise problem(404, "Media missing", "a rendition file is missing on the server")
            await _package(request, sources, storage.hls_dir(video_id))
        if not path.exists():
            raise problem(404, "No such HLS file", f"video {video_id} has no {request.url.path}")
        return await file_response(
            request,
            path,
            CONTENT_TYPES[path.suffix],
            head=head_only,
            accel=_accel(request, storage),
        )

    @get(
        "/{video_id:str}/hls/master.m3u8",
        operation_id="get_hls_master",
        summary="HLS master playlist (fMP4 segments of every rendition, Range supported)",
    )
    async def hls_master(
        self,
        request: Request,
        video_id: VideoId,
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response:
        return await self._hls(request, video_id, None, "master.m3u8", db, storage, viewer)

    @get(
        "/{video_id:str}/hls/{rendition:str}/{name:str}",
        operation_id="get_hls_file",
        summary="An HLS media playlist, init segment or media segment of one rendition",
    )
    async def hls_file(
        self,
        request: Request,
        video_id: VideoId,
        rendition: RenditionName,
        name: Annotated[
            str, Parameter(max_length=32, description="index.m3u8, init.mp4 or segNNN.m4s")
        ],
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response:
        return await self._hls(request, video_id, rendition, name, db, storage, viewer)

    @head(
        "/{video_id:str}/hls/master.m3u8",
        operation_id="head_hls_master",
        summary="HLS master playlist headers",
    )
    async def hls_master_head(
        self,
        request: Request,
        video_id: VideoId,
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response[None]:
        return await self._hls(
            request, video_id, None, "master.m3u8", db, storage, viewer, head_only=True
        )

    @head(
        "/{video_id:str}/hls/{rendition:str}/{name:str}",
        operation_id="head_hls_file",
        summary="Headers of an HLS playlist or segment",
    )
    async def hls_file_head(
        self,
        request: Request,
        video_id: VideoId,
        rendition: RenditionName,
        name: Annotated[
            str, Parameter(max_length=32, description="index.m3u8, init.mp4 or segNNN.m4s")
        ],
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response[None]:
        return await self._hls(
            request, video_id, rendition, name, db, storage, viewer, head_only=True
        )

    async def _poster(
        self,
        request: Request,
        video_id: str,
        db: Database,
        storage: LocalStorage,
        viewer: User | None,
        head_only: bool,
    ) -> Response:
        video = await visible_video(db, video_id, viewer)
        if isinstance(storage, S3Storage) and video.has_poster:
            return _to_bucket(storage.url(video_id, "poster.jpg"))
        path = storage.poster_path(video_id)
        if not video.has_poster or not path.exists():
            raise problem(404, "No poster yet", "the poster is made when the video is processed")
        return await file_response(
            request, path, "image/jpeg", head=head_only, accel=_accel(request, storage)
        )

    @get("/{video_id:str}/poster", operation_id="get_poster", summary="The poster image (JPEG)")
    async def poster(
        self,
        request: Request,
        video_id: VideoId,
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response:
        return await self._poster(request, video_id, db, storage, viewer, False)

    @head("/{video_id:str}/poster", operation_id="head_poster", summary="Poster headers")
    async def poster_head(
        self,
        request: Request,
        video_id: VideoId,
        db: NamedDependency[Database],
        storage: NamedDependency[LocalStorage],
        viewer: NamedDependency[User | None],
    ) -> Response[None]:
        return await self._poster(request, video_id, db, storage, viewer, True)
