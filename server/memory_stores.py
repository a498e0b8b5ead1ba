"""In-memory stores with a ceiling, and the task that sweeps their expired entries out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from anyio import Lock
from litestar.stores.base import StorageObject
from litestar.stores.memory import MemoryStore

log = logging.getLogger("shortstack.server")


class BoundedMemoryStore(MemoryStore):
    """A Litestar MemoryStore holding at most ``max_entries``: a new key beyond pushes out the
    one written longest ago. Expired entries go at each ``delete_expired()`` (see ``sweep``)."""

    __slots__ = ("max_entries",)

    def __init__(self, max_entries: int) -> None:
        super().__init__()
        self.max_entries = max(1, max_entries)
        # same exclusion, but an uncontended get or set no longer yields to the event loop
        # (anyio's default lock takes a loop turn on every acquire: two per rate-limited request)
        self._lock = Lock(fast_acquire=True)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        async with self._lock:
            self._store.pop(key, None)  # rewritten: now the newest
            while len(self._store) >= self.max_entries:
                self._store.pop(next(iter(self._store)))
            self._store[key] = StorageObject.new(data=value, expires_in=expires_in)

    def __len__(self) -> int:
        """Entries held, expired ones not yet swept included."""
        return len(self._store)

    def __bool__(self) -> bool:
        """Always true, even empty: Litestar's ``StoreRegistry.get`` replaces a falsy store
        with a new one (``if not self._stores.get(name)``), which with ``__len__`` alone made
        a fresh store (and a lock) on every request while the store was empty, each kept
        for the sweeps."""
        return True


async def sweep(stores: Callable[[], Iterable[MemoryStore]], every_s: float) -> None:
    """Forever: every ``every_s`` seconds, delete the expired entries of each store."""
    while True:
        await asyncio.sleep(every_s)
        for store in stores():
            try:
                await store.delete_expired()
            except Exception:  # a sweep that failed is tried again next time
                log.warning("sweeping a store failed", exc_info=True)
