"""Turn the raw interaction log into implicit-feedback weights and user/item matrices."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from .data import Events, UserState


@dataclass(frozen=True)
class SignalWeights:
    """Implicit-feedback weight of each interaction (exposed in config.toml as-is)."""

    completion: float = 1.0  # a view adds completion * watched fraction (capped at 1)
    rewatch: float = 0.5  # extra weight per additional full watch beyond the first
    max_rewatches: float = 2.0  # rewatch credit is capped at this many extra watches
    skip: float = -0.5  # a view shorter than skip_seconds (a swipe away) adds this
    skip_seconds: float = 2.0  # watch time below which a view counts as a skip
    like: float = 2.0  # weight of a like (an unlike subtracts it again)
    comment: float = 1.5  # weight of each comment
    share: float = 3.0  # weight of a share
    follow: float = 3.0  # following the creator from this video
    not_interested: float = -5.0  # an explicit "not interested" (also sinks neighbours)
    positive_threshold: float = 0.5  # a user-item total above this is a positive
    max_weight: float = 8.0  # per user-item totals are clipped to this

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


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
    for name, weight in (
        ("like", weights.like),
        ("unlike", -weights.like),
        ("comment", weights.comment),
        ("share", weights.share),
        ("follow", weights.follow),
        ("not_interested", weights.not_interested),
    ):
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
    engagement_ts: np.ndarray  # timestamps of positive events, for trending
    engagement_item: np.ndarray  # item of each positive event
    engagement_weight: np.ndarray  # weight of each positive event


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
    never said not-interested to it.
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
    impressions = kind == "impression"
    watched = np.bincount(inv, weights=~impressions, minlength=len(uniq)) > 0
    viewed = _csr(rows[watched], cols[watched], np.ones(int(watched.sum()), np.float32), shape)
    exposed = impressions if impressions.any() else kind == "view"
    exposure = np.bincount(i[exposed], minlength=n_items).astype(np.float64)
    positive_event = w > 0
    return Interactions(
        positives=pos,
        last_ts=pos_ts,
        negatives=neg,
        viewed=viewed,
        exposure=exposure,
        engagement_ts=ts[positive_event],
        engagement_item=i[positive_event],
        engagement_weight=w[positive_event],
    )


def user_state_from_events(
    events: Events,
    user: int,
    duration_s: np.ndarray,
    weights: SignalWeights = SignalWeights(),
    *,
    followed_creators: set[int] | None = None,
    seen: set[int] | None = None,
    max_positives: int = 200,
) -> UserState:
    """Build a UserState from one user's recent events (the server's per-request helper).

    The server may also fill UserState itself; this applies the same SignalWeights rules
    as fitting so a like or a completed watch counts identically in both paths. Positives
    come out oldest first (dict order), which is the order ``recommend`` expects.
    """
    mine = events.subset(events.user == user) if len(events) else events
    w = event_weights(mine, duration_s, weights)
    totals: dict[int, float] = {}
    last_ts: dict[int, float] = {}
    negatives: set[int] = set()
    for item, kind, weight, ts in zip(
        mine.item.tolist(), mine.kind.tolist(), w.tolist(), mine.ts.tolist(), strict=True
    ):
        if item < 0:
            continue
        if kind == "not_interested":
            negatives.add(item)
        totals[item] = totals.get(item, 0.0) + weight
        last_ts[item] = max(last_ts.get(item, -np.inf), ts)
    keep = [
        item
        for item, total in totals.items()
        if total > weights.positive_threshold and item not in negatives
    ]
    # chronological order (oldest first): the ranker weights recent items more
    keep = sorted(keep, key=lambda it: (last_ts[it], it))[-max_positives:] if max_positives else []
    positives = {item: min(totals[item], weights.max_weight) for item in keep}
    return UserState(
        positives=positives,
        negatives=negatives,
        followed_creators=set(followed_creators or ()),
        seen=set(seen or ()) | set(totals),
    )
