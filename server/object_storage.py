"""Media in an S3-compatible bucket: the storage seam's object backend (boto3) and media URLs.

Keys mirror the data dir: ``PREFIX media/<id[:2]>/<id>/source``, ``.../360p.mp4``,
``.../poster.jpg``, ``.../hls/...``; model artifacts under ``PREFIX models/``. Uploads are still
received into DATA/tmp (the probe needs a file) and transcodes work in a scratch folder there;
finished files are uploaded (multipart above ``PART_BYTES``, streamed from disk)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .config import ConfigError, StorageConfig
from .local_storage import _ID_RE, _MODEL_RE, MODELS_KEPT, LocalStorage, TranscodeFiles

#: multipart part size (and the size above which an upload is multipart)
PART_BYTES = 8 * 1024 * 1024
#: an orphan prefix or an unfinished multipart upload younger than this is someone's work in
#: flight (an upload adopted before its row commits, a transcode uploading): the sweep spares it
SWEEP_GRACE_S = 3600.0
#: presigned URLs remembered at most (each a few hundred bytes)
SIGNED_KEPT = 100_000

_TYPES = {
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".jpg": "image/jpeg",
}


class StorageUnavailable(Exception):
    """The bucket cannot be reached or used (no credentials, no such bucket, endpoint down)."""


def _boto() -> Any:
    try:
        import boto3
        import botocore.config
    except ImportError:
        raise ConfigError(
            "storage.backend = 's3' needs boto3: pip install 'shortstack[s3]'"
        ) from None
    return boto3, botocore.config


def make_client(config: StorageConfig) -> Any:
    """A boto3 S3 client for the config (credentials from boto3's standard chain)."""
    boto3, bconfig = _boto()
    options = bconfig.Config(
        signature_version="s3v4",
        # a custom endpoint (MinIO, Ceph, moto) answers path-style; AWS picks its own
        s3={"addressing_style": "path" if config.endpoint_url else "auto"},
        retries={"max_attempts": 4, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url or None,
        region_name=config.region or None,
        config=options,
    )


def explain(exc: BaseException, bucket: str) -> str:
    """One line saying why a bucket operation failed (no traceback, no secrets)."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return f"cannot reach the S3 endpoint: {exc}"
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchBucket", "404", "NotFound"):
            return f"no such bucket: {bucket}"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"access to bucket {bucket} denied ({code}): check the S3 credentials"
        return f"S3 error on bucket {bucket}: {code or exc}"
    if isinstance(exc, bx.BotoCoreError):
        return f"S3 error on bucket {bucket}: {exc}"
    if isinstance(exc, StorageUnavailable):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _missing(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
        "NoSuchKey",
        "404",
        "NotFound",
    )


def normalized_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


class S3Storage(LocalStorage):
    """Media and model artifacts in a bucket; uploads, scratch work and data exports (zip
    files) stay in the data dir (DATA/tmp, DATA/exports)."""

    remote = True

    def __init__(self, config: StorageConfig, data_dir: Path, client: Any = None) -> None:
        super().__init__(data_dir)
        self.config = config
        self.bucket = config.bucket
        self.prefix = normalized_prefix(config.prefix)
        self.client = client if client is not None else make_client(config)
        from boto3.s3.transfer import TransferConfig

        self.transfer = TransferConfig(
            multipart_threshold=PART_BYTES,
            multipart_chunksize=PART_BYTES,
            max_concurrency=4,
            use_threads=True,
        )
        self._public = config.public_base_url.rstrip("/")
        self._window = max(15.0, config.presign_s / 4)
        self._signed: dict[str, tuple[int, str]] = {}
        self._signing = threading.Lock()

    # ------------------------------------------------------------------ keys
    def media_prefix(self) -> str:
        return f"{self.prefix}media/"

    def video_prefix(self, video_id: str) -> str:
        if not _ID_RE.match(video_id):  # keys are made from ids, never from user input
            raise ValueError(f"not a video id: {video_id!r}")
        return f"{self.prefix}media/{video_id[:2]}/{video_id}/"

    def key(self, video_id: str, name: str) -> str:
        """The object key of a file of the video (``source``, ``360p.mp4``, ``hls/...``)."""
        return self.video_prefix(video_id) + name

    # ------------------------------------------------------------------ URLs
    def url_epoch(self) -> int:
        """Changes when cached media URLs must be rebuilt (never with a public base URL)."""
        return 0 if self._public else int(time.time() // self._window)

    def url(self, video_id: str, name: str) -> str:
        """An absolute URL fetching the file from the bucket (or the CDN) directly.

        Presigned URLs are signed for ``presign_s`` and reused for a quarter of that, so a
        client always gets one valid for three quarters of ``presign_s`` at least."""
        key = self.key(video_id, name)
        if self._public:
            return f"{self._public}/{quote(key)}"
        epoch = self.url_epoch()
        hit = self._signed.get(key)
        if hit is not None and hit[0] == epoch:
            return hit[1]
        signed = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.config.presign_s,
        )
        with self._signing:
            if len(self._signed) >= SIGNED_KEPT:
                self._signed.clear()
            self._signed[key] = (epoch, signed)
        return signed

    def media_origin(self) -> str:
        """The scheme://host[:port] media URLs point at (for the web pages' CSP)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url("originprobe", "poster.jpg"))
        return f"{parts.scheme}://{parts.netloc}"

    # ------------------------------------------------------------------ objects
    def put_file(self, path: Path, key: str, *, metadata: dict[str, str] | None = None) -> None:
        """Upload a local file (multipart in PART_BYTES parts, streamed from disk)."""
        extra: dict[str, Any] = {
            "ContentType": _TYPES.get(Path(key).suffix, "application/octet-stream"),
            "CacheControl": "no-cache" if key.endswith(".m3u8") else "max-age=86400",
        }
        if metadata:
            extra["Metadata"] = metadata
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer)

    def get_file(self, key: str, dest: Path) -> bool:
        """Download an object to ``dest``; False when there is no such object."""
        try:
            self.client.download_file(self.bucket, key, str(dest), Config=self.transfer)
        except Exception as exc:
            if _missing(exc):
                Path(dest).unlink(missing_ok=True)
                return False
            raise
        return True

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if _missing(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def list_objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", ())

    def _delete_keys(self, keys: list[str]) -> int:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
        return len(keys)

    def multipart_uploads(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Uploads", ())

    def _abort(self, uploads: Iterable[dict[str, Any]]) -> int:
        aborted = 0
        for upload in uploads:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            aborted += 1
        return aborted

    @contextlib.contextmanager
    def scratch(self, kind: str) -> Iterator[Path]:
        """A private scratch folder in DATA/tmp, removed on exit (failure included)."""
        folder = Path(tempfile.mkdtemp(dir=self.tmp, prefix=f"{kind}-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------------ the storage seam
    def adopt_source(self, temp: Path, video_id: str) -> str:  # type: ignore[override]
        """Upload a finished upload as the video's source (multipart), then drop the temp."""
        key = self.key(video_id, "source")
        try:
            self.put_file(temp, key)
        finally:
            Path(temp).unlink(missing_ok=True)
        return key

    @contextlib.contextmanager
    def transcode_files(self, video_id: str) -> Iterator[TranscodeFiles]:
        """The source downloaded to a scratch folder, outputs written there; ``commit`` uploads
        every finished file (never the hidden work-in-progress ones), playlists last; the
        scratch folder goes on exit, on failure too."""
        with self.scratch("transcode") as work:
            source = work / "source"
            if not self.get_file(self.key(video_id, "source"), source):
                raise FileNotFoundError(self.key(video_id, "source"))
            out = work / "out"
            out.mkdir(mode=0o700)
            files = TranscodeFiles(source, out, out / "hls")
            files.commit = lambda: self.upload_tree(out, video_id)
            yield files

    def upload_tree(self, folder: Path, video_id: str, *, under: str = "") -> int:
        """Upload every finished file under ``folder`` as the video's ``under + relpath``."""
        finished = [
            p
            for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ]
        # segments and renditions first, playlists (what a player starts from) last
        finished.sort(key=lambda p: (p.suffix == ".m3u8", p.name == "master.m3u8"))
        media = [p for p in finished if p.suffix != ".m3u8"]
        playlists = [p for p in finished if p.suffix == ".m3u8"]

        def put(p: Path) -> None:
            self.put_file(p, self.key(video_id, under + p.relative_to(folder).as_posix()))

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(put, media))
        for p in playlists:
            put(p)
        return len(finished)

    @contextlib.contextmanager
    def media_file(self, video_id: str, name: str) -> Iterator[Path | None]:
        """A file of the video (``source``, ``360p.mp4``) as a local copy for the ``with``
        block; None when it is not there."""
        with self.scratch("read") as work:
            path = work / name
            yield path if self.get_file(self.key(video_id, name), path) else None

    @contextlib.contextmanager
    def rendition_file(self, video_id: str, name: str) -> Iterator[Path | None]:
        self.rendition_path(video_id, name)  # validates the name
        with self.media_file(video_id, f"{name}.mp4") as path:
            yield path

    @contextlib.contextmanager
    def hls_edit(self, video_id: str) -> Iterator[Path]:
        """The HLS folder's top-level playlists (master.m3u8) as a local folder for the
        ``with`` block; what changed in it is uploaded back when the block ends well."""
        from shortstack.media.hls import MASTER

        with self.scratch("hls") as work:
            before = self.get_bytes(self.key(video_id, f"hls/{MASTER}"))
            if before is not None:
                (work / MASTER).write_bytes(before)
            yield work
            master = work / MASTER
            if master.is_file() and master.read_bytes() != before:
                self.put_file(master, self.key(video_id, f"hls/{MASTER}"))

    def delete_video(self, video_id: str) -> None:
        prefix = self.video_prefix(video_id)
        self._abort(self.multipart_uploads(prefix))
        self._delete_keys([o["Key"] for o in self.list_objects(prefix)])

    def clear_partials(self, video_id: str) -> int:
        """Abort the multipart uploads an interrupted upload or transcode left under the video."""
        return self._abort(self.multipart_uploads(self.video_prefix(video_id)))

    def stored_videos(self) -> dict[str, float]:
        """Every video id with objects in the bucket and its newest object's time (epoch s)."""
        newest: dict[str, float] = {}
        base = self.media_prefix()
        for obj in self.list_objects(base):
            parts = obj["Key"][len(base) :].split("/")
            if len(parts) >= 3:
                stamp = obj["LastModified"].timestamp()
                newest[parts[1]] = max(stamp, newest.get(parts[1], 0.0))
        return newest

    def stale_uploads(self, grace_s: float = SWEEP_GRACE_S) -> list[dict[str, Any]]:
        cutoff = time.time() - grace_s
        return [
            u for u in self.multipart_uploads(self.prefix) if u["Initiated"].timestamp() <= cutoff
        ]

    def orphans(self, known_ids: set[str], grace_s: float = SWEEP_GRACE_S) -> list[str]:
        cutoff = time.time() - grace_s
        return [v for v, t in self.stored_videos().items() if v not in known_ids and t <= cutoff]

    def sweep(self, known_ids: set[str], grace_s: float = SWEEP_GRACE_S) -> dict[str, int]:
        """Remove video prefixes no row owns and multipart uploads nobody finished (both only
        past ``grace_s``: younger ones may be another machine's work in flight), and the local
        temp files."""
        orphans = self.orphans(known_ids, grace_s)
        for video_id in orphans:
            self._delete_keys([o["Key"] for o in self.list_objects(self.video_prefix(video_id))])
        aborted = self._abort(self.stale_uploads(grace_s))
        local = super().sweep(known_ids)
        return {
            "orphans": len(orphans) + local["orphans"],
            "temp_files": local["temp_files"],
            "multipart_uploads": aborted,
        }

    def startup_sweep(self, known_ids: set[str]) -> dict[str, int]:
        """The server's start-up sweep: local temp files and stale multipart uploads (one
        listing); orphan prefixes need a whole-bucket listing: ``shortstack doctor --fix``."""
        local = super().sweep(known_ids)
        return {**local, "multipart_uploads": self._abort(self.stale_uploads())}

    def check(self) -> None:
        """Raise StorageUnavailable (one line) unless the bucket answers."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StorageUnavailable(explain(exc, self.bucket)) from None

    # ------------------------------------------------------------------ model artifacts
    def put_model(self, version: str, data: bytes) -> None:
        """The artifact, then the ``current`` pointer; older ones pruned (MODELS_KEPT kept)."""
        if not _MODEL_RE.match(version):
            raise ValueError(f"not a model version: {version!r}")
        base = f"{self.prefix}models/"
        self.client.put_object(Bucket=self.bucket, Key=f"{base}{version}.model", Body=data)
        self.client.put_object(Bucket=self.bucket, Key=f"{base}current", Body=version.encode())
        kept = sorted(
            (o for o in self.list_objects(base) if o["Key"].endswith(".model")),
            key=lambda o: o["LastModified"],
        )
        old = [o["Key"] for o in kept[:-MODELS_KEPT] if o["Key"] != f"{base}{version}.model"]
        self._delete_keys(old)

    def current_model(self) -> str | None:
        try:
            body = self.get_bytes(f"{self.prefix}models/current")
        except Exception:  # noqa: BLE001 - unreachable now: the next poll tries again
            return None
        version = (body or b"").decode(errors="replace").strip()
        return version if _MODEL_RE.match(version) else None

    def read_model(self, version: str) -> bytes:
        if not _MODEL_RE.match(version):
            raise ValueError(f"not a model version: {version!r}")
        body = self.get_bytes(f"{self.prefix}models/{version}.model")
        if body is None:
            raise FileNotFoundError(version)
        return body


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


#: the media URL builder of the request being served (set for /api/ requests when media is in
#: a bucket; None: API-relative URLs as in local mode). See ``schemas.video_out``.
MEDIA_URLS: ContextVar[S3Storage | None] = ContextVar("media_urls", default=None)


class MediaUrlsMiddleware:
    """Pure ASGI middleware: API responses built during the request use ``storage``'s media
    URLs (web pages keep API-relative ones: their CSP allows this origin only, and the API
    routes redirect)."""

    def __init__(self, app: Any, storage: S3Storage) -> None:
        self.app = app
        self.storage = storage

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        token = MEDIA_URLS.set(self.storage)
        try:
            await self.app(scope, receive, send)
        finally:
            MEDIA_URLS.reset(token)
