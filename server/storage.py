"""All media file access, through one seam: the data dir (LocalStorage) or a bucket
(S3Storage), picked by ``[storage]``; the rest of the server codes against LocalStorage's
methods."""

from __future__ import annotations

from pathlib import Path

from .config import Config
from .local_storage import (
    DIR_MODE,
    MODELS_KEPT,
    STORAGE_ERRORS,
    LocalStorage,
    TranscodeFiles,
)

__all__ = [
    "DIR_MODE",
    "MODELS_KEPT",
    "STORAGE_ERRORS",
    "LocalStorage",
    "TranscodeFiles",
    "open_storage",
]


def open_storage(config: Config, data_dir: Path) -> LocalStorage:
    """The media storage ``[storage]`` names: the data dir's own folders, or a bucket
    (``S3Storage``, which keeps uploads in flight and exports in the data dir)."""
    if config.storage.backend == "s3":
        from .object_storage import S3Storage

        return S3Storage(config.storage, data_dir)
    return LocalStorage(data_dir)
