"""Blend per-source scores with a user's weights and sink items near not-interested ones."""

from __future__ import annotations

import numpy as np

from .candidates import SourceScores
from .weights import BlendWeights


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
    blend_weights = weights.blend_items()
    fresh = (
        sources.freshness(items)
        if blend_weights.get("freshness", 0) or blend_weights.get("following", 0)
        else None
    )
    for name, w in blend_weights.items():
        scale = scales.get(name, 0.0)
        if w == 0 or scale <= 0:
            parts[name] = np.zeros(len(items))
            continue
        # NaN and negative scores count 0, +inf the largest finite score (nan_to_num, clip)
        raw = np.minimum(np.fmax(sources.at(name, items, fresh).astype(np.float64), 0.0), _MAX)
        if name == "trending":
            raw = np.log1p(raw)
        parts[name] = w * np.minimum(raw / scale, 1.0)
        total += parts[name]
    return total, parts


_MAX = np.finfo(np.float64).max


def negative_penalty(
    sim_to_negatives: np.ndarray, weights: BlendWeights, strength: float
) -> np.ndarray:
    """Score to subtract for similarity (max over not-interested items) to rejected items."""
    scale = sum(weights.blend_items().values()) or 1.0
    return strength * scale * np.clip(sim_to_negatives, 0.0, 1.0)
