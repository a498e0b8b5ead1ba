"""``shortstack migrate --storage s3://bucket/prefix``: copy the data dir's media (and model
artifacts) into a bucket, every object verified by size and SHA-256 read back from the bucket."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import StorageConfig
from .maintenance import MaintenanceError
from .object_storage import S3Storage, StorageUnavailable, explain, sha256_file

#: object metadata key holding the file's SHA-256 (hex), written with every copied object
SHA_META = "sha256"


def parse_target(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket[/prefix]``; MaintenanceError when it is not one."""
    parts = urlsplit(url)
    bucket = parts.netloc
    if parts.scheme != "s3" or not bucket or parts.query or parts.fragment:
        raise MaintenanceError(f"--storage takes s3://bucket[/prefix], not {url!r}")
    if not (3 <= len(bucket) <= 63) or not all(c.isalnum() or c in ".-" for c in bucket):
        raise MaintenanceError(f"not an S3 bucket name: {bucket!r}")
    prefix = parts.path.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _local_files(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """(file, key under the prefix) of every finished media file and model artifact (hidden
    work-in-progress names are skipped)."""
    for folder in ("media", "models"):
        root = data_dir / folder
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    path = Path(dirpath) / name
                    yield path, f"{folder}/{path.relative_to(root).as_posix()}"


def _remote_sha(storage: S3Storage, key: str) -> tuple[int, str] | None:
    """(size, SHA-256) of the object's bytes as the bucket returns them; None when absent."""
    try:
        body = storage.client.get_object(Bucket=storage.bucket, Key=key)["Body"]
    except Exception as exc:
        from .object_storage import _missing

        if _missing(exc):
            return None
        raise
    digest = hashlib.sha256()
    size = 0
    for chunk in body.iter_chunks(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def move_media(
    data_dir: Path, target: str, base: StorageConfig, *, endpoint_url: str = ""
) -> dict[str, Any]:
    """Copy DATA/media and DATA/models into the bucket of ``target`` (s3://bucket/prefix).

    Every file is read back from the bucket and its size and SHA-256 compared: an object
    already there and whole is left alone (a second run copies nothing), one that differs
    (damaged, or half a copy) is copied again, and a copy that still differs is an error.
    The data dir's files stay (remove DATA/media once the server runs on the bucket)."""
    bucket, prefix = parse_target(target)
    config = StorageConfig(
        backend="s3",
        endpoint_url=endpoint_url or base.endpoint_url,
        bucket=bucket,
        region=base.region,
        prefix=prefix,
        presign_s=base.presign_s,
    )
    storage = S3Storage(config, data_dir)
    try:
        storage.check()
    except StorageUnavailable as exc:
        raise MaintenanceError(str(exc)) from None
    started = time.perf_counter()
    report: dict[str, Any] = {
        "target": f"s3://{bucket}/{prefix}",
        "files": 0,
        "bytes": 0,
        "copied": 0,
        "already_there": 0,
        "repaired": [],
        "failed": [],
    }
    try:
        for path, rel in _local_files(data_dir):
            key = prefix + rel
            size, sha = path.stat().st_size, sha256_file(path)
            report["files"] += 1
            report["bytes"] += size
            there = _remote_sha(storage, key)
            if there == (size, sha):
                report["already_there"] += 1
                continue
            storage.put_file(path, key, metadata={SHA_META: sha})
            if _remote_sha(storage, key) != (size, sha):
                report["failed"].append(rel)
                continue
            if there is None:
                report["copied"] += 1
            else:
                report["repaired"].append(rel)
    except MaintenanceError:
        raise
    except Exception as exc:
        raise MaintenanceError(explain(exc, bucket)) from None
    report["seconds"] = round(time.perf_counter() - started, 2)
    report["config"] = [
        "[storage]",
        'backend = "s3"',
        f'endpoint_url = "{config.endpoint_url}"',
        f'bucket = "{bucket}"',
        f'region = "{config.region}"',
        f'prefix = "{prefix}"',
    ]
    return report
