"""Durable jobs: the work of a job (transcode, captions) and the built-in delivery that runs it.

``JobWork`` is what a job does, whoever delivered it; a delivery only claims, keeps the claim
alive (a ``Lease``) and acknowledges. ``TableRunner`` is the built-in delivery (each API
process claims rows of the jobs table); ``server/job_queue.py`` delivers the same work through
a queue engine to ``shortstack worker`` processes. An API process holds a ``JobRunner``: the
one or the other's ``Dispatcher``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import functools
import logging
import traceback
from collections.abc import Awaitable, Callable
from multiprocessing import resource_tracker
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shortstack.media.runner import ChildDied, OutOfMemory, TimedOut, Worker

from .broker import Broker
from .captions import automatic_vtt, refresh_hls
from .config import Config
from .storage import STORAGE_ERRORS, LocalStorage, TranscodeFiles
from .store import jobs as store
from .store.captions import put_track
from .store.db import Database
from .store.errors import Unprocessable
from .store.moderation import blocked_terms as blocked_term_list
from .visibility import public_error

if TYPE_CHECKING:
    from shortstack.media.pipeline import UploadResult

log = logging.getLogger("shortstack.jobs")
T = TypeVar("T")
HEARTBEAT_S = 2.0
READY_HOOK_TIMEOUT_S = 3.0


@dataclasses.dataclass(frozen=True)
class WorkerLiveness:
    """One worker slot: is its job loop running, is its transcode child process alive (its pid).

    A child not started yet (``media.prestart_workers = false``, before the first job) is
    fine; one that was started and is gone is not, until the next job starts another."""

    name: str
    loop_running: bool
    pid: int | None
    started: bool = True

    @property
    def process_alive(self) -> bool:
        return self.pid is not None or not self.started


class Outcome(enum.Enum):
    """How one delivery of a job ended (the jobs row already says so)."""

    DONE = "done"  # recorded, or nothing to do (the video is ready already, or gone)
    RETRY = "retry"  # this attempt failed; the row is queued for another
    FAILED = "failed"  # failed for good (dead letter); a transcode's video failed with it


class Lease(Protocol):
    """How a delivery keeps its claim on a running job alive: the one thing the work asks of it."""

    async def renew(self, progress: float | None) -> None:
        """Called every ``HEARTBEAT_S`` while the job runs (with the video's progress, if any)."""
        ...


@dataclasses.dataclass
class TableLease:
    """The built-in delivery's claim: the row's lease, renewed in the jobs table."""

    db: Database
    job: store.Job
    lease_s: float

    async def renew(self, progress: float | None) -> None:
        await store.heartbeat(self.db, self.job.id, self.lease_s, progress, self.job.video_id)


def media_worker(config: Config, i: int) -> Worker:
    """A transcode child slot (its process starts on ``ensure``: the media stack warm in it)."""
    return Worker(
        f"shortstack-transcode-{i}",
        warm=["shortstack.media.pipeline"],
        memory_limit_mb=config.media.max_memory_mb or None,
    )


class JobWork:
    """What a job does (``run``), whichever delivery brought it: a transcode of an upload or
    the automatic captions of a ready video, in a media child with a deadline, its outcome
    recorded in the jobs row (the record the API reads) and said on the broker."""

    def __init__(self, db: Database, storage: LocalStorage, broker: Broker, config: Config) -> None:
        self.db = db
        self.storage = storage
        self.broker = broker
        self.config = config
        #: run before ``video.ready`` is published (e.g. put the video in the feeds)
        self.on_ready: Callable[[str], Awaitable[None]] | None = None
        #: a follow-up job row was committed (automatic captions): its delivery should look
        self.on_queued: Callable[[], None] = lambda: None
        self._engine_missing_said = False

    async def run(self, worker: Worker, job: store.Job, lease: Lease) -> Outcome:
        """Run one delivery of ``job`` (its row claimed by the caller) in ``worker``'s child.

        Cancelled (a shutdown, an engine's time limit): the child is killed and the partial
        outputs removed before the cancellation goes on; the caller says what the row becomes."""
        try:
            if job.kind == "captions" and job.video_id is not None:
                return await self._auto_captions(worker, job, job.video_id, lease)
            if job.kind != "transcode" or job.video_id is None:
                job.attempts = job.max_attempts
                await store.fail_attempt(self.db, job, f"unknown job kind {job.kind!r}")
                return Outcome.FAILED
            return await self._transcode_job(worker, job, job.video_id, lease)
        except asyncio.CancelledError:
            worker.close()  # the child's work ends now (its thread sees ChildDied)
            if job.video_id is not None:
                self.storage.clear_partials(job.video_id)
            raise

    async def _transcode_job(
        self, worker: Worker, job: store.Job, video_id: str, lease: Lease
    ) -> Outcome:
        # at-least-once delivery: a second delivery of a finished transcode changes nothing
        status = await store.video_status(self.db, video_id)
        if status is None or status == "ready":
            await store.complete(self.db, job)
            return Outcome.DONE
        loop = asyncio.get_running_loop()
        latest: dict[str, float] = {}

        def on_progress(p: float) -> None:
            latest["p"] = p
            self.broker.publish("video.progress", {"video_id": video_id, "progress": p})

        # an earlier attempt killed mid-write (worker crash, server kill -9) left its partial
        # files here; this job holds the lease, so nothing else is writing them. Storage calls
        # run in a thread: with a bucket each one is a network request.
        stack = contextlib.ExitStack()
        try:
            await asyncio.to_thread(self.storage.clear_partials, video_id)
            files = await asyncio.to_thread(
                stack.enter_context, self.storage.transcode_files(video_id)
            )
        except FileNotFoundError:
            job.attempts = job.max_attempts
            await store.fail_attempt(self.db, job, "the uploaded file is missing")
            self.broker.publish(
                "video.failed", {"video_id": video_id, "error": "the uploaded file is missing"}
            )
            return Outcome.FAILED
        except STORAGE_ERRORS as exc:  # the bucket unreachable for now: another attempt
            return await self._storage_failed(job, video_id, f"reading the upload failed: {exc}")
        with stack:  # object storage: a local copy of the source, outputs uploaded on commit
            worker.ensure()
            fut = loop.run_in_executor(
                None, self._transcode, worker, files, job.payload, on_progress
            )
            status, payload = await self._heartbeat_until(fut, lease, lambda: latest.get("p"))
            if status == "done":
                try:
                    await asyncio.to_thread(files.commit)
                except STORAGE_ERRORS as exc:
                    status, payload = "error", f"storing the outputs failed: {exc}"
        # a worker killed at the deadline (or dead) is replaced now, before the outcome is
        # recorded: the next job does not wait for it, and /healthz never sees it missing
        worker.ensure()
        if not await store.video_exists(self.db, video_id):
            # deleted while transcoding: drop what was written
            await asyncio.to_thread(self.storage.delete_video, video_id)
            return Outcome.DONE
        if status == "done":
            log.info("processed %s: %s", video_id, dict(payload.steps))
            then = None  # automatic captions: their own job, queued with the ready status
            if self.config.captions.auto and payload.renditions:
                rendition = {"rendition": payload.renditions[-1].name}  # the smallest
                then = ("captions", self.config.media.job_max_attempts, rendition)
            if not await store.complete_transcode(self.db, job, _record(payload), then=then):
                await asyncio.to_thread(self.storage.delete_video, video_id)
                return Outcome.DONE
            await refresh_hls(self.db, self.storage, video_id)  # captions sent with the upload
            if (
                self.on_ready is not None
            ):  # e.g. put it in the feeds before anyone hears it is ready
                try:
                    await asyncio.wait_for(self.on_ready(video_id), READY_HOOK_TIMEOUT_S)
                except Exception:  # a slow or failing hook never holds back the event
                    log.warning("on_ready hook for %s did not finish", video_id)
            self.broker.publish("video.ready", {"video_id": video_id})
            if then is not None:
                self.on_queued()
            return Outcome.DONE
        if status == "invalid":  # the file itself is bad: retrying cannot help
            job.attempts = job.max_attempts
        # a child killed at the deadline leaves its half-written files; the job still holds
        # the lease, so nothing else is writing them
        with contextlib.suppress(*STORAGE_ERRORS):
            await asyncio.to_thread(self.storage.clear_partials, video_id)
        final = await store.fail_attempt(self.db, job, payload)
        log.warning(
            "transcode of %s failed (attempt %d/%d): %s",
            video_id,
            job.attempts,
            job.max_attempts,
            payload,
        )
        if final:
            self.failed_for_good(video_id, payload)
            return Outcome.FAILED
        return Outcome.RETRY

    async def _storage_failed(self, job: store.Job, video_id: str, error: str) -> Outcome:
        """An attempt the storage failed (not the file): counted, retried while attempts last."""
        log.warning("transcode of %s: %s", video_id, error)
        if await store.fail_attempt(self.db, job, error):
            self.failed_for_good(video_id, error)
            return Outcome.FAILED
        return Outcome.RETRY

    def failed_for_good(self, video_id: str, error: str) -> None:
        """Say that a video's transcode failed for good (its row and video already say so)."""
        self.broker.publish("video.failed", {"video_id": video_id, "error": public_error(error)})

    async def _auto_captions(
        self, worker: Worker, job: store.Job, video_id: str, lease: Lease
    ) -> Outcome:
        """The ``captions`` job of a ready video (``[captions] auto``): transcribe its smallest
        rendition in the media child, with heartbeats. A time-out or a dead child is retried
        like any job (``media.job_max_attempts``); a missing engine is said once and ends the
        job; no outcome here touches the video."""
        from shortstack.media.errors import MediaError
        from shortstack.media.transcribe import EngineMissing, transcribe_file

        captions = self.config.captions
        name = str(job.payload.get("rendition"))
        try:
            self.storage.rendition_path(video_id, name)
        except ValueError:  # not a rendition name: nothing to transcribe
            await store.complete(self.db, job)
            return Outcome.DONE
        try:
            with contextlib.ExitStack() as stack:
                rendition = await asyncio.to_thread(  # a download, with a bucket
                    stack.enter_context, self.storage.rendition_file(video_id, name)
                )
                if rendition is None:  # the video went meanwhile
                    await store.complete(self.db, job)
                    return Outcome.DONE
                worker.ensure()
                fut = asyncio.get_running_loop().run_in_executor(
                    None,
                    functools.partial(
                        worker.call,
                        transcribe_file,
                        rendition,
                        captions.engine,
                        timeout_s=captions.auto_timeout_s,
                    ),
                )
                cues = await self._heartbeat_until(fut, lease)
        except EngineMissing as exc:
            if not self._engine_missing_said:
                self._engine_missing_said = True
                log.warning("automatic captions are on but skipped: %s", exc)
            await store.complete(self.db, job)
            return Outcome.DONE
        except (MediaError, TimedOut, OutOfMemory, ChildDied, Exception) as exc:
            worker.ensure()
            if isinstance(exc, (MediaError, OutOfMemory)):  # the same file fails the same way
                job.attempts = job.max_attempts
            final = await store.fail_attempt(self.db, job, f"automatic captions: {exc}")
            log.warning(
                "automatic captions of %s failed (attempt %d/%d): %s",
                video_id,
                job.attempts,
                job.max_attempts,
                exc,
            )
            return Outcome.FAILED if final else Outcome.RETRY
        stored = False
        if cues:
            vtt, count = automatic_vtt(cues, await blocked_term_list(self.db))
            try:
                stored = await put_track(
                    self.db,
                    video_id,
                    captions.auto_lang,
                    vtt,
                    count,
                    kind="automatic",
                    max_tracks=captions.max_languages,
                )
            except Unprocessable as exc:
                log.warning("automatic captions of %s not stored: %s", video_id, exc)
            if stored:
                log.info("automatic captions of %s: %d cues", video_id, count)
                await refresh_hls(self.db, self.storage, video_id)
        await store.complete(self.db, job)
        return Outcome.DONE

    @staticmethod
    async def _heartbeat_until(
        fut: asyncio.Future[T],
        lease: Lease,
        progress: Callable[[], float | None] = lambda: None,
    ) -> T:
        """``fut``'s result, renewing the job's lease every ``HEARTBEAT_S`` meanwhile (with
        the video's progress when there is one)."""
        while True:
            done, _ = await asyncio.wait({fut}, timeout=HEARTBEAT_S)
            if done:
                return fut.result()
            await lease.renew(progress())

    def _transcode(
        self,
        worker: Worker,
        files: TranscodeFiles,
        payload: dict[str, Any],
        on_progress: Callable[[float], None],
    ) -> tuple[str, Any]:
        """Blocking (a thread): ("done", UploadResult), ("invalid", why) or ("error", why).

        "invalid" is the file or the recipe refused (retrying cannot help); "error" is worth
        another attempt: a time-out, a worker that died, an unexpected failure.
        """
        from shortstack.media.edit import parse_recipe
        from shortstack.media.errors import MediaError
        from shortstack.media.pipeline import Ladder, Limits, process_upload
        from shortstack.media.probe import ProbeResult

        media, limits = self.config.media, self.config.limits
        edit = payload.get("edit")
        try:  # the probe taken at upload (older jobs, or a changed shape: probe again)
            info = ProbeResult(**payload["probe"]) if "probe" in payload else None
        except TypeError:
            info = None
        try:
            result = worker.call(
                process_upload,
                files.source,
                files.out_dir,
                Ladder(tuple(media.renditions), media.preset, media.crf, media.audio_bitrate),
                recipe=parse_recipe(edit) if edit else None,
                info=info,
                limits=Limits(limits.max_dimension, limits.max_duration_s),
                timeout_s=media.job_timeout_s,
                progress=on_progress,
                hls_dir=files.hls_dir,
            )
        except TimedOut:
            return "error", f"transcode timed out after {media.job_timeout_s:.0f} s"
        except OutOfMemory as exc:  # the same file would need as much again: no retry
            return "invalid", f"the transcode {exc} (media.max_memory_mb)"
        except ChildDied as exc:
            return "error", f"transcode process {exc}"  # the exit code, a memory ceiling
        except MediaError as exc:
            return "invalid", str(exc) or type(exc).__name__
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return "error", f"transcode failed: {detail}"
        return "done", result


class JobRunner:
    """What an API process holds to get committed job rows run (the ``jobs`` dependency): the
    built-in ``TableRunner``, or ``job_queue.Dispatcher`` handing them to a queue engine."""

    #: run before ``video.ready`` is published by a job this process runs
    on_ready: Callable[[str], Awaitable[None]] | None = None

    def wake(self) -> None:
        """A job row was committed (an upload): see to it now."""
        raise NotImplementedError

    def liveness(self) -> list[WorkerLiveness]:
        """The state of what runs or hands over the jobs here (``/healthz``)."""
        raise NotImplementedError

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError


class TableRunner(JobRunner):
    """The built-in delivery: claims queued rows of the jobs table and runs their ``JobWork``,
    ``server.workers`` at a time, in this process (``[jobs] engine = "builtin"``)."""

    def __init__(self, db: Database, storage: LocalStorage, broker: Broker, config: Config) -> None:
        self.db = db
        self.config = config
        self.work = JobWork(db, storage, broker, config)
        self.work.on_queued = self.wake
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._workers: list[Worker] = []
        self._stopping = False

    @property  # type: ignore[override]
    def on_ready(self) -> Callable[[str], Awaitable[None]] | None:
        return self.work.on_ready

    @on_ready.setter
    def on_ready(self, hook: Callable[[str], Awaitable[None]] | None) -> None:
        self.work.on_ready = hook

    def wake(self) -> None:
        self._wake.set()

    def liveness(self) -> list[WorkerLiveness]:
        """Each worker slot's state (empty before `start`). A dead child process is started
        again by its loop's next job; a loop that ended takes no more jobs."""
        return [
            WorkerLiveness(worker.name, not task.done(), worker.pid, worker.started)
            for worker, task in zip(self._workers, self._tasks, strict=True)
        ]

    async def start(self, *, recover: bool = True) -> None:
        """Start the job loops; ``recover``: first re-queue every job left 'running' (only
        when no other process can be running one: see the app's start-up)."""
        if recover:
            recovered = await store.recover(self.db)
            if recovered:
                log.info("re-queued %d interrupted job(s)", recovered)
        # Start multiprocessing's resource tracker and the workers now, while this process still
        # has its real stderr: later (e.g. under the demo's Textual client, which replaces
        # sys.stderr) starting the tracker fails with "bad value(s) in fds_to_keep".
        resource_tracker.ensure_running()
        for i in range(max(1, self.config.server.workers)):
            # the child imports the media stack now, while it idles, not when an upload waits
            worker = media_worker(self.config, i)
            if self.config.media.prestart_workers:
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

    async def _loop(self, worker: Worker) -> None:
        while not self._stopping:
            job = await store.claim(self.db, self.config.media.job_lease_s)
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=5.0)
                continue
            lease = TableLease(self.db, job, self.config.media.job_lease_s)
            try:
                outcome = await self.work.run(worker, job, lease)
            except asyncio.CancelledError:
                raise  # the row stays running: the next start re-queues it (store.recover)
            except Exception:
                log.exception("job %s crashed the runner", job.id)
                await store.fail_attempt(self.db, job, "internal error while processing")
                continue
            if outcome is Outcome.RETRY:
                self._wake.set()


def _record(result: UploadResult) -> dict[str, Any]:
    """What the store records of a processed upload (renditions, metadata, poster, features)."""
    return {
        "info": dataclasses.asdict(result.info),
        "renditions": [
            {"name": r.name, "width": r.width, "height": r.height, "bytes": r.bytes}
            for r in result.renditions
        ],
        "duration_s": result.duration_s,
        "poster": result.poster.name,
        "features": result.features.astype("float32").tobytes(),
    }
