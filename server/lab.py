"""Feed lab: a small synthetic-user simulation over the real ranking code, and your feed's diet."""

from __future__ import annotations

from typing import Annotated

import msgspec
import numpy as np
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.status_codes import HTTP_200_OK

from shortstack.recommender.lab_metrics import METRICS
from shortstack.recommender.signals import LEARNING_KINDS, user_state_from_events
from shortstack.recommender.weights import SignalWeights

from .config import Config
from .errors import problem
from .feed import WeightsIn, user_weights
from .feed_data import events_from_rows
from .feed_engine import FeedEngine
from .lab_worker import LabAlreadyQueued, LabBusy, LabFailed, LabRunner
from .store import catalogue as catalogue_store
from .store import lab as store
from .store.db import Database
from .store.users import User

MAX_USERS = 100
MAX_STEPS = 30


class SimulateIn(msgspec.Struct, forbid_unknown_fields=True):
    weights: WeightsIn | None = None
    users: Annotated[int, msgspec.Meta(ge=1, le=MAX_USERS)] = 50
    steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] = 20
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0


class MetricOut(msgspec.Struct):
    name: str
    label: str
    meaning: str


class SimulateOut(msgspec.Struct):
    weights: dict[str, float]
    users: int
    steps: int
    seed: int
    items: int
    metrics: list[MetricOut]
    curves: dict[str, list[float]]
    final: dict[str, float]
    watch_fraction: float
    like_rate: float
    seconds: float


class TopicDiet(msgspec.Struct):
    tag: str
    shown: int
    engaged: int
    shown_share: float
    engaged_share: float


class DietOut(msgspec.Struct):
    topics: list[TopicDiet]
    videos_shown: int
    videos_engaged: int


async def engaged_videos(db: Database, user_id: int, signals: SignalWeights) -> list[str]:
    """Videos the user engaged with: the positives of their whole history under the same
    signal rules as fitting and the For You user state (``user_state_from_events``)."""
    rows = await catalogue_store.viewer_events(db, user_id, LEARNING_KINDS, limit=None)
    durations = await store.video_durations(db, {r[0] for r in rows})
    ids = list(durations)
    events = events_from_rows(
        ((user_id, *r) for r in rows), {v: i for i, v in enumerate(ids)}, {user_id: 0}
    )
    duration_s = np.array([durations[v] for v in ids], dtype=np.float64)
    state = user_state_from_events(events, 0, duration_s, signals, max_positives=None)
    return [ids[i] for i in state.positives]


async def _simulate(
    lab: LabRunner, data: SimulateIn, weights: dict[str, float], user: User
) -> SimulateOut:
    try:
        run = await lab.run(
            user=user.id,
            admin=user.is_admin,
            weights=weights,
            users=data.users,
            steps=data.steps,
            seed=data.seed,
        )
    except LabAlreadyQueued as exc:
        where = "running" if exc.position == 0 else f"number {exc.position} in the queue"
        raise ProblemDetailsException(
            status_code=429,
            title="Simulation already queued",
            detail=f"you already have a simulation {where}; one at a time per account",
            headers={"Retry-After": "5"},
            extra={"position": exc.position},
        ) from None
    except LabBusy as exc:
        raise ProblemDetailsException(
            status_code=503,
            title="Lab busy",
            detail=f"{exc}: this run would be number {exc.position} in the queue;"
            " try again in a few seconds",
            headers={"Retry-After": "5"},
            extra={"position": exc.position},
        ) from None
    except LabFailed as exc:
        raise problem(503, "Lab run failed", f"{exc}; try again") from None
    return SimulateOut(
        weights=run["weights"],
        users=data.users,
        steps=data.steps,
        seed=data.seed,
        items=run["items"],
        metrics=[MetricOut(name, label, text) for name, (label, text) in METRICS.items()],
        curves=run["curves"],
        final={k: round(v, 6) for k, v in run["final"].items()},
        watch_fraction=round(run["extra"]["watch_fraction"], 6),
        like_rate=round(run["extra"]["like_rate"], 6),
        seconds=round(run["seconds"], 3),
    )


class LabController(Controller):
    path = "/api"
    tags = ["lab"]

    @post(
        "/lab/simulate",
        operation_id="lab_simulate",
        summary="Run a small feed-lab simulation (synthetic users) and get its metric curves",
        status_code=HTTP_200_OK,
    )
    async def simulate(
        self,
        data: JSONBody[SimulateIn],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        user: NamedDependency[User],
        lab: NamedDependency[LabRunner],
    ) -> SimulateOut:
        # logged-in users only: a run costs seconds of CPU (one at a time, one per user queued)
        base = msgspec.structs.asdict(await user_weights(db, config, user))
        if data.weights is not None:
            given = msgspec.structs.asdict(data.weights)
            base.update({k: v for k, v in given.items() if v is not None})
        return await _simulate(lab, data, base, user)

    @get("/me/diet", operation_id="my_diet", summary="Your feed's diet: topics shown vs engaged")
    async def diet(
        self,
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        user: NamedDependency[User],
        engine: NamedDependency[FeedEngine],
        limit: Annotated[int, Parameter(ge=1, le=100, description="Topics, 1..100.")] = 20,
    ) -> DietOut:
        await engine.impressions.flush()  # the pages just served count as shown
        engaged = await engaged_videos(db, user.id, config.feed.signals.as_dataclass())
        diet = await store.feed_diet(db, user.id, engaged, limit=limit)
        shown_total = max(sum(t[1] for t in diet["topics"]), 1)
        engaged_total = max(sum(t[2] for t in diet["topics"]), 1)
        return DietOut(
            topics=[
                TopicDiet(
                    tag,
                    shown,
                    engaged,
                    round(shown / shown_total, 4),
                    round(engaged / engaged_total, 4),
                )
                for tag, shown, engaged in diet["topics"]
            ],
            videos_shown=diet["videos_shown"],
            videos_engaged=diet["videos_engaged"],
        )
