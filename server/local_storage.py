"""Media in the data dir: paths derived from video ids, atomic writes, deletes and the orphan sweep.

``server/object_storage.py`` implements the same methods on a bucket; ``server/storage.py``
picks one by config."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shortstack.media.files import commit, write_atomic

from .store.locks import FileLock, exclusive

#: Media folders (and so every file in them) are reachable by the server's user only.
DIR_MODE = 0o700

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{6,32}$")
_NAME_RE = re.compile(r"^[a-z0-9]{1,16}$")
_MODEL_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
try:  # what a bucket's client raises (the s3 extra), besides the data dir's OSError
    from botocore.exceptions import BotoCoreError, ClientError

    #: every error a storage operation may raise when the disk or the bucket fails
    STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - local storage only
    STORAGE_ERRORS = (OSError,)
#: fitted models kept besides the current one (a process still loading one finds it)
MODELS_KEPT = 3


@dataclasses.dataclass
class TranscodeFiles:
    """What a transcode job reads and writes, as local paths (see ``Storage.transcode_files``).

    ``source`` is the uploaded file; the pipeline writes renditions and the poster into
    ``out_dir`` and the HLS folder into ``hls_dir``; ``commit`` makes them the video's media
    (a no-op for local storage, where they were written in place; object storage uploads them).
    """

    source: Path
    out_dir: Path
    hls_dir: Path
    commit: Callable[[], None] = lambda: None


class LocalStorage:
    """Media files under DATA/media/<id[:2]>/<id>/; uploads staged in DATA/tmp/; data exports
    (zip files) in DATA/exports/."""

    #: media bytes live elsewhere (a bucket) and are fetched from absolute URLs
    remote = False

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "media"
        self.tmp = data_dir / "tmp"
        self.exports = data_dir / "exports"
        self.models = data_dir / "models"
        if not data_dir.exists():
            data_dir.mkdir(parents=True, mode=DIR_MODE)
        for folder in (self.root, self.tmp, self.exports, self.models):
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(folder, DIR_MODE)
        self._lock_path = data_dir / "serving.lock"
        self._serving = FileLock(self._lock_path)

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Whether no other process is using this data dir, held for the ``with`` block.

        Every serving process holds a shared lock on DATA/serving.lock for its lifetime
        (``serve --workers N`` runs N of them, a cluster more); sweeping temp files and
        half-written outputs is safe only under the exclusive lock, else it would delete
        another process's upload in flight or its transcode's ``.part`` file."""
        with exclusive(self._lock_path, wait=False) as alone:
            yield alone

    def hold(self) -> None:
        """Mark this process as using the data dir until ``release`` (see ``alone``)."""
        self._serving.acquire(shared=True)

    def release(self) -> None:
        self._serving.release()

    # ------------------------------------------------------------------ model artifacts
    def put_model(self, version: str, data: bytes) -> None:
        """Store a fitted model (``shortstack refit``) and make it the current one: the file
        first, then the ``current`` pointer, each written atomically; older ones pruned."""
        if not _MODEL_RE.match(version):
            raise ValueError(f"not a model version: {version!r}")
        write_atomic(self.models / f"{version}.model", data, mode=0o600)
        write_atomic(self.models / "current", version.encode(), mode=0o600)
        kept = sorted(self.models.glob("*.model"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-MODELS_KEPT]:
            if old.stem != version:
                old.unlink(missing_ok=True)

    def current_model(self) -> str | None:
        """The version of the current model artifact, if ``shortstack refit`` wrote one."""
        try:
            version = (self.models / "current").read_text().strip()
        except OSError:
            return None
        return version if _MODEL_RE.match(version) else None

    def read_model(self, version: str) -> bytes:
        if not _MODEL_RE.match(version):
            raise ValueError(f"not a model version: {version!r}")
        return (self.models / f"{version}.model").read_bytes()

    def video_dir(self, video_id: str) -> Path:
        if not _ID_RE.match(video_id):
            raise ValueError(f"not a video id: {video_id!r}")
        return self.root / video_id[:2] / video_id

    def source_path(self, video_id: str) -> Path:
        return self.video_dir(video_id) / "source"

    def rendition_path(self, video_id: str, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise ValueError(f"not a rendition name: {name!r}")
        return self.video_dir(video_id) / f"{name}.mp4"

    def poster_path(self, video_id: str) -> Path:
        return self.video_dir(video_id) / "poster.jpg"

    def hls_dir(self, video_id: str) -> Path:
        """The video's HLS folder (master playlist, a subfolder per rendition)."""
        return self.video_dir(video_id) / "hls"

    def hls_path(self, video_id: str, rendition: str | None, name: str) -> Path:
        """A file of the HLS folder: the master playlist, or a rendition's playlist/segment."""
        from shortstack.media.hls import FILE_RE, MASTER

        if rendition is None:
            if name != MASTER:
                raise ValueError(f"not an HLS master playlist: {name!r}")
            return self.hls_dir(video_id) / name
        if not _NAME_RE.match(rendition) or not FILE_RE.match(name):
            raise ValueError(f"not an HLS file: {rendition!r}/{name!r}")
        return self.hls_dir(video_id) / rendition / name

    def export_path(self, export_id: str) -> Path:
        """The zip file of a data export (its id is random, from the server)."""
        if not _ID_RE.match(export_id):
            raise ValueError(f"not an export id: {export_id!r}")
        return self.exports / f"{export_id}.zip"

    def clear_exports(self) -> int:
        """Remove every export file (finished or half-written); how many went."""
        removed = 0
        for path in self.exports.iterdir():
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    @contextmanager
    def transcode_files(self, video_id: str) -> Iterator[TranscodeFiles]:
        """The source to read and where to write a transcode's outputs, for the ``with`` block.

        Raises FileNotFoundError when the video has no source. Local storage writes in place
        (each output under a hidden name, renamed when whole), so ``commit`` has nothing to do.
        """
        source = self.source_path(video_id)
        if not source.is_file():
            raise FileNotFoundError(source)
        yield TranscodeFiles(source, self.video_dir(video_id), self.hls_dir(video_id))

    @contextmanager
    def rendition_file(self, video_id: str, name: str) -> Iterator[Path | None]:
        """A rendition as a local file for the ``with`` block (None when it is not there)."""
        path = self.rendition_path(video_id, name)
        yield path if path.is_file() else None

    @contextmanager
    def media_file(self, video_id: str, name: str) -> Iterator[Path | None]:
        """A file of the video (``source``, ``360p.mp4``) as a local path for the ``with``
        block (None when it is not there)."""
        path = self.video_dir(video_id) / name
        yield path if path.is_file() else None

    @contextmanager
    def hls_edit(self, video_id: str) -> Iterator[Path]:
        """The video's HLS folder to rewrite its top-level playlists in (``set_subtitles``)."""
        yield self.hls_dir(video_id)

    def check(self) -> None:
        """Raise unless the storage can be used (the data dir was made in ``__init__``)."""

    def new_temp(self, suffix: str = "") -> Path:
        """A fresh empty temp file inside the data dir (same filesystem as the media)."""
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="upload-", suffix=suffix)
        os.close(fd)
        return Path(name)

    def adopt_source(self, temp: Path, video_id: str) -> Path:
        """Move a finished upload into place as the video's source file (fsync, atomic rename)."""
        dest = self.source_path(video_id)
        dest.parent.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        dest.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        return commit(temp, dest)

    def delete_video(self, video_id: str) -> None:
        shutil.rmtree(self.video_dir(video_id), ignore_errors=True)

    def clear_partials(self, video_id: str) -> int:
        """Remove what an interrupted transcode or HLS packaging left in the video's folder."""
        return self._remove_partials(self.video_dir(video_id))

    @staticmethod
    def _remove_partials(video_dir: Path) -> int:
        # every file we finish has a plain name (source, 360p.mp4, poster.jpg, hls/); the
        # hidden ones are work in progress (.360p.<token>.part.mp4, .hls.tmp-<token>/, ...)
        removed = 0
        for path in video_dir.glob(".*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        return removed

    def video_ids_on_disk(self) -> Iterable[str]:
        if not self.root.exists():
            return
        for shard in self.root.iterdir():
            if shard.is_dir():
                for d in shard.iterdir():
                    if d.is_dir():
                        yield d.name

    def startup_sweep(self, known_ids: set[str]) -> dict[str, int]:
        """The server's start-up sweep (alone on the data dir): ``sweep``."""
        return self.sweep(known_ids)

    def sweep(self, known_ids: set[str]) -> dict[str, int]:
        """Remove media folders no video row owns and stale temp files; report what went."""
        orphans = 0
        for video_id in list(self.video_ids_on_disk()):
            if video_id not in known_ids:
                shutil.rmtree(self.root / video_id[:2] / video_id, ignore_errors=True)
                orphans += 1
        temps = 0
        for path in self.tmp.iterdir() if self.tmp.exists() else []:
            try:
                path.unlink() if path.is_file() else shutil.rmtree(path)
                temps += 1
            except OSError:
                pass
        for video_dir in self.root.glob("*/*"):
            temps += self._remove_partials(video_dir)
        return {"orphans": orphans, "temp_files": temps}
