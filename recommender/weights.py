"""The two weight sets, declared once: implicit feedback per signal and a user's feed blend.

Plain dataclasses without numpy, so ``server/config.py`` can build its ``[feed.signals]``
and ``[feed.weights]`` tables (and the API its weights schema) from these fields cheaply.
Each field's docstring is its documentation in config.toml and the API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class SignalWeights:
    """Implicit-feedback weight of each interaction (config.toml ``[feed.signals]``)."""

    completion: float = 1.0
    """A view adds completion x the watched fraction (capped at 1)."""
    rewatch: float = 0.5
    """Extra weight per additional full watch beyond the first."""
    max_rewatches: float = 2.0
    """Rewatch credit is capped at this many extra watches."""
    skip: float = -0.5
    """A view shorter than skip_seconds (a swipe away) adds this."""
    skip_seconds: float = 2.0
    """Watch time below which a view counts as a skip, in seconds."""
    like: float = 2.0
    """Weight of a like (an unlike subtracts it again)."""
    comment: float = 1.5
    """Weight of each comment."""
    share: float = 3.0
    """Weight of a share."""
    follow: float = 3.0
    """Following the creator from this video."""
    not_interested: float = -5.0
    """An explicit "not interested" (also sinks similar videos)."""
    positive_threshold: float = 0.5
    """A user-video total above this counts as a positive."""
    max_weight: float = 8.0
    """Per user-video totals are clipped to this."""

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BlendWeights:
    """A user's feed mix (GET/PUT /api/feed/weights); each source is scaled to [0, 1] first."""

    content: float = 1.0
    """Weight of content similarity (captions, hashtags, visual features)."""
    collaborative: float = 1.0
    """Weight of collaborative filtering (people who liked this also liked)."""
    following: float = 0.8
    """Weight of videos from creators you follow."""
    trending: float = 0.3
    """Weight of time-decayed engagement."""
    freshness: float = 0.2
    """Weight of how recently a video was posted."""
    explore: float = 0.15
    """Share of each page given to under-exposed videos (0..1)."""

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> BlendWeights:
        known = {k: max(0.0, float(v)) for k, v in data.items() if k in SOURCES}
        return cls(**known)

    def blend_items(self) -> dict[str, float]:
        """Weights of the sources mixed into the score (explore works through page slots)."""
        return {name: max(0.0, float(getattr(self, name))) for name in SOURCES if name != "explore"}


#: The feed's score sources, in API order (one per BlendWeights field).
SOURCES = tuple(f.name for f in fields(BlendWeights))
