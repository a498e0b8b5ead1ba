"""`shortstack import DIR`: upload a folder of videos through the normal pipeline, skipping duplicates."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".ts", ".mts", ".3gp"}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def find_videos(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
    )


def import_folder(
    folder: Path, server: str, token: str | None, *, caption: str = ""
) -> dict[str, object]:
    """Upload every video file below folder; identical files (by content hash) are sent once."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from shortstack.tui.api import ApiClient, ApiError

    files = find_videos(folder)
    summary: dict[str, object] = {"uploaded": 0, "skipped": 0, "failed": 0, "errors": []}
    errors: list[str] = summary["errors"]  # type: ignore[assignment]

    async def go() -> None:
        client = ApiClient(server, token, timeout=300.0)
        seen: set[str] = set()
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            ) as progress:
                task = progress.add_task("importing", total=len(files))
                for path in files:
                    progress.update(task, description=f"importing {_shown(path.name[:40])}")
                    digest = await asyncio.to_thread(_sha256, path)
                    if digest in seen:
                        summary["skipped"] = int(summary["skipped"]) + 1
                    else:
                        seen.add(digest)
                        try:
                            await client.upload(path, caption or path.stem.replace("_", " "))
                            summary["uploaded"] = int(summary["uploaded"]) + 1
                        except ApiError as exc:
                            if exc.status == 409:
                                summary["skipped"] = int(summary["skipped"]) + 1
                            else:
                                summary["failed"] = int(summary["failed"]) + 1
                                errors.append(f"{path}: {exc.status} {exc.detail or exc.title}")
                    progress.advance(task)
        finally:
            await client.aclose()

    asyncio.run(go())
    return summary


def _shown(name: str) -> str:
    """A file name made inert for the progress bar (no escapes, no Rich markup)."""
    from rich.markup import escape

    from shortstack.tui.plain_text import clean

    return escape(clean(name, single_line=True))
