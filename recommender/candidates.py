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
    preference: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Seeded weighted draw of ``n`` under-exposed items (weights ~ 0.5 + preference)."""
    cand = np.flatnonzero(pool & allowed)
    if n <= 0 or len(cand) == 0:
        return np.zeros(0, dtype=np.int64)
    p = 0.5 + np.clip(preference[cand], 0.0, None)
    p = p / p.sum()
    n = min(n, len(cand))
    return rng.choice(cand, size=n, replace=False, p=p)
