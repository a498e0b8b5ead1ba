"""Downloads renditions and posters to a temp dir: prefetches first bytes, completes on demand."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from shortstack.tui.api import ApiClient

PREFETCH_BYTES = 256 * 1024
MAX_FILES = 40  # renditions kept on disk per session (oldest go first)


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def pick_rendition(video: dict[str, Any]) -> dict[str, Any] | None:
    """The lowest-resolution rendition that has a URL, or None."""
    renditions = [r for r in video.get("renditions") or [] if r.get("url")]
    if not renditions:
        return None
    return min(
        renditions,
        key=lambda r: ((r.get("width") or 0) * (r.get("height") or 0), r.get("bytes") or 0),
    )


class MediaCache:
    """Rendition files under one temp dir, keyed by video id; posters kept in memory."""

    def __init__(self, api: ApiClient, root: Path | None = None) -> None:
        self.api = api
        self.root = Path(root or tempfile.mkdtemp(prefix="shortstack-media-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self._complete: set[str] = set()
        self._order: list[Path] = []
        self._posters: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def path_for(self, video: dict[str, Any]) -> Path:
        """Where the rendition of ``video`` is stored (the id is made file-safe)."""
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(video["id"]))
        return self.root / f"{safe}.mp4"

    async def prefetch(self, video: dict[str, Any]) -> None:
        """Fetch the poster and the first bytes of the rendition so playback starts fast."""
        rendition = pick_rendition(video)
        path = self.path_for(video)
        async with self._lock(str(video["id"])):
            if rendition is not None and not path.exists():
                data = await self.api.rendition(rendition["url"], 0, PREFETCH_BYTES - 1)
                await asyncio.to_thread(path.write_bytes, data)
                total = rendition.get("bytes")
                if total is not None and len(data) >= int(total):
                    self._complete.add(str(video["id"]))
        await self.poster(video)

    async def rendition(self, video: dict[str, Any]) -> Path | None:
        """The complete rendition file of ``video`` (resuming a prefetch), or None if none."""
        rendition = pick_rendition(video)
        if rendition is None:
            return None
        key = str(video["id"])
        path = self.path_for(video)
        async with self._lock(key):
            if key in self._complete and path.exists():
                return path
            have = path.stat().st_size if path.exists() else 0
            rest = await self.api.rendition(rendition["url"], have) if have else None
            if rest is None:
                data = await self.api.rendition(rendition["url"])
                await asyncio.to_thread(path.write_bytes, data)
            else:
                await asyncio.to_thread(_append, path, rest)
            self._complete.add(key)
            self._remember(path)
            return path

    def _remember(self, path: Path) -> None:
        if path in self._order:
            self._order.remove(path)
        self._order.append(path)
        while len(self._order) > MAX_FILES:
            old = self._order.pop(0)
            self._complete.discard(old.stem)
            old.unlink(missing_ok=True)

    async def poster(self, video: dict[str, Any]) -> bytes | None:
        """Poster image bytes of ``video`` (cached), or None."""
        key = str(video.get("id"))
        if key in self._posters:
            return self._posters[key]
        url = video.get("poster_url")
        if not url:
            return None
        data = await self.api.fetch_bytes(url)
        self._posters[key] = data
        return data

    def close(self) -> None:
        """Delete the temp files."""
        shutil.rmtree(self.root, ignore_errors=True)
