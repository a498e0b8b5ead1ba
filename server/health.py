"""Liveness and readiness: database and job queue."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.di import NamedDependency

from .store.db import Database


class JobsOut(msgspec.Struct):
    queued: int
    running: int
    failed: int


class HealthOut(msgspec.Struct):
    status: str
    db: str
    jobs: JobsOut


@get("/healthz", operation_id="health", summary="Health check", tags=["ops"])
async def healthz(db: NamedDependency[Database]) -> HealthOut:
    rows = await db.fetchall("SELECT status, COUNT(*) FROM jobs GROUP BY status")
    counts = {r[0]: r[1] for r in rows}
    return HealthOut(
        status="ok",
        db="ok",
        jobs=JobsOut(
            queued=counts.get("queued", 0),
            running=counts.get("running", 0),
            failed=counts.get("failed", 0),
        ),
    )
