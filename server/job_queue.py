"""Jobs on a queue engine (SAQ on Redis): API processes enqueue, ``shortstack worker`` runs them.

The jobs table stays the record and the outbox: an upload commits its video row and its job
row in one transaction; the ``Dispatcher`` then hands every committed row the engine does not
hold to it under an idempotent key (at once after an upload, and every ``jobs.dispatch_s``, so
an enqueue lost in a crash is made good). A ``WorkerNode`` (``shortstack worker``) runs what the
engine delivers with the same ``JobWork`` as the built-in runner; the engine brings the
retries (``media.job_max_attempts``), the time limit of an attempt, the heartbeat, the sweep
that re-queues the job of a dead worker, and its FAILED status for the dead letter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from multiprocessing import resource_tracker
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .broker import Broker
from .config import Config
from .jobs import HEARTBEAT_S, JobRunner, JobWork, Outcome, WorkerLiveness, media_worker
from .store import jobs as store
from .store.db import Database
from .store.dialect import redact
from .visibility import public_error

if TYPE_CHECKING:
    from saq import Queue
    from saq.job import Job as EngineJob

    from shortstack.media.runner import Worker

log = logging.getLogger("shortstack.jobs")

#: the engine's name of the one function every job runs (its kwargs: the row's id and video)
FUNCTION = "shortstack_job"
#: how long the engine keeps a finished job's record (its FAILED ones are the dead letter)
KEEP_S = 7 * 24 * 3600


class QueueUnavailable(RuntimeError):
    """``[jobs] engine`` names a queue that is not configured, installed or reachable."""


def config_problem(config: Config) -> str | None:
    """What keeps ``config`` from running jobs on a queue engine, or None."""
    if config.jobs.engine == "builtin":
        return (
            '[jobs] engine = "builtin": each API process runs its own jobs; set'
            ' [jobs] engine = "saq" (and [cache] url) to run them on shortstack worker'
        )
    if not config.cache.url:
        return (
            '[jobs] engine = "saq" needs [cache] url (a Redis server): the workers\' progress'
            " and ready events reach the API processes through it"
        )
    if config.jobs.concurrency < 1:
        return "[jobs] concurrency must be at least 1"
    if config.jobs.heartbeat_s < 2 * HEARTBEAT_S:
        return f"[jobs] heartbeat_s must be at least {2 * HEARTBEAT_S:g} (a job beats every {HEARTBEAT_S:g} s)"
    if config.jobs.refit_cron:
        from croniter import croniter

        if config.feed.refit != "external":
            return '[jobs] refit_cron needs [feed] refit = "external"'
        if not croniter.is_valid(config.jobs.refit_cron):
            return f"[jobs] refit_cron: not a cron line: {config.jobs.refit_cron!r}"
    return None


def worker_problem(config: Config, data_dir: Path) -> str | None:
    """What keeps ``shortstack worker`` from running with ``config`` on ``data_dir``, or None."""
    from .maintenance import has_database

    problem = config_problem(config)
    if problem is None and not config.database.url and not has_database(data_dir):
        problem = (
            f"no database in {data_dir}: run the worker on the API's data dir, or set"
            " [database] url (Postgres) for workers on other machines"
        )
    return problem


def open_queue(config: Config) -> Queue:
    """The engine's queue on ``[jobs] url`` (default ``[cache] url``)."""
    try:
        from saq.queue.redis import RedisQueue
    except ImportError:  # pragma: no cover - depends on the installation
        raise QueueUnavailable(
            "[jobs] engine = \"saq\" but saq is not installed: pip install 'shortstack[scale]'"
        ) from None
    url = config.jobs.url or config.cache.url
    return RedisQueue.from_url(url, name=config.jobs.queue, swept_error_message="worker lost")


def job_key(job: store.Job) -> str:
    """The engine's key of a row: enqueueing it twice while it is pending is one job."""
    return f"job:{job.id}:{job.video_id or '-'}"


def attempt_limit_s(config: Config, kind: str) -> int:
    """The engine's time limit of one attempt: the work's own deadline plus the margin."""
    own = config.captions.auto_timeout_s if kind == "captions" else config.media.job_timeout_s
    return int(own) + config.jobs.timeout_margin_s


async def _ping(queue: Queue) -> None:
    try:
        await asyncio.wait_for(queue.redis.ping(), 10)  # type: ignore[attr-defined]
    except Exception as exc:
        raise QueueUnavailable(
            f"cannot reach the queue's Redis ([jobs] url, else [cache] url): {exc}"
        ) from None


