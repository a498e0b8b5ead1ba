"""Files written whole or not at all: a hidden temp name beside the target, fsync, rename.

The one home for atomic writes (media, storage, backups, demo clips, the client's token).
Temp names are hidden (``.NAME.TOKEN.part...``) so the start-up sweep of media folders can
remove what a killed writer left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


def temp_beside(dest: Path, suffix: str = "") -> Path:
    """A fresh hidden name in ``dest``'s folder (same filesystem, so the rename is atomic)."""
    dest = Path(dest)
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part{suffix}")


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Remove a temp file or folder, quietly (it may never have been made)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def commit(tmp: Path, dest: Path) -> Path:
    """Make a finished temp file (or folder: every file in it) durable and move it to ``dest``."""
    tmp = Path(tmp)
    if tmp.is_dir():
        for f in tmp.rglob("*"):
            if f.is_file():
                fsync_path(f)
    else:
        fsync_path(tmp)
    os.replace(tmp, dest)
    with contextlib.suppress(OSError):
        fsync_path(Path(dest).parent)
    return Path(dest)


@contextlib.contextmanager
def atomic_path(dest: Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside ``dest`` to write to; on success it replaces ``dest``.

    On any exception the temp file (or folder) is removed and the exception propagates,
    so a reader never sees a half-written ``dest``.
    """
    dest = Path(dest)
    tmp = temp_beside(dest, suffix)
    try:
        yield tmp
        commit(tmp, dest)
    except BaseException:
        discard(tmp)
        raise


def write_atomic(dest: Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``dest`` whole or not at all (``mode`` e.g. 0o600 for secrets)."""
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)  # the umask may have narrowed it; secrets get exactly this
    return dest
