"""Liveness and readiness: a real database query and the transcode workers' state."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from .jobs import JobRunner
from .store import jobs as jobs_store
from .store.db import Database

log = logging.getLogger("shortstack.health")
DB_TIMEOUT_S = 3.0


class JobsOut(msgspec.Struct):
    queued: int
    running: int
    failed: int


class HealthOut(msgspec.Struct):
    """`status` is "ok" or "degraded" (then the answer is a 503 and `failing` names the parts);
    `db` and `workers` are "ok" or what is wrong; `jobs` is null when the database fails."""

    status: str
    db: str
    workers: str
    jobs: JobsOut | None
    failing: list[str]


async def _job_counts(db: Database) -> tuple[str, JobsOut | None]:
    """Count the jobs by status (a real read of the database); ("ok", counts) or (why, None)."""
    try:
        counts = await asyncio.wait_for(jobs_store.counts(db), DB_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {DB_TIMEOUT_S:g} s", None
    except Exception as exc:  # any database failure is the answer here, not a 500
        log.warning("health check: the database failed: %r", exc)
        return f"error: {type(exc).__name__}: {exc}", None
    return "ok", JobsOut(
        queued=counts.get("queued", 0),
        running=counts.get("running", 0),
        failed=counts.get("failed", 0),
    )


def _workers(runner: JobRunner) -> str:
    states = runner.liveness()
    if not states:
        return "no transcode workers"
    problems = [
        f"{s.name}: {'job loop stopped' if not s.loop_running else 'process not running'}"
        for s in states
        if not (s.loop_running and s.process_alive)
    ]
    return "; ".join(problems) if problems else "ok"


@get(
    "/healthz",
    operation_id="health",
    summary="Health check: 200 when the database answers and the transcode workers run, else 503",
    tags=["ops"],
    responses={503: ResponseSpec(data_container=HealthOut, description="Degraded")},
)
async def healthz(
    db: NamedDependency[Database], jobs: NamedDependency[JobRunner]
) -> Response[HealthOut]:
    db_state, counts = await _job_counts(db)
    workers = _workers(jobs)
    failing = [name for name, state in (("db", db_state), ("workers", workers)) if state != "ok"]
    body = HealthOut(
        status="degraded" if failing else "ok",
        db=db_state,
        workers=workers,
        jobs=counts,
        failing=failing,
    )
    return Response(body, status_code=503 if failing else 200)
