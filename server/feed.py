"""Feeds: For You, Following, Trending, and each user's blend weights."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from litestar import Controller, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody
from litestar.stores.base import Store

from shortstack.recommender.data import Reason

from .config import Config, FeedWeights
from .feed_engine import FeedEngine, FeedItem
from .pagination import Cursor, Limit, decode_cursor, encode_cursor, keyset_cursor
from .schemas import Page, VideoOut, video_out
from .store import feeds as store
from .store import videos as videos_store
from .store.db import Database, ReadCache
from .store.users import User
from .visibility import Relations, author_filter, listed, relations

#: Largest weight a user may set; explore is a share of the page, so at most 1.
MAX_WEIGHT = {"explore": 1.0}

#: PUT /api/feed/weights body: any subset of FeedWeights' fields, each bounded.
WeightsIn = msgspec.defstruct(
    "WeightsIn",
    [
        (
            f.name,
            Annotated[float, msgspec.Meta(ge=0.0, le=MAX_WEIGHT.get(f.name, 10.0))] | None,
            None,
        )
        for f in msgspec.structs.fields(FeedWeights)
    ],
    forbid_unknown_fields=True,
    module=__name__,
)


class ModelOut(msgspec.Struct):
    version: str | None
    """When the model was fitted and the last event it learned from; null before the first."""
    source: str
    """"server" (fitted by this process), "artifact" (loaded from `shortstack refit`), "none"."""
    fitted_at: float | None
    videos: int
    """Videos in the served catalogue (new ones join between fits)."""


class FeedItemOut(msgspec.Struct):
    video: VideoOut
    score: float
    reasons: list[Reason]
    explanation: str


async def user_weights(
    db: NamedDependency[Database],
    config: NamedDependency[Config],
    user: NamedDependency[User] | None,
) -> FeedWeights:
    return merged_weights(config, await store.get_weights(db, user.id) if user else None)


def merged_weights(config: Config, stored: dict[str, float] | None) -> FeedWeights:
    """The configured blend weights with what the user stored over them."""
    defaults = config.feed.weights
    if not stored:
        return defaults
    return msgspec.structs.replace(
        defaults, **{k: v for k, v in stored.items() if hasattr(defaults, k)}
    )


#: how often one page asks the ranking again for the videos the viewer may not see
REFILL_ROUNDS = 3


class FeedChains:
    """What each For You / Trending cursor chain has served, in a bounded store with a TTL.

    Chain ids are issued by the server (random, signed with a key that lives as long as the
    process, or, with `[cache] url`, one key every process shares): a cursor naming a chain
    the server never issued is a 400, so a client cannot make the server keep entries under
    keys of its choosing."""

    def __init__(self, store: Store, ttl_s: float, key: bytes | None = None) -> None:
        self.store = store
        self.ttl = max(1, int(ttl_s))
        self._key = key or secrets.token_bytes(32)
        #: anonymous pages as served, by ranked items, while nothing was committed (see
        #: ``listed_page``)
        self.anonymous_pages: ReadCache[list[FeedItemOut]] = ReadCache(64)

    def use_key(self, key: bytes) -> None:
        """Sign with ``key`` from now on (the key every process shares)."""
        self._key = key

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()[:22]

    def new_id(self) -> str:
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._sign(nonce)}"

    def checked(self, chain_id: str) -> str:
        """The chain id if this server issued it; otherwise a 400."""
        nonce, _, mac = chain_id.partition(".")
        if len(nonce) != 16 or not hmac.compare_digest(mac, self._sign(nonce)):
            raise ValidationException(
                detail="the cursor is not valid (or is from before a server restart):"
                " use next_cursor from a previous page, or start again without a cursor"
            )
        return chain_id

    async def load(self, cursor: str | None) -> tuple[str, list[str]]:
        value = decode_cursor(cursor, str)
        if value is None:
            return self.new_id(), []
        chain_id = self.checked(value)
        raw = await self.store.get(chain_id)
        if raw is None:
            return chain_id, []  # expired chain: keep going without the memory
        return chain_id, msgspec.json.decode(raw, type=list[str])

    async def save(self, chain_id: str, served: list[str]) -> None:
        await self.store.set(chain_id, msgspec.json.encode(served[-2000:]), expires_in=self.ttl)

    async def page(
        self,
        cursor: str | None,
        rank: Callable[[set[str], frozenset[int]], Awaitable[list[FeedItem]]],
        db: Database,
        viewer: User | None,
        *,
        limit: int,
        endless: bool = True,
        rel: Relations | None = None,
    ) -> Page[FeedItemOut]:
        """One page of a ranked feed that never repeats a video within the cursor chain.

        ``rank(served, hidden_authors)`` ranks without the served videos and without the
        accounts the visibility policy hides from this viewer (blocks and mutes).

        A ranked video the viewer may no longer see (removed, its author suspended, since the
        engine last read the catalogue) is skipped and the ranking asked again without it, a
        few times at most, so the page is full whenever enough videos are left.

        An endless feed (For You) goes on while anything is left; otherwise the chain ends
        at the first short page. ``rel``: the viewer's relations, when the caller read them
        already."""
        chain_id, served = await self.load(cursor)
        if rel is None:
            rel = await relations(db, viewer)
        page: list[FeedItemOut] = []
        skipped: set[str] = set()
        for _ in range(REFILL_ROUNDS):
            shown = {p.video.id for p in page}
            items = await rank(set(served) | shown | skipped, rel.hidden)
            got = await self.listed_page(items, db, viewer, rel)
            page += got[: limit - len(page)]
            dropped = {i.video_id for i in items} - {g.video.id for g in got}
            if len(page) >= limit or not dropped or len(items) < limit:
                break
            skipped |= dropped
        served += [i.video.id for i in page]
        await self.save(chain_id, served)
        more = bool(page) if endless else len(page) >= limit
        return Page(items=page, next_cursor=encode_cursor(chain_id) if more else None)

    async def listed_page(
        self, items: list[FeedItem], db: Database, viewer: User | None, rel: Relations
    ) -> list[FeedItemOut]:
        """``_page``; for an anonymous viewer the same ranked items make the same page until
        anything is committed (``Database.data_version``: a removal, block or edit is a commit),
        so that page is kept and reused (Trending's first page, asked by every new visitor)."""
        if viewer is not None:
            return await _page(items, db, viewer, rel)
        version = db.data_version()  # before the read: a racing commit leaves it stale
        key = tuple(
            (
                i.video_id,
                i.score,
                i.explanation,
                tuple((r.kind, r.weight, r.text) for r in i.reasons),
            )
            for i in items
        )
        page = self.anonymous_pages.get(key, version)
        if page is None:
            page = await _page(items, db, None, rel)
            self.anonymous_pages.put(key, version, page)
        return list(page)


async def _page(
    items: list[FeedItem],
    db: NamedDependency[Database],
    viewer: NamedDependency[User | None],
    rel: Relations,
) -> list[FeedItemOut]:
    records = await videos_store.get_videos(
        db, [i.video_id for i in items], viewer.id if viewer else None
    )
    out = []
    for item in items:
        record = records.get(item.video_id)
        if record is None or not listed(record, viewer, rel):
            continue
        out.append(
            FeedItemOut(
                video=video_out(record),
                score=round(item.score, 4),
                reasons=[Reason(r.kind, round(r.weight, 4), r.text) for r in item.reasons],
                explanation=item.explanation,
            )
        )
    return out


def _feed_services(state: State) -> tuple[FeedEngine, FeedChains]:
    """The feed engine and the cursor chains, from the app's state rather than injected: the
    independent dependencies of one handler are resolved concurrently in an anyio task group
    (a task and a loop turn each), which cost the feed handlers more than their ranking."""
    return state.engine, state.chains


class FeedController(Controller):
    path = "/api/feed"
    tags = ["feeds"]

    @get(
        "/for-you", operation_id="feed_for_you", summary="Your ranked feed (works without a token)"
    )
    async def for_you(
        self,
        state: State,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[FeedItemOut]:
        engine, chains = _feed_services(state)
        # the viewer's weights, blocks, mutes, recent events and marks: one read
        reads = await engine.viewer_reads(viewer) if viewer is not None else None
        weights = merged_weights(state.config, reads.weights if reads else None)
        return await chains.page(
            cursor,
            lambda seen, hidden: engine.for_you(
                viewer,
                weights,
                k=limit,
                exclude=seen,
                hidden_authors=hidden,
                reads=reads,
            ),
            db,
            viewer,
            limit=limit,
            rel=Relations(frozenset(reads.blocked), frozenset(reads.muted)) if reads else None,
        )

    @get("/trending", operation_id="feed_trending", summary="Time-decayed engagement")
    async def trending(
        self,
        state: State,
        db: NamedDependency[Database],
        viewer: NamedDependency[User | None],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[FeedItemOut]:
        engine, chains = _feed_services(state)
        return await chains.page(
            cursor,
            lambda seen, hidden: engine.trending(k=limit, exclude=seen, hidden_authors=hidden),
            db,
            viewer,
            limit=limit,
            endless=False,
        )

    @get("/following", operation_id="feed_following", summary="Newest videos of people you follow")
    async def following(
        self,
        db: NamedDependency[Database],
        engine: NamedDependency[FeedEngine],
        user: NamedDependency[User],
        limit: Limit = 10,
        cursor: Cursor = None,
    ) -> Page[FeedItemOut]:
        before = keyset_cursor(cursor)
        rows = await store.following_ids(
            db,
            user.id,
            limit=limit + 1,
            before=before,
            author_filter=author_filter("v.author_id", user, threads=True),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = await engine.explain_following([vid for vid, _ in rows])
        page = await _page(items, db, user, await relations(db, user))
        nxt = encode_cursor([rows[-1][1], rows[-1][0]]) if more else None
        return Page(items=page, next_cursor=nxt)

    @get("/weights", operation_id="get_weights", summary="Your blend weights")
    async def get_weights(
        self,
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        user: NamedDependency[User],
    ) -> FeedWeights:
        return await user_weights(db, config, user)

    @put(
        "/weights", operation_id="put_weights", summary="Change your blend weights (partial update)"
    )
    async def put_weights(
        self,
        data: JSONBody[WeightsIn],
        db: NamedDependency[Database],
        config: NamedDependency[Config],
        user: NamedDependency[User],
    ) -> FeedWeights:
        current = await user_weights(db, config, user)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        updated = msgspec.structs.replace(current, **changes)
        await store.put_weights(db, user.id, msgspec.structs.asdict(updated))
        return updated

    @get(
        "/model",
        operation_id="feed_model",
        summary="The recommender model this process serves (its version and where it came from)",
    )
    async def model(self, engine: NamedDependency[FeedEngine]) -> ModelOut:
        snap = engine.snapshot
        if snap is None:  # not fitted yet: feeds are SQL trending meanwhile
            return ModelOut(None, "none", None, 0)
        return ModelOut(snap.model_version, snap.source, snap.fitted_at, len(snap.item_ids))