class Dispatcher(JobRunner):
    """Hands committed job rows to the engine: the API side of ``[jobs] engine = "saq"``, where
    the built-in ``TableRunner`` stands otherwise (the worker runs one too)."""

    def __init__(
        self, db: Database, broker: Broker, config: Config, queue: Queue | None = None
    ) -> None:
        self.db = db
        self.broker = broker
        self.config = config
        self.queue = queue
        self._own_queue = queue is None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.page = 500  # rows looked at per database query and queue round trip

    def wake(self) -> None:
        """A job row was committed (an upload): hand it over now."""
        self._wake.set()

    def liveness(self) -> list[WorkerLiveness]:
        """The dispatch loop (the transcode children run in ``shortstack worker``)."""
        if self._task is None:
            return []
        return [WorkerLiveness("job-dispatcher", not self._task.done(), None, started=False)]

    async def start(self) -> None:
        if self.queue is None:
            self.queue = open_queue(self.config)
        await self.queue.connect()
        await _ping(self.queue)
        self._task = asyncio.create_task(self._loop(), name="job-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.queue is not None and self._own_queue:
            with contextlib.suppress(Exception):
                await self.queue.disconnect()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.dispatch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database or the queue is away: later
                log.warning("dispatching jobs to the queue failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.jobs.dispatch_s)

    async def enqueue(self, job: store.Job) -> bool:
        """Hand one row to the engine; False when it holds that job already."""
        assert self.queue is not None
        queued = await self.queue.enqueue(
            FUNCTION,
            key=job_key(job),
            job_id=job.id,
            video_id=job.video_id,
            retries=job.max_attempts,
            timeout=attempt_limit_s(self.config, job.kind),
            heartbeat=self.config.jobs.heartbeat_s,
            ttl=KEEP_S,
        )
        return queued is not None

    async def dispatch(self) -> int:
        """Hand over every queued row the engine does not hold (and every running row whose
        worker went quiet past its lease); fail for good a row whose engine job ended without
        it being recorded at its last attempt (a worker killed then): how many were handed."""
        assert self.queue is not None
        handed, after = 0, 0
        while rows := await store.undelivered(self.db, after, self.page):
            after = rows[-1][1].id
            handed += await self._hand_over(rows)
        return handed

    async def _hand_over(self, rows: list[tuple[str, store.Job]]) -> int:
        from saq.job import ACTIVE_STATUSES, Status

        assert self.queue is not None
        held = await self.queue.jobs(job_key(job) for _, job in rows)
        handed = 0
        for (_, job), engine_job in zip(rows, held, strict=True):
            if engine_job is not None and engine_job.status in ACTIVE_STATUSES:
                continue
            if engine_job is not None:  # it ended in the engine: does the row still say so?
                found = await store.get(self.db, job.id, job.video_id)
                if found is None or found[0] not in ("queued", "running"):
                    continue
                status, job = found
                if status == "running" and not await store.lease_over(self.db, job):
                    continue
                if job.attempts >= job.max_attempts or engine_job.status == Status.FAILED:
                    await self._dead_letter(job, engine_job.error or "the worker was lost")
                    continue
            if await self.enqueue(job):
                handed += 1
                if engine_job is None:
                    log.info("job %d (%s) handed to the queue", job.id, job.kind)
        return handed

    async def _dead_letter(self, job: store.Job, error: str) -> None:
        job.attempts = job.max_attempts
        reason = f"no attempt finished: {error.strip().splitlines()[-1][:200]}"
        await store.fail_attempt(self.db, job, reason)
        log.warning("job %d (%s) failed for good: %s", job.id, job.kind, reason)
        if job.kind == "transcode" and job.video_id is not None:
            failed = {"video_id": job.video_id, "error": public_error(reason)}
            self.broker.publish("video.failed", failed)


class AttemptFailed(Exception):
    """Raised to the engine when an attempt failed (the row says why): retry or dead letter."""


class _QuietAttempts(logging.Filter):
    """The engine logs a failed attempt (and one past its time limit) with a traceback; the
    worker says why in a line of its own: one line here too."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, AttemptFailed):
            record.msg, record.args = "%s", (str(exc),)
            record.exc_info = record.exc_text = None
            if "retries" in str(exc):  # not the last attempt
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        elif isinstance(exc, TimeoutError) and str(record.msg).startswith("Error processing"):
            record.msg, record.args = "an attempt reached the queue's time limit (see below)", ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class EngineLease:
    """A worker's claim on an engine job: the row's lease and the engine's heartbeat."""

    def __init__(self, db: Database, job: store.Job, engine_job: EngineJob, lease_s: float) -> None:
        self.db, self.job, self.engine_job, self.lease_s = db, job, engine_job, lease_s

    async def renew(self, progress: float | None) -> None:
        await store.heartbeat(self.db, self.job.id, self.lease_s, progress, self.job.video_id)
        if progress is None:
            await self.engine_job.update()
        else:
            await self.engine_job.update(progress=progress)


async def refit(ctx: dict[str, Any]) -> dict[str, object]:
    """``shortstack refit`` on the workers' schedule (``jobs.refit_cron``): fit, store the model
    artifact, announce it to the API processes."""
    from .maintenance import refit_model

    node: WorkerNode = ctx["node"]
    report = await asyncio.to_thread(refit_model, node.data_dir, node.config)
    log.info(
        "refit: model %s, %s videos, %s users, %s s, %s API process(es) told",
        report["version"],
        report["videos"],
        report["users"],
        report["seconds"],
        report["announced_to"],
    )
    return report


class WorkerNode:
    """``shortstack worker``: runs the jobs the engine delivers, ``concurrency`` at a time, each
    in a transcode child of its own, with only the config and a data dir for storage."""

    def __init__(self, config: Config, data_dir: Path, *, concurrency: int | None = None) -> None:
        from .maintenance import database_path
        from .storage import open_storage

        self.config = config
        self.data_dir = Path(data_dir)
        self.concurrency = concurrency or config.jobs.concurrency
        self.db = Database(config.database.url or database_path(self.data_dir), readers=2)
        self.storage = open_storage(config, self.data_dir)
        self.broker = Broker()
        self.work = JobWork(self.db, self.storage, self.broker, config)
        self.queue = open_queue(config)
        self.dispatcher = Dispatcher(self.db, self.broker, config, self.queue)
        self.work.on_queued = self.dispatcher.wake  # automatic captions after a transcode
        self.lease_s = max(config.media.job_lease_s, 2.0 * config.jobs.heartbeat_s)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._slots: asyncio.Queue[Worker] = asyncio.Queue()
        self._engine: Any = None

    async def run(self) -> None:
        """Until SIGTERM/SIGINT: then no new job; a running one finishes within
        ``jobs.shutdown_grace_s`` or is released to the queue."""
        from saq import Worker as EngineWorker

        from . import shared

        node = self

        class _Engine(EngineWorker):
            async def stop(self) -> None:
                self.event.set()  # no new job; the upkeep loops only sleep: end them now
                for task in list(self.tasks):
                    if task.get_name() != "process":
                        task.cancel()
                await super().stop()

        async def job(ctx: dict[str, Any], *, job_id: int, video_id: str | None) -> str:
            return await node.handle(ctx["job"], job_id, video_id)

        logging.getLogger("saq").addFilter(_QuietAttempts())
        loop = asyncio.get_running_loop()
        self.broker.bind(loop)
        cache = shared.connect(self.config.cache.url)
        self.broker.backplane = shared.RedisBackplane(cache)  # events out; none come in
        await self.queue.connect()
        await _ping(self.queue)
        await self.db.open()
        self.storage.hold()  # an API process starting meanwhile leaves our partial files be
        resource_tracker.ensure_running()
        workers = [media_worker(self.config, i) for i in range(self.concurrency)]
        for worker in workers:
            if self.config.media.prestart_workers:
                worker.ensure()
            self._slots.put_nowait(worker)
        sweep_s = max(1, self.config.jobs.heartbeat_s // 2)
        # The engine moves a job to its active list, then marks it active: a sweep in between
        # takes it for a lost one. The first sweep of a starting worker would meet the first
        # dequeues every time, so it waits one interval (later ones rarely meet a dequeue,
        # and a job swept by mistake is delivered twice: the work is idempotent).
        sweep = self.queue.sweep
        first_sweep = asyncio.get_running_loop().time() + sweep_s

        async def later_sweep(lock: int = 60, abort: float = 5.0) -> list[str]:
            if asyncio.get_running_loop().time() < first_sweep:
                return []
            return await sweep(lock, abort)

        self.queue.sweep = later_sweep  # type: ignore[method-assign]
        cron = []
        if self.config.jobs.refit_cron:
            from saq.job import CronJob

            limit = 3600 + self.config.jobs.timeout_margin_s
            cron.append(CronJob(refit, cron=self.config.jobs.refit_cron, timeout=limit))
        self._engine = _Engine(
            self.queue,
            [(FUNCTION, job)],
            cron_jobs=cron,
            id=self.name,
            concurrency=self.concurrency,
            timers={"sweep": sweep_s, "abort": 1, "schedule": 1, "worker_info": 10},
            dequeue_timeout=1.0,
            shutdown_grace_period_s=self.config.jobs.shutdown_grace_s,
            cancellation_hard_deadline_s=5.0,
        )
        self._engine.context["node"] = self
        await self.dispatcher.start()
        log.info(
            "worker %s: %d job(s) at a time from queue %r on %s",
            self.name,
            self.concurrency,
            self.config.jobs.queue,
            redact(self.config.jobs.url or self.config.cache.url),
        )
        try:
            await self._engine.start()
        finally:
            await self.dispatcher.stop()
            for worker in workers:
                await asyncio.to_thread(worker.stop)
            self.storage.release()
            await self.db.close()
            await asyncio.sleep(0.2)  # the last events leave
            with contextlib.suppress(Exception):
                await self.queue.disconnect()
            with contextlib.suppress(Exception):
                await cache.aclose()
            log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        """Stop as SIGTERM would (from the event loop)."""
        if self._engine is not None:
            self._engine.event.set()

    @property
    def stopping(self) -> bool:
        return self._engine is not None and self._engine.event.is_set()

    async def handle(self, engine_job: EngineJob, job_id: int, video_id: str | None) -> str:
        """One delivery of the job row ``job_id``: run its work; raise ``AttemptFailed`` for
        the engine to retry it or, at the last attempt, to mark it FAILED (the dead letter)."""
        found = await store.get(self.db, job_id, video_id)
        if found is None or found[0] not in ("queued", "running"):
            return "nothing to do"  # deleted with its video, or recorded by an earlier delivery
        _, job = found
        job.attempts = engine_job.attempts  # the engine counts the attempts
        if not await store.start(self.db, job, self.lease_s):
            return "nothing to do"
        what = f"job {job.id} ({job.kind} of {job.video_id}"
        what += f", attempt {job.attempts}/{job.max_attempts})"
        log.info("%s started", what)
        began = time.monotonic()
        worker = await self._slots.get()
        try:
            outcome = await self.work.run(
                worker, job, EngineLease(self.db, job, engine_job, self.lease_s)
            )
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupted(job, engine_job, what))
            raise
        except Exception:
            log.exception("%s crashed", what)
            final = await store.fail_attempt(self.db, job, "internal error while processing")
            if final:
                self._said_failed(job, "internal error while processing")
            outcome = Outcome.FAILED if final else Outcome.RETRY
        finally:
            self._slots.put_nowait(worker)
        took = time.monotonic() - began
        log.info("%s: %s in %.1f s", what, outcome.value, took)
        if outcome is Outcome.FAILED:
            engine_job.retries = engine_job.attempts  # no retry: the engine marks it FAILED
            raise AttemptFailed(f"{what} failed for good")
        if outcome is Outcome.RETRY:
            raise AttemptFailed(f"{what} failed; the queue retries it")
        return outcome.value

    async def _interrupted(self, job: store.Job, engine_job: EngineJob, what: str) -> None:
        """The job was cancelled: a stopping worker releases it (not an attempt: the engine
        re-queues it); else the engine stopped it (its time limit, or an abort): a failed
        attempt."""
        if self.stopping:
            engine_job.attempts = max(0, engine_job.attempts - 1)
            await store.release(self.db, job)
            log.info("%s released: the worker is stopping", what)
            return
        limit = attempt_limit_s(self.config, job.kind)
        if (engine_job.duration("running") or 0) >= limit * 1000:
            error = f"the job ran past its time limit ({limit} s)"
        else:  # aborted: a sweep took this worker for a lost one
            error = "the queue stopped the attempt (its heartbeat was late)"
        final = await store.fail_attempt(self.db, job, error)
        log.warning("%s: %s", what, error)
        if final:
            self._said_failed(job, error)

    def _said_failed(self, job: store.Job, error: str) -> None:
        if job.kind == "transcode" and job.video_id is not None:
            self.work.failed_for_good(job.video_id, error)
