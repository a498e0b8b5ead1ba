"""`shortstack eval`: offline evaluation on a ratings file or on a server's logged interactions."""

from __future__ import annotations

import math
from pathlib import Path

from shortstack.recommender.evaluation import (
    EvalReport,
    InteractionData,
    evaluate,
    interactions_from_events,
    load_interactions,
    open_first_fields,
)
from shortstack.recommender.weights import SignalWeights


class EvalInputError(Exception):
    """Nothing to evaluate: no database there, no logged interactions yet, or a file whose
    rows the positive rule filters out."""


#: Without --min-rating a 4-column file's third column is a weight (implicit feedback, e.g.
#: all 1): every row with a weight above zero is a positive, weighted by it. The smallest
#: positive float is the threshold that says exactly that to ``load_interactions``.
ANY_POSITIVE_WEIGHT = math.ulp(0.0)


def load_dataset(path: Path, min_rating: float | None) -> InteractionData:
    """The positives of a ``user item [weight] timestamp`` file: rows with a weight > 0,
    weighted by it; with ``min_rating`` the third column is a rating and rows rated at least
    that are positives of weight 1. EvalInputError naming the rule when no row is kept."""
    with open(path, "rb") as fh:  # a video or an archive would parse into a few junk rows
        if b"\0" in fh.read(4096):
            raise EvalInputError(
                f"{path}: not a text file (expected `user item [weight] timestamp` rows)"
            )
    has_third = len(open_first_fields(path)) >= 4
    if min_rating is None:
        data = load_interactions(path, min_rating=ANY_POSITIVE_WEIGHT, binary=False)
        rule = "a positive is a row whose weight (third of four columns) is above 0"
    else:
        data = load_interactions(path, min_rating=min_rating, binary=True)
        rule = (
            f"--min-rating {min_rating:g} keeps rows whose rating (third of four columns)"
            f" is at least {min_rating:g}"
        )
    if len(data.user) == 0:
        if not open_first_fields(path):
            raise EvalInputError(
                f"{path}: no `user item [weight] timestamp` rows (whitespace, tab, comma or"
                " '::' separated)"
            )
        why = rule if has_third else "every row of a 3-column file is a positive"
        raise EvalInputError(f"{path}: no row is a positive ({why})")
    return data


def run_eval(
    *,
    dataset: Path | None,
    data_dir: Path | None,
    k: int = 20,
    min_rating: float | None = None,
    signals: SignalWeights | None = None,
) -> EvalReport:
    """Evaluate on an interactions file (``load_dataset``: weights, or ratings filtered by
    ``min_rating`` when given), or on a server data dir's log read exactly as a fit reads it
    (``server/feed_data.load_log``) with positives by the configured signal rules."""
    if dataset is not None:
        return _checked(evaluate(load_dataset(dataset, min_rating), k=k, dataset=str(dataset)))
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
    return _checked(evaluate(data, k=k, dataset=str(db_path)))


def _checked(report: EvalReport) -> EvalReport:
    """The report, unless no user had enough positives to hold some out (a table of zeros)."""
    if report.n_eval_users == 0:
        raise EvalInputError(
            f"{report.dataset}: no user has enough positives to hold out a test set (a user"
            f" needs 5; {report.n_users} users, {report.n_train} positives)"
        )
    return report
