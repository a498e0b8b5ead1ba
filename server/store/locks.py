"""Advisory file locks between the processes that share one data dir (``flock``)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileLock:
    """An ``flock`` on one file, shared or exclusive, held until ``release`` (or process exit:
    a killed process never leaves it behind). Two FileLocks on the same file conflict even in
    one process: each opens its own file description."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, *, shared: bool = False, wait: bool = True) -> bool:
        """Take the lock (waiting for it unless ``wait`` is false); whether it was taken."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self._fd, flags)
        except BlockingIOError:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def exclusive(path: Path | str, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` for the block; yields whether it was taken (always,
    when waiting)."""
    lock = FileLock(path)
    try:
        yield lock.acquire(wait=wait)
    finally:
        lock.release()
