"""The feed engine: turns the recommender library's output into feed items for the controllers."""

from __future__ import annotations

from dataclasses import dataclass, field

from shortstack.config import Config, FeedWeights

from .store import feeds as store
from .store.db import Database
from .store.users import User


@dataclass(slots=True)
class Reason:
    kind: str
    weight: float
    text: str


@dataclass(slots=True)
class FeedItem:
    video_id: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    explanation: str = ""


class FeedEngine:
    """Ranks feeds. Holds the fitted model; refits in the background."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def notify_event(self) -> None:
        return None

    async def trending(self, *, k: int, exclude: set[str]) -> list[FeedItem]:
        rows = await store.trending_ids(
            self.db, half_life_h=self.config.feed.trending_half_life_h, limit=k, exclude=exclude
        )
        return [
            FeedItem(
                vid, score, [Reason("trending", 1.0, "popular right now")], "Popular right now"
            )
            for vid, score in rows
        ]

    async def for_you(
        self, viewer: User | None, weights: FeedWeights, *, k: int, exclude: set[str]
    ) -> list[FeedItem]:
        return await self.trending(k=k, exclude=exclude)

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
