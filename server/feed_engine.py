"""The feed engine: loads the database into the recommender, refits in the background, ranks feeds."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import pickle
import time
import zlib
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shortstack.recommender.data import Reason, UserState
from shortstack.recommender.model import Recommender
from shortstack.recommender.signals import (
    LEARNING_KINDS,
    RECENT_EVENTS,
    kind_weights,
    user_state_from_events,
)

from .config import Config, FeedWeights
from .feed_data import catalogue_from_rows, events_from_rows, load_log
from .storage import LocalStorage
from .store import catalogue as store
from .store import feeds as feeds_store
from .store import trending as trending_store
from .store.db import Database, connect_sync
from .store.feeds import ViewerReads
from .store.users import User

log = logging.getLogger("shortstack.feed")
MIN_REFIT_INTERVAL_S = 10.0
#: Up to this many videos, trending ranks on the event loop: a few array passes over the
#: catalogue take less than the hop to a worker thread and back (issue 20).
INLINE_TRENDING_ITEMS = 20_000
#: The first page of trending (ids, scores, reasons) is reused this long for the same fitted
#: model: its order changes only with a refit. The videos themselves are read (and checked
#: against the visibility policy) on every request.
TRENDING_MEMO_S = 1.0
SYNC_FIT_MAX_VIDEOS = 5000
#: Served For You items reach the event log this long after they were served, many pages in
#: one transaction (``ImpressionLog``).
IMPRESSION_FLUSH_S = 0.5


class ImpressionLog:
    """Served For You items, written to the event log off the request path.

    A request only appends its rows; one task writes whatever piled up meanwhile, in one
    transaction, ``IMPRESSION_FLUSH_S`` after the first. A page used to wait for its own
    commit (three writer-thread hops), and every page's commit made the read caches keyed
    on ``Database.data_version`` (video records, anonymous pages) read again."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: list[tuple[float, int | None, str]] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one batch at a time: flush() waits for one in flight

    def add(self, user_id: int | None, video_ids: list[str]) -> None:
        if not video_ids:
            return
        ts = time.time()
        self._rows.extend((ts, user_id, vid) for vid in video_ids)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._later(), name="impressions")

    async def _later(self) -> None:
        while self._rows:  # rows added while a batch was being written go in the next one
            await asyncio.sleep(IMPRESSION_FLUSH_S)
            await asyncio.shield(self.flush())  # a batch being written is finished, not lost

    async def flush(self) -> None:
        """Write every row added so far, now (a reader that must see them; shutdown)."""
        async with self._lock:
            rows, self._rows = self._rows, []
            try:
                await feeds_store.log_impressions(self.db, rows)
            except Exception:  # exposure statistics: a lost batch must not break feeds
                log.exception("could not log %d feed impressions", len(rows))

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


@dataclass(slots=True)
class FeedItem:
    video_id: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    explanation: str = ""


@dataclass(slots=True)
class Snapshot:
    """One fitted model with its id maps; swapped as a whole, never mutated after publishing."""

    model: Recommender
    item_ids: list[str]
    item_index: dict[str, int]
    user_index: dict[int, int]
    creator_index: dict[int, int]
    fitted_at: float
    last_event_id: int
    catalogue_version: tuple[int, float]
    #: the fit's name: when it was made and the last event it learned from
    model_version: str = ""
    #: "server" (fitted by this process) or "artifact" (loaded from ``shortstack refit``'s)
    source: str = "server"


def fit_snapshot(db_path: Path | str, config: Config) -> Snapshot:
    """Fit the recommender on the whole database (a worker thread, or ``shortstack refit``)."""
    started = time.perf_counter()
    data = load_log(db_path)
    now = time.time()
    model = Recommender(
        config.feed.signals.as_dataclass(),
        trending_half_life_h=config.feed.trending_half_life_h,
    ).fit(data.catalogue, data.events, len(data.user_index), now)
    log.info(
        "recommender fitted on %d videos, %d events, %d users in %.2f s",
        data.catalogue.n_items,
        len(data.events),
        len(data.user_index),
        time.perf_counter() - started,
    )
    version = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"-{data.last_event_id}"
    return Snapshot(
        model,
        data.catalogue.item_ids,
        data.item_index,
        data.user_index,
        data.creator_index,
        now,
        data.last_event_id,
        data.version,
        version,
    )


