"""Durable jobs: claim with a lease, heartbeat, finish or fail with attempts counted."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .db import Database
from .ids import now


@dataclass(slots=True)
class Job:
    id: int
    kind: str
    video_id: str | None
    attempts: int
    max_attempts: int
    payload: dict


async def recover(db: Database) -> int:
    """At start-up nothing can be running: put interrupted jobs back in the queue."""
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ? WHERE status = 'running'",
            (now(),),
        )
        return cur.rowcount


async def claim(db: Database, lease_s: float) -> Job | None:
    ts = now()
    # many API processes on one Postgres: each claims a different job (SQLite has one writer)
    skip = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgres" else ""
    async with db.write() as conn:
        async with conn.execute(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, heartbeat_at = ?,"
            " updated_at = ? WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
            f" OR (status = 'running' AND lease_until < ?) ORDER BY created_at, id LIMIT 1{skip})"
            " RETURNING id, kind, video_id, attempts, max_attempts, payload",
            (ts + lease_s, ts, ts, ts),
        ) as cur:
            row = await cur.fetchone()
    if row is None:
        return None
    return Job(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"))


async def get(db: Database, job_id: int, video_id: str | None) -> tuple[str, Job] | None:
    """A job row by id (and its video: ids of deleted rows may be reused) with its status."""
    row = await db.fetchone(
        "SELECT id, kind, video_id, attempts, max_attempts, payload, status FROM jobs"
        " WHERE id = ? AND video_id IS ?",
        (job_id, video_id),
    )
    if row is None:
        return None
    return row[6], Job(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "{}"))


async def start(db: Database, job: Job, lease_s: float) -> bool:
    """A queue engine delivered ``job`` (its ``attempts`` counted by the engine): mark the row
    running under a lease. False when it is done, failed or gone: nothing to run."""
    ts = now()
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE jobs SET status = 'running', attempts = ?, lease_until = ?, heartbeat_at = ?,"
            " updated_at = ? WHERE id = ? AND video_id IS ? AND status IN ('queued', 'running')",
            (job.attempts, ts + lease_s, ts, ts, job.id, job.video_id),
        )
        return cur.rowcount > 0


async def release(db: Database, job: Job) -> None:
    """A worker stopping gives the job back (not counted as an attempt): queued again."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE jobs SET status = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
            " lease_until = NULL, updated_at = ? WHERE id = ? AND video_id IS ? AND status = 'running'",
            (now(), job.id, job.video_id),
        )


async def undelivered(db: Database, after_id: int = 0, limit: int = 500) -> list[tuple[str, Job]]:
    """Rows a queue engine should hold, with their status, by id from ``after_id`` (a page of
    ``limit``): queued ones, and running ones whose lease ran out (their worker is gone)."""
    rows = await db.fetchall(
        "SELECT id, kind, video_id, attempts, max_attempts, payload, status FROM jobs"
        " WHERE id > ? AND (status = 'queued' OR (status = 'running' AND lease_until < ?))"
        " ORDER BY id LIMIT ?",
        (after_id, now(), limit),
    )
    return [(r[6], Job(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}"))) for r in rows]


async def lease_over(db: Database, job: Job) -> bool:
    """Whether a running row's lease has run out (its worker went quiet)."""
    row = await db.fetchone(
        "SELECT lease_until FROM jobs WHERE id = ? AND video_id IS ?", (job.id, job.video_id)
    )
    return row is not None and (row[0] is None or row[0] < now())


async def video_status(db: Database, video_id: str) -> str | None:
    row = await db.fetchone("SELECT status FROM videos WHERE id = ?", (video_id,))
    return None if row is None else row[0]


async def heartbeat(
    db: Database, job_id: int, lease_s: float, progress: float | None, video_id: str | None
) -> None:
    ts = now()
    async with db.write() as conn:
        await conn.execute(
            "UPDATE jobs SET lease_until = ?, heartbeat_at = ?, updated_at = ?"
            " WHERE id = ? AND video_id IS ?",
            (ts + lease_s, ts, ts, job_id, video_id),
        )
        if progress is not None and video_id is not None:
            await conn.execute(
                "UPDATE videos SET progress = ? WHERE id = ? AND status = 'processing'",
                (progress, video_id),
            )


async def complete_transcode(
    db: Database, job: Job, result: dict, *, then: tuple[str, int, dict] | None = None
) -> bool:
    """Renditions, metadata, poster and the ready status land in one transaction, with the
    follow-up job ``then`` (kind, max attempts, payload: e.g. automatic captions) queued in it, so
    a crash cannot lose it.

    False when the video was deleted meanwhile (its job row went with it): nothing recorded."""
    ts = now()
    async with db.write() as conn:
        async with conn.execute("SELECT 1 FROM videos WHERE id = ?", (job.video_id,)) as cur:
            if await cur.fetchone() is None:
                return False
        await conn.execute("DELETE FROM renditions WHERE video_id = ?", (job.video_id,))
        for r in result["renditions"]:
            await conn.execute(
                "INSERT INTO renditions (video_id, name, width, height, bytes) VALUES (?, ?, ?, ?, ?)",
                (job.video_id, r["name"], r["width"], r["height"], r["bytes"]),
            )
        info = result["info"]
        await conn.execute(
            "UPDATE videos SET status = 'ready', progress = 1, error = NULL, duration_s = ?, width = ?, height = ?,"
            " fps = ?, video_codec = ?, audio_codec = ?, poster = ?, features = ? WHERE id = ?",
            (
                result.get("duration_s") or info.get("duration_s"),
                info.get("width"),
                info.get("height"),
                info.get("fps"),
                info.get("video_codec"),
                info.get("audio_codec"),
                result.get("poster"),
                result.get("features"),
                job.video_id,
            ),
        )
        await conn.execute(
            "UPDATE jobs SET status = 'done', error = NULL, updated_at = ? WHERE id = ? AND video_id IS ?",
            (ts, job.id, job.video_id),
        )
        if then is not None:
            await conn.execute(
                "INSERT INTO jobs (kind, video_id, max_attempts, payload, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (then[0], job.video_id, then[1], json.dumps(then[2]), ts, ts),
            )
    return True


async def complete(db: Database, job: Job) -> None:
    """Mark a job other than a transcode done (its work is recorded by its own store call)."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE jobs SET status = 'done', error = NULL, lease_until = NULL, updated_at = ?"
            " WHERE id = ? AND video_id IS ?",
            (now(), job.id, job.video_id),
        )


async def fail_attempt(db: Database, job: Job, error: str) -> bool:
    """Record a failed attempt; returns True when the job has now failed for good (a
    transcode's video fails with it; a follow-up job's failure leaves the video ready)."""
    final = job.attempts >= job.max_attempts
    ts = now()
    async with db.write() as conn:
        await conn.execute(
            # job ids are rowids: once a deleted video's job row is gone its id can be reused,
            # so a late answer must match the video too, or it would touch a newer job
            "UPDATE jobs SET status = ?, error = ?, lease_until = NULL, updated_at = ?"
            " WHERE id = ? AND video_id IS ?",
            ("failed" if final else "queued", error, ts, job.id, job.video_id),
        )
        if final and job.video_id is not None and job.kind == "transcode":
            await conn.execute(
                "UPDATE videos SET status = 'failed', error = ? WHERE id = ?", (error, job.video_id)
            )
    return final


async def video_exists(db: Database, video_id: str) -> bool:
    return await db.fetchone("SELECT 1 FROM videos WHERE id = ?", (video_id,)) is not None


async def counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) FROM jobs GROUP BY status")
    return {r[0]: r[1] for r in rows}
