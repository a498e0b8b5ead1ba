"""The database as the recommender sees it: rows into Catalogue and Events, one way for all.

The fit, each For You request's user state, the lab's diet and `shortstack eval` read
logged rows through these functions, so an event means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shortstack.recommender.data import Catalogue, Events
from shortstack.recommender.signals import KIND_WEIGHTS

from .store import catalogue as store
from .store.db import connect_sync


def catalogue_from_rows(rows: list, creator_index: dict[int, int]) -> Catalogue:
    """The recommender's Catalogue of ready-video rows (new creators join creator_index)."""
    dims = {len(r["features"]) // 4 for r in rows if r["features"]}
    dim = max(dims) if dims else 0
    visual = None
    if dim:
        visual = np.zeros((len(rows), dim), dtype=np.float32)
        for i, r in enumerate(rows):
            if r["features"] and len(r["features"]) == dim * 4:
                visual[i] = np.frombuffer(r["features"], dtype=np.float32)
    for r in rows:
        creator_index.setdefault(r["author_id"], len(creator_index))
    names = [""] * len(creator_index)
    for r in rows:
        names[creator_index[r["author_id"]]] = r["handle"]
    return Catalogue(
        item_ids=[r["id"] for r in rows],
        captions=[r["caption"] for r in rows],
        hashtags=[r["tags"].split() if r["tags"] else [] for r in rows],
        creators=np.array([creator_index[r["author_id"]] for r in rows], dtype=np.int64),
        created_at=np.array([r["created_at"] for r in rows], dtype=np.float64),
        duration_s=np.array([r["duration_s"] for r in rows], dtype=np.float64),
        visual=visual,
        creator_names=names,
    )


def events_from_rows(
    rows: Iterable[Sequence], item_index: dict[str, int], user_index: dict[int, int]
) -> Events:
    """The recommender's Events of (user_id, video_id, kind, value, ts) rows, oldest first.

    The one conversion of logged rows, shared by the fit, each For You request's user
    state and ``shortstack eval``: a view's value is its watch fraction, other kinds count
    1; rows about videos not in the catalogue are dropped (a follow of no video is kept
    for the user index); users join ``user_index`` in order of appearance.
    """
    users, items, kinds, values, stamps = [], [], [], [], []
    for user_id, video_id, kind, value, ts in rows:
        if kind not in KIND_WEIGHTS:
            continue
        item = item_index.get(video_id, -1) if video_id else -1
        if item < 0 and (video_id or KIND_WEIGHTS[kind] is None):
            continue
        users.append(user_index.setdefault(user_id, len(user_index)))
        items.append(item)
        kinds.append(kind)
        values.append(value if kind == "view" else 1.0)
        stamps.append(ts)
    if not users:
        return Events.empty()
    return Events(
        np.array(users, dtype=np.int64),
        np.array(items, dtype=np.int64),
        np.array(kinds, dtype=str),
        np.array(values, dtype=np.float64),
        np.array(stamps, dtype=np.float64),
    )


@dataclass(slots=True)
class Log:
    """The database as the recommender sees it: catalogue, events and their id maps."""

    catalogue: Catalogue
    events: Events
    item_index: dict[str, int]
    user_index: dict[int, int]
    creator_index: dict[int, int]
    version: tuple[int, float]
    last_event_id: int


def load_log(db_path: Path) -> Log:
    """Everything a fit learns from, read in one go (sync: the fit's worker thread, or
    ``shortstack eval``)."""
    conn = connect_sync(db_path)
    try:
        version = store.catalogue_version(conn)
        rows = store.load_catalogue_rows(conn)
        events = store.load_event_rows(conn)
    finally:
        conn.close()
    creator_index: dict[int, int] = {}
    catalogue = catalogue_from_rows(rows, creator_index)
    item_index = {vid: i for i, vid in enumerate(catalogue.item_ids)}
    user_index: dict[int, int] = {}
    log_events = events_from_rows(
        ((e["user_id"], e["video_id"], e["kind"], e["value"], e["ts"]) for e in events),
        item_index,
        user_index,
    )
    last_event_id = events[-1]["id"] if events else 0
    return Log(catalogue, log_events, item_index, user_index, creator_index, version, last_event_id)
