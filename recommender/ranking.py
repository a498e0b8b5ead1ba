"""Blend per-source scores with a user's weights and sink items near not-interested ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .candidates import SOURCES, SourceScores


@dataclass(frozen=True)
class BlendWeights:
    """A user's feed mix (GET/PUT /api/feed/weights); each source is scaled to [0, 1] first."""

    content: float = 1.0  # similar captions/hashtags/visuals to what the user engaged with
    collaborative: float = 1.0  # "people who liked X also liked Y" (item factors / EASE)
    following: float = 0.8  # videos of creators the user follows
    trending: float = 0.3  # time-decayed engagement across all users
    freshness: float = 0.2  # recently uploaded videos
    explore: float = 0.15  # share of each page given to under-exposed videos (0..1)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> BlendWeights:
        known = {k: max(0.0, float(v)) for k, v in data.items() if k in SOURCES}
        return cls(**known)

    def blend_items(self) -> dict[str, float]:
        """Weights of the sources mixed into the score (explore works through page slots)."""
        return {name: max(0.0, float(getattr(self, name))) for name in SOURCES if name != "explore"}


def source_scales(
    candidates: np.ndarray, sources: SourceScores, *, trending_max: float
) -> dict[str, float]:
    """Per-source divisor that maps this request's candidate scores to [0, 1].

    Content and collaborative use the best candidate (scores are relative to the user);
    trending uses the catalogue-wide maximum on a log scale, so a page of niche items
    does not look 'trending' just because it is the best of the pool; following and
    freshness are already in [0, 1].
    """
    scales = {
        "following": 1.0,
        "freshness": 1.0,
        "trending": float(np.log1p(max(trending_max, 0.0))),
    }
    for name in ("content", "collaborative"):
        raw = sources.at(name, candidates) if len(candidates) else np.zeros(0)
        scales[name] = float(raw.max()) if len(raw) and raw.max() > 0 else 0.0
    return scales


def blend(
    items: np.ndarray,
    sources: SourceScores,
    weights: BlendWeights,
    scales: dict[str, float],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Blended score of each item and each source's weighted contribution to it."""
    parts: dict[str, np.ndarray] = {}
    total = np.zeros(len(items))
    for name, w in weights.blend_items().items():
        if w == 0:
            parts[name] = np.zeros(len(items))
            continue
        raw = np.clip(np.nan_to_num(sources.at(name, items).astype(np.float64)), 0.0, None)
        if name == "trending":
            raw = np.log1p(raw)
        scale = scales.get(name, 0.0)
        norm = np.clip(raw / scale, 0.0, 1.0) if scale > 0 else np.zeros(len(items))
        parts[name] = w * norm
        total += parts[name]
    return total, parts


def negative_penalty(
    sim_to_negatives: np.ndarray, weights: BlendWeights, strength: float
) -> np.ndarray:
    """Score to subtract for similarity (max over not-interested items) to rejected items."""
    scale = sum(weights.blend_items().values()) or 1.0
    return strength * scale * np.clip(sim_to_negatives, 0.0, 1.0)
