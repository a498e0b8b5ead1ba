"""Background job runner: durable transcode jobs executed in child processes with a hard timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import queue
import time
from collections.abc import Awaitable, Callable
from multiprocessing import resource_tracker
from typing import Any

from .broker import Broker
from .config import Config
from .storage import LocalStorage
from .store import jobs as store
from .store.db import Database
from .transcode_worker import child_main

log = logging.getLogger("shortstack.jobs")
HEARTBEAT_S = 2.0
READY_HOOK_TIMEOUT_S = 3.0


class ProcessWorker:
    """One long-lived child process; killed and replaced when a job hangs or it dies."""

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self._proc: mp.process.BaseProcess | None = None
        self._inbox: Any = None
        self._outbox: Any = None

    def ensure(self) -> None:
        """Start the child if needed. Call from the event-loop thread: the child's death signal
        is tied to the thread that started it (PR_SET_PDEATHSIG)."""
        if self._proc is not None and self._proc.is_alive():
            return
        self._inbox = self._ctx.Queue()
        self._outbox = self._ctx.Queue()
        self._proc = self._ctx.Process(
            target=child_main, args=(self._inbox, self._outbox), daemon=True
        )
        self._proc.start()

    def run(
        self,
        job_id: int,
        src: str,
        out_dir: str,
        settings: dict,
        timeout_s: float,
        on_progress: Callable[[float], None],
    ) -> tuple[str, Any]:
        """Blocking: ('done', result) or ('error', message). Call from a thread."""
        self.ensure()
        proc, inbox, outbox = self._proc, self._inbox, self._outbox  # stop() may reset the fields
        assert proc is not None and inbox is not None and outbox is not None
        inbox.put((job_id, src, out_dir, settings))
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                return "error", f"transcode timed out after {timeout_s:.0f} s"
            try:
                msg = outbox.get(timeout=min(1.0, remaining))
            except queue.Empty:
                if not proc.is_alive():
                    if self._proc is proc:
                        self._proc = None
                    return "error", f"transcode process died (exit code {proc.exitcode})"
                continue
            if msg[0] != job_id:
                continue
            if msg[1] == "progress":
                on_progress(msg[2])
            elif msg[1] == "done":
                return "done", msg[2]
            else:
                return ("error" if msg[3] else "invalid"), msg[2]

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
            self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            with contextlib.suppress(Exception):
                self._inbox.put(None)
            self._proc.join(2)
        self.kill()


class JobRunner:
    """Claims queued jobs from the jobs table and runs them, `workers` at a time."""

    def __init__(self, db: Database, storage: LocalStorage, broker: Broker, config: Config) -> None:
        self.db = db
        self.storage = storage
        self.broker = broker
        self.config = config
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._workers: list[ProcessWorker] = []
        self._stopping = False
        self.on_ready: Callable[[str], Awaitable[None]] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        recovered = await store.recover(self.db)
        if recovered:
            log.info("re-queued %d interrupted job(s)", recovered)
        # Start multiprocessing's resource tracker and the workers now, while this process still
        # has its real stderr: later (e.g. under the demo's Textual client, which replaces
        # sys.stderr) starting the tracker fails with "bad value(s) in fds_to_keep".
        resource_tracker.ensure_running()
        for i in range(max(1, self.config.server.workers)):
            worker = ProcessWorker()
            worker.ensure()
            self._workers.append(worker)
            self._tasks.append(asyncio.create_task(self._loop(worker), name=f"job-worker-{i}"))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for worker in self._workers:
            await asyncio.to_thread(worker.stop)

    async def _loop(self, worker: ProcessWorker) -> None:
        while not self._stopping:
            job = await store.claim(self.db, self.config.media.job_lease_s)
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=5.0)
                continue
            try:
                await self._run(worker, job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s crashed the runner", job.id)
                await store.fail_attempt(self.db, job, "internal error while processing")

    async def _run(self, worker: ProcessWorker, job: store.Job) -> None:
        if job.kind != "transcode" or job.video_id is None:
            await store.fail_attempt(self.db, job, f"unknown job kind {job.kind!r}")
            return
        video_id = job.video_id
        src = self.storage.source_path(video_id)
        if not src.exists():
            job.attempts = job.max_attempts
            await store.fail_attempt(self.db, job, "the uploaded file is missing")
            self.broker.publish(
                "video.failed", {"video_id": video_id, "error": "the uploaded file is missing"}
            )
            return
        media = self.config.media
        settings = {
            "renditions": list(media.renditions),
            "preset": media.preset,
            "crf": media.crf,
            "audio_bitrate": media.audio_bitrate,
            "max_dimension": self.config.limits.max_dimension,
            "max_duration_s": self.config.limits.max_duration_s,
            "edit": job.payload.get("edit"),
        }
        loop = asyncio.get_running_loop()
        latest: dict[str, float] = {}

        def on_progress(p: float) -> None:
            latest["p"] = p
            self.broker.publish("video.progress", {"video_id": video_id, "progress": p})

        # an earlier attempt killed mid-write (worker crash, server kill -9) left its partial
        # files here; this job holds the lease, so nothing else is writing them
        self.storage.clear_partials(video_id)
        worker.ensure()
        fut = loop.run_in_executor(
            None,
            worker.run,
            job.id,
            str(src),
            str(self.storage.video_dir(video_id)),
            settings,
            media.job_timeout_s,
            on_progress,
        )
        while True:
            done, _ = await asyncio.wait({fut}, timeout=HEARTBEAT_S)
            if done:
                break
            await store.heartbeat(self.db, job.id, media.job_lease_s, latest.get("p"), video_id)
        status, payload = fut.result()
        if not await store.video_exists(self.db, video_id):
            self.storage.delete_video(video_id)  # deleted while transcoding: drop what was written
            return
        if status == "done":
            if not await store.complete_transcode(self.db, job, payload):
                self.storage.delete_video(video_id)
                return
            if (
                self.on_ready is not None
            ):  # e.g. put it in the feeds before anyone hears it is ready
                try:
                    await asyncio.wait_for(self.on_ready(video_id), READY_HOOK_TIMEOUT_S)
                except Exception:  # a slow or failing hook never holds back the event
                    log.warning("on_ready hook for %s did not finish", video_id)
            self.broker.publish("video.ready", {"video_id": video_id})
            return
        if status == "invalid":  # the file itself is bad: retrying cannot help
            job.attempts = job.max_attempts
        final = await store.fail_attempt(self.db, job, payload)
        log.warning(
            "transcode of %s failed (attempt %d/%d): %s",
            video_id,
            job.attempts,
            job.max_attempts,
            payload,
        )
        if final:
            self.broker.publish("video.failed", {"video_id": video_id, "error": payload})
        else:
            self._wake.set()
