"""Liveness and readiness: a real database query and the transcode workers' state."""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from .jobs import JobRunner
from .store import jobs as jobs_store
from .store.db import Database

log = logging.getLogger("shortstack.health")
DB_TIMEOUT_S = 3.0
#: How long a good database answer (the job counts) is reused while nothing was committed
#: (``Database.data_version`` unchanged): load balancers poll this; the counts stay exact.
COUNTS_TTL_S = 1.0


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


class _CountsCache(msgspec.Struct):
    at: float
    version: int
    counts: JobsOut


async def _cached_job_counts(request: Request, db: Database) -> tuple[str, JobsOut | None]:
    """The job counts of a good answer less than COUNTS_TTL_S old when nothing was committed
    since (one PRAGMA on the loop, no thread hop); else a real query (``_job_counts``)."""
    state = request.app.state
    cached: _CountsCache | None = state.get("health_counts")
    try:
        version = db.data_version()
    except Exception:  # the database is in trouble: let the real query say how
        version = None
    now = time.monotonic()
    if cached is not None and version == cached.version and now - cached.at < COUNTS_TTL_S:
        return "ok", cached.counts
    db_state, counts = await _job_counts(db)
    if counts is not None and version is not None:
        state["health_counts"] = _CountsCache(now, version, counts)
    else:
        state.pop("health_counts", None)
    return db_state, counts


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
async def healthz(request: Request) -> Response[HealthOut]:
    # the database and the job runner from the app's state, not as two injected dependencies:
    # Litestar resolves a handler's independent dependencies concurrently in an anyio task
    # group (two tasks and loop turns per request), a third of this check's cost
    state = request.app.state
    db_state, counts = await _cached_job_counts(request, state.db)
    workers = _workers(state.jobs)
    failing = [name for name, state in (("db", db_state), ("workers", workers)) if state != "ok"]
    body = HealthOut(
        status="degraded" if failing else "ok",
        db=db_state,
        workers=workers,
        jobs=counts,
        failing=failing,
    )
    return Response(body, status_code=503 if failing else 200)