def dump_snapshot(snap: Snapshot) -> bytes:
    """A fitted snapshot as a model artifact (pickle: artifacts are written by the operator's
    own ``shortstack refit`` into the server's private storage, never uploaded by users)."""
    return zlib.compress(pickle.dumps(snap, protocol=pickle.HIGHEST_PROTOCOL), 1)


def load_snapshot(data: bytes) -> Snapshot:
    snap = pickle.loads(zlib.decompress(data))  # noqa: S301 - our own artifact, see dump
    if not isinstance(snap, Snapshot):
        raise ValueError("not a Shortstack model artifact")
    snap.source = "artifact"
    return snap


class FeedEngine:
    """Ranks feeds with the recommender; refits in a thread and swaps the model atomically."""

    def __init__(self, db: Database, config: Config, storage: LocalStorage | None = None) -> None:
        self.db = db
        self.config = config
        #: "external": fits come from ``shortstack refit``'s artifacts in ``storage``
        self.storage = storage if config.feed.refit == "external" else None
        self._last_model_check = 0.0
        self._bad_model: str | None = None
        self.snapshot: Snapshot | None = None
        #: the first page of trending (nothing excluded) of the current snapshot, briefly
        self._trending_memo: tuple[Snapshot, int, float, tuple[FeedItem, ...]] | None = None
        self._task: asyncio.Task | None = None
        self._refit_lock = asyncio.Lock()
        self._last_fit_monotonic = 0.0
        self._last_fit_s = 0.0
        self.fits = 0
        self._background: set[asyncio.Task] = set()
        self.impressions = ImpressionLog(db)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Fit before serving when the catalogue is small; else serve SQL trending until fitted.
        With external fits: load the current artifact (SQL trending until there is one)."""
        if self.storage is not None:
            await self.load_current_model()
        else:
            (count, _), _ = await asyncio.to_thread(self._versions)
            if count <= SYNC_FIT_MAX_VIDEOS:
                await self.refit()
        self._task = asyncio.create_task(self._watch(), name="feed-refit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.impressions.close()

    def refit_soon(self) -> None:
        """Refit in the background now (an account was deleted: the model forgets it; with
        external fits, at the next ``shortstack refit``)."""
        if self.storage is not None:
            return

        async def run() -> None:
            try:
                await self.refit()
            except Exception:
                log.exception("refit after an account deletion failed; the next one retries")

        task = asyncio.create_task(run(), name="feed-refit-now")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def video_ready(self, video_id: str) -> None:
        """A transcode finished: the video joins the feeds' catalogue before `video.ready` goes out."""
        if self.snapshot is None or video_id in self.snapshot.item_index:
            return
        await self.refresh_catalogue()

    async def _watch(self) -> None:
        feed = self.config.feed
        pause = feed.poll_s if self.storage is None else min(feed.poll_s, feed.model_poll_s)
        while True:
            await asyncio.sleep(pause)
            try:
                await self._maybe_refresh()
            except Exception:
                log.exception("feed refresh failed; serving the previous model")

    def model_published(self, version: str) -> None:
        """``shortstack refit`` announced a new artifact (through the cache): load it now."""
        if self.storage is None:
            return
        task = asyncio.create_task(self.load_current_model(), name="feed-model-load")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def load_current_model(self) -> bool:
        """Swap to the current artifact if it is newer than the served model (read and
        unpickled in a thread: requests go on with the old one meanwhile); whether it did."""
        assert self.storage is not None
        storage = self.storage
        self._last_model_check = time.monotonic()
        version = await asyncio.to_thread(storage.current_model)  # a bucket: a GET
        snap = self.snapshot
        if version is None or version == self._bad_model:
            return False
        if snap is not None and snap.model_version == version:
            return False
        async with self._refit_lock:
            try:
                loaded = await asyncio.to_thread(lambda: load_snapshot(storage.read_model(version)))
            except Exception as exc:  # noqa: BLE001 - a bad artifact never stops serving
                log.warning("model artifact %s cannot be loaded: %s", version, exc)
                self._bad_model = version  # not tried again; the next refit replaces it
                return False
            self.snapshot = await asyncio.to_thread(self._with_catalogue, loaded)
            self.fits += 1
        log.info("serving model %s (fitted by shortstack refit)", version)
        return True

    async def _maybe_refresh(self) -> None:
        snap = self.snapshot
        if self.storage is not None:  # external fits: new artifacts, else new videos
            poll_due = time.monotonic() - self._last_model_check >= self.config.feed.model_poll_s
            if poll_due and await self.load_current_model():
                return
            if snap is not None:
                version, _ = await asyncio.to_thread(self._versions, snap.last_event_id)
                if version != snap.catalogue_version:
                    await self.refresh_catalogue()
            return
        if snap is None:
            await self.refit()
            return
        version, new_events = await asyncio.to_thread(self._versions, snap.last_event_id)
        # small catalogues refit often (trending then follows new likes within seconds);
        # a refit never takes more than ~5 % of the time: interval >= 20 x the last fit
        interval = min(
            self.config.feed.refit_interval_s, max(MIN_REFIT_INTERVAL_S, 20 * self._last_fit_s)
        )
        due = time.monotonic() - self._last_fit_monotonic >= interval
        if new_events >= self.config.feed.refit_every_events or (due and new_events > 0):
            await self.refit()
        elif version != snap.catalogue_version:
            await self.refresh_catalogue()

    def _versions(self, since_event_id: int = 0) -> tuple[tuple[int, float], int]:
        """(catalogue version, learning events since since_event_id)."""
        conn = connect_sync(self.db.path)
        try:
            return store.catalogue_version(conn), store.count_events(
                conn, since_event_id, LEARNING_KINDS
            )
        finally:
            conn.close()

    # ------------------------------------------------------------------ fitting
    async def refit(self) -> None:
        async with self._refit_lock:
            started = time.perf_counter()
            snap = await asyncio.to_thread(self._fit)
            self._last_fit_s = time.perf_counter() - started
            self.snapshot = snap
            self._last_fit_monotonic = time.monotonic()
            self.fits += 1

    def _fit(self) -> Snapshot:
        return fit_snapshot(self.db.path, self.config)

    async def refresh_catalogue(self) -> None:
        """New or deleted videos reach the feed without a refit (content + exploration only)."""
        async with self._refit_lock:
            snap = self.snapshot
            if snap is None:
                return
            self.snapshot = await asyncio.to_thread(self._with_catalogue, snap)

    def _with_catalogue(self, snap: Snapshot) -> Snapshot:
        conn = connect_sync(self.db.path)
        try:
            version = store.catalogue_version(conn)
            rows = store.load_catalogue_rows(conn)
        finally:
            conn.close()
        creator_index = dict(snap.creator_index)
        catalogue = catalogue_from_rows(rows, creator_index)
        model = copy.copy(snap.model).update_catalogue(catalogue)  # the served model stays intact
        return Snapshot(
            model,
            catalogue.item_ids,
            {vid: i for i, vid in enumerate(catalogue.item_ids)},
            snap.user_index,
            creator_index,
            snap.fitted_at,
            snap.last_event_id,
            version,
            snap.model_version,
            snap.source,
        )

    # ------------------------------------------------------------------ serving
    def _items(self, snap: Snapshot, recs: list) -> list[FeedItem]:
        return [
            FeedItem(
                snap.item_ids[r.item],
                float(r.score),
                r.reasons,
                r.explanation,
            )
            for r in recs
        ]

    def _author_items(self, snap: Snapshot, author_ids: Set[int]) -> set[int]:
        """Catalogue indices of the videos by these accounts."""
        creators = [snap.creator_index[a] for a in author_ids if a in snap.creator_index]
        if not creators:
            return set()
        found = np.isin(snap.model.catalogue_.creators, creators)
        return {int(i) for i in np.flatnonzero(found) if i < len(snap.item_ids)}

    async def viewer_reads(self, viewer: User) -> ViewerReads:
        """What a For You page reads about its viewer, in one thread hop."""
        return await feeds_store.viewer_reads(
            self.db, viewer.id, LEARNING_KINDS, limit=RECENT_EVENTS
        )

    async def user_state(
        self,
        snap: Snapshot,
        viewer: User | None,
        exclude: set[str],
        hidden_authors: Set[int] = frozenset(),
        reads: ViewerReads | None = None,
    ) -> UserState:
        """The viewer's UserState for one request (``_user_state``), reading what it needs
        unless the caller already has ``reads``."""
        if viewer is not None and reads is None:
            reads = await self.viewer_reads(viewer)
        return self._user_state(snap, viewer, exclude, hidden_authors, reads)

    def _user_state(
        self,
        snap: Snapshot,
        viewer: User | None,
        exclude: set[str],
        hidden_authors: Set[int],
        reads: ViewerReads | None,
    ) -> UserState:
        """The viewer's recent events through the same signal rules as fitting
        (``user_state_from_events``), plus their standing not-interested marks and follows;
        ``exclude`` (served in this chain) and the videos of ``hidden_authors`` (blocked or
        muted: never ranked) are seen. CPU work: callers run it off the event loop."""
        idx = snap.item_index
        seen = {idx[v] for v in exclude if v in idx} | self._author_items(snap, hidden_authors)
        if viewer is None or reads is None:
            return UserState(seen=seen)
        events = events_from_rows(((viewer.id, *r) for r in reads.events), idx, {viewer.id: 0})
        return user_state_from_events(
            events,
            0,
            snap.model.catalogue_.duration_s,
            self.config.feed.signals.as_dataclass(),
            followed_creators={
                snap.creator_index[u] for u in reads.follows if u in snap.creator_index
            },
            negatives={idx[v] for v in reads.not_interested if v in idx},
            seen=seen,
        )

    async def for_you(
        self,
        viewer: User | None,
        weights: FeedWeights,
        *,
        k: int,
        exclude: set[str],
        hidden_authors: Set[int] = frozenset(),
        reads: ViewerReads | None = None,
    ) -> list[FeedItem]:
        """The viewer's ranked page; ``reads`` (``viewer_reads``) saves the request a hop."""
        snap = self.snapshot
        if snap is None:
            return await self._sql_trending(k=k, exclude=exclude, hidden_authors=hidden_authors)
        if viewer is not None and reads is None:
            reads = await self.viewer_reads(viewer)
        user = snap.user_index.get(viewer.id) if viewer else None
        seed = zlib.crc32(",".join(sorted(exclude)).encode()) if exclude else 0
        blend = weights.as_dataclass()

        def rank() -> list:  # the state and the ranking in one hop off the event loop
            state = self._user_state(snap, viewer, exclude, hidden_authors, reads)
            return snap.model.recommend(user, state, k=k, weights=blend, now=time.time(), seed=seed)

        items = self._items(snap, await asyncio.to_thread(rank))
        self.impressions.add(viewer.id if viewer else None, [i.video_id for i in items])
        return items

    async def trending(
        self, *, k: int, exclude: set[str], hidden_authors: Set[int] = frozenset()
    ) -> list[FeedItem]:
        snap = self.snapshot
        if snap is None:
            return await self._sql_trending(k=k, exclude=exclude, hidden_authors=hidden_authors)
        first_page = not exclude and not hidden_authors
        memo = self._trending_memo
        if first_page and memo is not None:
            memo_snap, memo_k, memo_at, memo_items = memo
            if memo_snap is snap and memo_k == k and time.monotonic() - memo_at < TRENDING_MEMO_S:
                return list(memo_items)
        items = await self._model_trending(
            snap, k=k, exclude=exclude, hidden_authors=hidden_authors
        )
        if first_page:
            self._trending_memo = (snap, k, time.monotonic(), tuple(items))
        return items

    async def _model_trending(
        self, snap: Snapshot, *, k: int, exclude: set[str], hidden_authors: Set[int]
    ) -> list[FeedItem]:
        ex = {snap.item_index[v] for v in exclude if v in snap.item_index}
        ex |= self._author_items(snap, hidden_authors)
        if snap.model.catalogue_.n_items <= INLINE_TRENDING_ITEMS:  # cheaper than a thread hop
            recs = snap.model.trending(k=k, now=time.time(), exclude=ex)
        else:
            recs = await asyncio.to_thread(snap.model.trending, k=k, now=time.time(), exclude=ex)
        return self._items(snap, recs)

    async def _sql_trending(
        self, *, k: int, exclude: set[str], hidden_authors: Set[int] = frozenset()
    ) -> list[FeedItem]:
        signals = self.config.feed.signals.as_dataclass()
        rows = await trending_store.trending_ids(
            self.db,
            kind_weight={"view": signals.completion, **kind_weights(signals)},
            half_life_h=self.config.feed.trending_half_life_h,
            limit=k,
            exclude=exclude,
            hidden_authors=hidden_authors,
        )
        return [
            FeedItem(
                vid, score, [Reason("trending", 1.0, "popular right now")], "Popular right now"
            )
            for vid, score in rows
        ]

    async def explain_following(self, video_ids: list[str]) -> list[FeedItem]:
        return [
            FeedItem(
                vid,
                1.0,
                [Reason("following", 1.0, "from someone you follow")],
                "From someone you follow",
            )
            for vid in video_ids
        ]
