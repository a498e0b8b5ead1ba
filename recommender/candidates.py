"""Candidate generation: per-source scores and the merged candidate pool for one request."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SOURCES = ("content", "collaborative", "following", "trending", "freshness", "explore")


@dataclass
class SourceScores:
    """Full-catalogue raw score vector of each source (zeros when a source has no signal)."""

    content: np.ndarray
    collaborative: np.ndarray
    following: np.ndarray
    trending: np.ndarray
    freshness: np.ndarray
    explore: np.ndarray

    def get(self, name: str) -> np.ndarray:
        return getattr(self, name)


def top_n(scores: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` best allowed items with a positive score (unordered)."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    s = np.where(allowed & (scores > 0), scores, -np.inf)
    m = int(np.isfinite(s).sum())
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if m <= n:
        return np.flatnonzero(np.isfinite(s))
    idx = np.argpartition(-s, n - 1)[:n]
    return idx[np.isfinite(s[idx])]


def merge_candidates(
    sources: SourceScores,
    allowed: np.ndarray,
    *,
    per_source: int,
    active: dict[str, float],
) -> np.ndarray:
    """Union of each active source's top ``per_source`` allowed items, sorted by index."""
    parts = [
        top_n(sources.get(name), allowed, per_source)
        for name, weight in active.items()
        if weight > 0 and name != "explore"
    ]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def explore_pool(exposure: np.ndarray, quantile: float = 0.25) -> np.ndarray:
    """Boolean mask of under-exposed items: never exposed or in the least exposed quantile."""
    if len(exposure) == 0:
        return np.zeros(0, dtype=bool)
    cut = float(np.quantile(exposure, quantile))
    return exposure <= cut


def sample_explore(
    pool: np.ndarray,
    allowed: np.ndarray,
    weight: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Seeded draw without replacement of ``n`` pool items with probability ~ ``weight``."""
    cand = np.flatnonzero(pool & allowed)
    if n <= 0 or len(cand) == 0:
        return np.zeros(0, dtype=np.int64)
    p = np.clip(np.nan_to_num(weight[cand]), 1e-9, None)
    n = min(n, len(cand))
    return rng.choice(cand, size=n, replace=False, p=p / p.sum())


def explore_weight(relevance: np.ndarray, fresh: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Exploration preference: relevant, fresh and rarely shown items first (new uploads)."""
    return (0.2 + np.clip(relevance, 0.0, None)) * (0.2 + fresh) / np.sqrt(1.0 + exposure)
