"""Turn the raw interaction log into implicit-feedback weights and user/item matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .data import Events, UserState
from .weights import SignalWeights

#: What every event kind the server logs (and imports/evaluation use) means for the
#: recommender: the SignalWeights field giving its weight and that weight's sign. A
#: "view" is weighed by its watch fraction (completion, rewatch and skip). Kinds mapped to
#: None have no SignalWeights field: "implicit" carries its weight as its value, the
#: others carry no preference.
KIND_WEIGHTS: dict[str, tuple[str, float] | None] = {
    "view": ("completion", 1.0),  # value = watch fraction; may exceed 1 on rewatch
    "like": ("like", 1.0),
    "unlike": ("like", -1.0),
    "comment": ("comment", 1.0),
    "share": ("share", 1.0),
    "follow": ("follow", 1.0),  # item = the video that led to it, or -1
    "not_interested": ("not_interested", 1.0),
    "unfollow": None,  # about a creator, not a video: followed_creators carries it
    "impression": None,  # served in a feed page: counts exposure only
    "implicit": None,  # value is an already computed weight (imports, eval)
}

#: Every kind the recommender knows; any other kind is ignored.
EVENT_KINDS = tuple(KIND_WEIGHTS)

#: Kinds that only count exposure: they never make an item seen or refit the model.
EXPOSURE_KINDS = ("impression",)

#: Kinds that tell something about the user's taste (new ones are worth a refit).
LEARNING_KINDS = tuple(k for k in EVENT_KINDS if k not in EXPOSURE_KINDS)

#: A For You request builds its user state from the viewer's this many most recent
#: learning events (older history is in the fitted model; not-interested marks and
#: follows are read in full).
RECENT_EVENTS = 1000


def kind_weights(weights: SignalWeights) -> dict[str, float]:
    """Fixed weight of each kind weighed per event (every rule except view's watch fraction)."""
    out: dict[str, float] = {}
    for kind, rule in KIND_WEIGHTS.items():
        if rule is not None and kind != "view":
            name, sign = rule
            out[kind] = sign * getattr(weights, name)
    return out


def event_weights(events: Events, duration_s: np.ndarray, weights: SignalWeights) -> np.ndarray:
    """Implicit weight of every event (0 for kinds that carry no preference)."""
    n = len(events)
    w = np.zeros(n, dtype=np.float64)
    if n == 0:
        return w
    kind = events.kind
    value = np.nan_to_num(events.value, nan=0.0, posinf=0.0, neginf=0.0)
    view = kind == "view"
    if view.any():
        frac = np.clip(value[view], 0.0, None)
        items = events.item[view]
        known = (items >= 0) & (items < len(duration_s))
        dur = np.full(len(items), np.inf)
        dur[known] = duration_s[items[known]]
        dur = np.where(np.isfinite(dur) & (dur > 0), dur, np.inf)
        watched_s = frac * np.where(np.isfinite(dur), dur, 60.0)
        vw = weights.completion * np.minimum(frac, 1.0)
        vw += weights.rewatch * np.minimum(np.maximum(frac - 1.0, 0.0), weights.max_rewatches)
        vw = np.where(watched_s < weights.skip_seconds, weights.skip, vw)
        w[view] = vw
    for name, weight in kind_weights(weights).items():
        w[kind == name] = weight
    implicit = kind == "implicit"
    w[implicit] = value[implicit]
    return w


@dataclass
class Interactions:
    """Aggregated user x item feedback derived from the log."""

    positives: sp.csr_matrix  # (n_users, n_items) clipped positive weights
    last_ts: sp.csr_matrix  # same pattern as positives: time of the pair's latest event
    negatives: sp.csr_matrix  # (n_users, n_items) 1 where the user said not-interested
    viewed: sp.csr_matrix  # (n_users, n_items) 1 where the user watched (any event but impression)
    exposure: np.ndarray  # (n_items,) impressions (or views when no impressions are logged)
    engagement_ts: np.ndarray  # per engaged user-item pair, its latest positive event: trending
    engagement_item: np.ndarray  # item of each engaged pair
    engagement_weight: np.ndarray  # clipped positive total of each engaged pair


def _csr(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """CSR from row-major sorted, duplicate-free coordinates."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=shape[0]))
    return sp.csr_matrix((data, cols, indptr), shape=shape)


def aggregate(
    events: Events,
    n_users: int,
    n_items: int,
    duration_s: np.ndarray,
    weights: SignalWeights,
) -> Interactions:
    """Sum event weights per user-item pair into sparse positive / negative matrices.

    A pair is positive when its clipped total exceeds ``positive_threshold`` and the user
    never said not-interested to it. Engagement (trending) counts people, not calls: each
    user-item pair with a positive clipped total adds it once, dated by its latest positive
    event, so repeating a share or a view adds nothing beyond ``max_weight``.
    """
    ev_w = event_weights(events, duration_s, weights)
    valid = (
        (events.item >= 0) & (events.item < n_items) & (events.user >= 0) & (events.user < n_users)
    )
    u, i, w, kind = events.user[valid], events.item[valid], ev_w[valid], events.kind[valid]
    ts = events.ts[valid]
    shape = (n_users, n_items)
    key = u * np.int64(max(n_items, 1)) + i
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=w, minlength=len(uniq))
    last = np.full(len(uniq), -np.inf)
    np.maximum.at(last, inv, ts)
    said_no = np.bincount(inv, weights=(kind == "not_interested"), minlength=len(uniq)) > 0
    rows, cols = uniq // max(n_items, 1), uniq % max(n_items, 1)
    val = np.minimum(total, weights.max_weight)
    keep = (val > weights.positive_threshold) & ~said_no
    pos = _csr(rows[keep], cols[keep], val[keep].astype(np.float32), shape)
    pos_ts = _csr(rows[keep], cols[keep], last[keep], shape)
    neg = _csr(rows[said_no], cols[said_no], np.ones(int(said_no.sum()), dtype=np.float32), shape)
    impressions = np.isin(kind, EXPOSURE_KINDS)
    watched = np.bincount(inv, weights=~impressions, minlength=len(uniq)) > 0
    viewed = _csr(rows[watched], cols[watched], np.ones(int(watched.sum()), np.float32), shape)
    exposed = impressions if impressions.any() else kind == "view"
    exposure = np.bincount(i[exposed], minlength=n_items).astype(np.float64)
    positive_event = w > 0
    last_positive = np.full(len(uniq), -np.inf)
    np.maximum.at(last_positive, inv[positive_event], ts[positive_event])
    engaged = (val > 0) & ~said_no & np.isfinite(last_positive)
    return Interactions(
        positives=pos,
        last_ts=pos_ts,
        negatives=neg,
        viewed=viewed,
        exposure=exposure,
        engagement_ts=last_positive[engaged],
        engagement_item=cols[engaged].astype(np.int64),
        engagement_weight=val[engaged],
    )


def user_state_from_events(
    events: Events,
    user: int,
    duration_s: np.ndarray,
    weights: SignalWeights = SignalWeights(),
    *,
    followed_creators: set[int] | None = None,
    negatives: set[int] | None = None,
    seen: set[int] | None = None,
    max_positives: int | None = 200,
) -> UserState:
    """A user's UserState from their events: the one rule set of fitting, applied per user.

    Used by the server for every For You request (fed the viewer's recent events), by
    ``shortstack eval`` and by the benchmarks. Per item the event weights are summed
    (``event_weights``: views with skip and rewatch, likes, ...); a total above
    ``positive_threshold`` is a positive clipped to ``max_weight``, unless the user said
    not-interested to it (a not-interested event or ``negatives``). Every item with an
    event other than an exposure is seen. Positives come out oldest first (dict order),
    the ``max_positives`` most recent (None: all), which is the order ``recommend`` expects.
    """
    mine = events.subset(events.user == user) if len(events) else events
    w = event_weights(mine, duration_s, weights)
    totals: dict[int, float] = {}
    last_ts: dict[int, float] = {}
    said_no: set[int] = set(negatives or ())
    for item, kind, weight, ts in zip(
        mine.item.tolist(), mine.kind.tolist(), w.tolist(), mine.ts.tolist(), strict=True
    ):
        if item < 0 or kind in EXPOSURE_KINDS:
            continue
        if kind == "not_interested":
            said_no.add(item)
        totals[item] = totals.get(item, 0.0) + weight
        last_ts[item] = max(last_ts.get(item, -np.inf), ts)
    keep = [
        item
        for item, total in totals.items()
        if min(total, weights.max_weight) > weights.positive_threshold and item not in said_no
    ]
    # chronological order (oldest first): the ranker weights recent items more
    keep = sorted(keep, key=lambda it: (last_ts[it], it))
    if max_positives is not None:
        keep = keep[-max_positives:] if max_positives > 0 else []
    return UserState(
        positives={item: min(totals[item], weights.max_weight) for item in keep},
        negatives=said_no,
        followed_creators=set(followed_creators or ()),
        seen=set(seen or ()) | set(totals),
    )
