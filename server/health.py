"""Liveness and readiness: database and job queue."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.di import NamedDependency

from .store import jobs as jobs_store
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
    counts = await jobs_store.counts(db)
    return HealthOut(
        status="ok",
        db="ok",
        jobs=JobsOut(
            queued=counts.get("queued", 0),
            running=counts.get("running", 0),
            failed=counts.get("failed", 0),
        ),
    )
