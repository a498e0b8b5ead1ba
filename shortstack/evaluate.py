"""`shortstack eval`: offline evaluation on a ratings file or on a server's logged interactions."""

from __future__ import annotations

from pathlib import Path

from shortstack.recommender.evaluation import (
    EvalReport,
    evaluate,
    interactions_from_events,
    run_evaluation,
)
from shortstack.recommender.weights import SignalWeights


class EvalInputError(Exception):
    """Nothing to evaluate: no database there, or no logged interactions yet."""


def run_eval(
    *,
    dataset: Path | None,
    data_dir: Path | None,
    k: int = 20,
    min_rating: float = 4.0,
    signals: SignalWeights | None = None,
) -> EvalReport:
    """Evaluate on a ratings file, or on a server data dir's log read exactly as a fit reads
    it (``server/feed_data.load_log``) with positives by the configured signal rules."""
    if dataset is not None:
        return run_evaluation(dataset, k=k, min_rating=min_rating)
    assert data_dir is not None
    from shortstack.server.maintenance import database_path

    db_path = database_path(data_dir)
    if not db_path.exists():
        raise EvalInputError(
            f"{data_dir}: no Shortstack database here (use --data DIR or --dataset FILE)"
        )
    from shortstack.server.feed_data import load_log

    log = load_log(db_path)
    data = interactions_from_events(
        log.events, log.catalogue, len(log.user_index), signals or SignalWeights()
    )
    if len(data.user) == 0:
        raise EvalInputError(
            "no logged interactions to evaluate yet (likes, comments, shares, watched views)"
        )
    return evaluate(data, k=k, dataset=str(db_path))
