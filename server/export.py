"""Export my data: a zip of the account's profile, videos (files, captions and metadata), comments,
likes, follows and watch history, built off the event loop and downloadable once.

Jobs live in this process only (bounded: one per account at a time, a few at once): a
restart forgets them and removes their files, so an export interrupted by a restart is
simply asked for again. A finished export expires after ``accounts.export_hours``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import File
from litestar.status_codes import HTTP_202_ACCEPTED

from .broker import Broker
from .errors import problem
from .schemas import iso
from .storage import LocalStorage
from .store.db import connect_sync
from .store.export import export_rows_sync
from .store.ids import new_id
from .store.users import User

#: exports built at the same time, server-wide (each reads the database and copies files)
MAX_RUNNING = 2
#: finished, downloaded or expired jobs remembered (for their 410), oldest forgotten first
MAX_KEPT = 1000
JSON_FILES = ("profile", "videos", "comments", "likes", "follows", "watch_history")


@dataclass
class ExportJob:
    id: str
    user_id: int
    handle: str
    created_at: float
    status: str = "running"  # running | ready | failed | downloaded | expired
    progress: float = 0.0
    bytes: int | None = None
    error: str | None = None
    expires_at: float | None = None


class ExportOut(msgspec.Struct):
    id: str
    status: str
    progress: float
    created_at: str
    expires_at: str | None
    bytes: int | None
    error: str | None
    download_url: str | None


def export_out(job: ExportJob) -> ExportOut:
    return ExportOut(
        id=job.id,
        status=job.status,
        progress=round(job.progress, 3),
        created_at=iso(job.created_at),
        expires_at=iso(job.expires_at) if job.expires_at else None,
        bytes=job.bytes,
        error=job.error,
        download_url=f"/api/me/export/{job.id}/download" if job.status == "ready" else None,
    )


class Exports:
    """The process's export jobs and their zip files."""

    def __init__(self, db_path: Path, storage: LocalStorage, broker: Broker, ttl_s: float) -> None:
        self.db_path = db_path
        self.storage = storage
        self.broker = broker
        self.ttl_s = ttl_s
        self.jobs: dict[str, ExportJob] = {}
        self._tasks: set[asyncio.Task] = set()
        storage.clear_exports()  # jobs of an earlier process are forgotten: so are their files

    def start(self, user: User) -> ExportJob:
        """A new export for the user (or the one of theirs still running)."""
        self._expire()
        for job in self.jobs.values():
            if job.user_id == user.id and job.status == "running":
                return job
        if sum(j.status == "running" for j in self.jobs.values()) >= MAX_RUNNING:
            raise problem(
                503,
                "Busy",
                "other exports are being built; try again soon",
                headers={"Retry-After": "30"},
            )
        job = ExportJob(new_id(), user.id, user.handle, time.time())
        self.jobs[job.id] = job
        while len(self.jobs) > MAX_KEPT:
            oldest = next(iter(self.jobs.values()))
            if oldest.status == "running":
                break
            self._drop_file(self.jobs.pop(oldest.id))
        task = asyncio.create_task(self._run(job), name=f"export-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, user: User, export_id: str) -> ExportJob:
        """The user's own export (404 for anyone else's or an unknown id)."""
        self._expire()
        job = self.jobs.get(export_id)
        if job is None or job.user_id != user.id:
            raise problem(404, "Not found", f"no export {export_id}")
        return job

    def take(self, user: User, export_id: str) -> tuple[Path, ExportJob]:
        """The zip to send, once: the job is marked downloaded now (410 afterwards)."""
        job = self.get(user, export_id)
        if job.status in ("downloaded", "expired", "failed"):
            raise problem(410, "Gone", f"export {export_id} is {job.status}; start a new one")
        if job.status != "ready":
            raise problem(409, "Not ready", f"export {export_id} is still being built")
        job.status = "downloaded"
        return self.storage.export_path(job.id), job

    def forget_user(self, user_id: int) -> None:
        """Drop an account's exports (it was deleted)."""
        for job in [j for j in self.jobs.values() if j.user_id == user_id]:
            if job.status != "running":
                self._drop_file(self.jobs.pop(job.id))
            else:
                job.status = "expired"

    def _expire(self) -> None:
        at = time.time()
        for job in self.jobs.values():
            if job.status == "ready" and job.expires_at is not None and job.expires_at <= at:
                job.status = "expired"
                self._drop_file(job)

    def _drop_file(self, job: ExportJob) -> None:
        self.storage.export_path(job.id).unlink(missing_ok=True)

    async def _run(self, job: ExportJob) -> None:
        try:
            size = await asyncio.to_thread(self._build, job)
        except Exception as exc:  # reported on the job; the half file is gone
            job.status, job.error = "failed", f"{type(exc).__name__}"
            self._drop_file(job)
            return
        if job.status != "running":  # the account went meanwhile
            self._drop_file(job)
            return
        job.bytes, job.progress = size, 1.0
        job.expires_at = time.time() + self.ttl_s
        job.status = "ready"
        self.broker.publish("export.ready", {"id": job.id}, user_id=job.user_id)

    def _build(self, job: ExportJob) -> int:
        """Write the zip (temp name, fsync, rename); its size in bytes."""
        conn = connect_sync(self.db_path)
        try:
            data = export_rows_sync(conn, job.user_id)
        finally:
            conn.close()
        job.progress = 0.05
        dest = self.storage.export_path(job.id)
        temp = dest.with_name(f".{dest.name}.part")
        videos = data["videos"]
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in JSON_FILES:
                if name != "videos":  # written last, naming each video's file in the zip
                    zf.writestr(f"{name}.json", _json(data[name]))
            for i, video in enumerate(videos):
                with self._video_file(video) as (path, arcname):
                    video["file"] = arcname
                    if path is not None:
                        zf.write(path, arcname, compress_type=zipfile.ZIP_STORED)
                for track in video["captions"]:  # beside the video, as WebVTT files
                    track["file"] = f"videos/{video['id']}-captions-{track['lang']}.vtt"
                    zf.writestr(track["file"], track.pop("vtt"))
                job.progress = 0.05 + 0.9 * (i + 1) / len(videos)
            zf.writestr("videos.json", _json(videos))
        with open(temp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, dest)
        return dest.stat().st_size

    @contextlib.contextmanager
    def _video_file(self, video: dict[str, Any]) -> Iterator[tuple[Path | None, str | None]]:
        """The uploaded source file, else the biggest rendition, as a local file for the
        ``with`` block (a bucket's: downloaded, one at a time); None when neither is there."""
        with self.storage.media_file(video["id"], "source") as source:
            if source is not None:
                yield source, f"videos/{video['id']}-original"
                return
        for rendition in video["renditions"]:  # biggest first
            name = rendition["name"]
            with self.storage.media_file(video["id"], f"{name}.mp4") as path:
                if path is not None:
                    yield path, f"videos/{video['id']}-{name}.mp4"
                    return
        yield None, None


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False)


ExportId = Annotated[str, Parameter(max_length=32, description="An export's id")]


class ExportController(Controller):
    path = "/api/me/export"
    tags = ["accounts"]

    @post(
        "/",
        operation_id="start_export",
        summary="Start an export of your data (a zip, downloadable once)",
        status_code=HTTP_202_ACCEPTED,
    )
    async def start(
        self, user: NamedDependency[User], exports: NamedDependency[Exports]
    ) -> ExportOut:
        return export_out(exports.start(user))

    @get("/{export_id:str}", operation_id="export_status", summary="An export's progress")
    async def status(
        self, export_id: ExportId, user: NamedDependency[User], exports: NamedDependency[Exports]
    ) -> ExportOut:
        return export_out(exports.get(user, export_id))

    @get(
        "/{export_id:str}/download",
        operation_id="export_download",
        summary="Download a finished export (once; then 410)",
        media_type="application/zip",
    )
    async def download(
        self, export_id: ExportId, user: NamedDependency[User], exports: NamedDependency[Exports]
    ) -> File:
        path, job = exports.take(user, export_id)
        return File(
            path,
            filename=f"shortstack-export-{job.handle}.zip",
            media_type="application/zip",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
