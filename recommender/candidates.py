"""Candidate generation: per-source scores and the merged candidate pool for one request.

Only the two personal sources (content, collaborative) are scored over the whole
catalogue per request; trending, freshness, following and exploration walk orders that
are precomputed once per catalogue (``CatalogueIndex``), so a request touches O(k) of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trending import freshness


class CatalogueIndex:
    """Precomputed orders over a catalogue: newest first, trending first, items per creator."""

    def __init__(
        self,
        created_at: np.ndarray,
        creators: np.ndarray,
        trending: np.ndarray,
        exposure: np.ndarray,
        *,
        explore_quantile: float,
        explore_max: int = 4096,
        now: float | None = None,
        freshness_half_life_h: float = 48.0,
    ) -> None:
        n = len(created_at)
        self.created_at = created_at
        self.creators = creators
        self.trending = trending
        self.newest = np.argsort(-created_at, kind="stable")
        hot = np.flatnonzero(trending > 0)
        self.hottest = hot[np.argsort(-trending[hot], kind="stable")]
        self.trending_max = float(trending.max()) if n else 0.0
        by_creator = np.lexsort((-created_at, creators)) if n else np.zeros(0, dtype=np.int64)
        self.by_creator = by_creator
        self.creator_sorted = creators[by_creator]
        # exploration draws from the least exposed items, at most ``explore_max`` of them
        # (the freshest and least shown first), so new uploads are always in the pool
        pool = np.flatnonzero(explore_pool(exposure, explore_quantile))
        ref = float(created_at.max()) if now is None and n else (now or 0.0)
        prior = (0.2 + freshness(created_at[pool], ref, freshness_half_life_h)) / np.sqrt(
            1.0 + exposure[pool]
        )
        if len(pool) > explore_max:
            keep = np.argpartition(-prior, explore_max - 1)[:explore_max]
            pool, prior = pool[keep], prior[keep]
        order = np.argsort(pool)
        self.explore_items = pool[order]
        self.explore_prior = prior[order]
        self.explore_mask = np.zeros(n, dtype=bool)
        self.explore_mask[self.explore_items] = True

    def creator_items(self, creators: np.ndarray) -> np.ndarray:
        """Items of the given creators, each creator's newest first."""
        parts = []
        for c in creators.tolist():
            lo, hi = np.searchsorted(self.creator_sorted, [c, c + 1])
            parts.append(self.by_creator[lo:hi])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def first_allowed(order: np.ndarray, allowed: np.ndarray, n: int, blocked: int) -> np.ndarray:
    """The first ``n`` items of ``order`` that are allowed (``blocked`` = count of disallowed)."""
    head = order[: n + blocked]
    return head[allowed[head]][:n]


@dataclass
class SourceScores:
    """Raw per-source scores of one request: dense for personal sources, lazy for the rest."""

    content: np.ndarray  # (n_items,) cosine to the user's content profile
    collaborative: np.ndarray  # (n_items,) collaborative score
    index: CatalogueIndex
    followed: np.ndarray  # creator indices the user follows
    now: float
    freshness_half_life_h: float

    def at(self, name: str, items: np.ndarray, fresh: np.ndarray | None = None) -> np.ndarray:
        """Raw score of source ``name`` for ``items`` (``fresh``: their freshness, if known)."""
        if name == "content":
            return self.content[items]
        if name == "collaborative":
            return self.collaborative[items]
        if name == "trending":
            return self.index.trending[items]
        if name == "explore":
            return self.index.explore_mask[items].astype(np.float64)
        if fresh is None:
            fresh = self.freshness(items)
        if name == "freshness":
            return fresh
        if name == "following":
            follows = np.isin(self.index.creators[items], self.followed)
            return np.where(follows, 0.5 + 0.5 * fresh, 0.0)
        raise KeyError(name)

    def freshness(self, items: np.ndarray) -> np.ndarray:
        return freshness(self.index.created_at[items], self.now, self.freshness_half_life_h)


def top_n(
    scores: np.ndarray, allowed: np.ndarray, n: int, blocked: int | None = None
) -> np.ndarray:
    """Indices of the ``n`` best allowed items with a positive score (unordered).

    With ``blocked`` (the number of disallowed items) only the best ``n + blocked``
    scores are partitioned out, which avoids masking the whole catalogue.
    """
    if n <= 0 or len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    if blocked is None:
        blocked = len(allowed) - np.count_nonzero(allowed)
    m = min(len(scores), n + blocked)
    idx = np.argpartition(-scores, m - 1)[:m] if m < len(scores) else np.arange(len(scores))
    idx = idx[allowed[idx] & (scores[idx] > 0)]
    if len(idx) > n:
        idx = idx[np.argpartition(-scores[idx], n - 1)[:n]]
    return idx


def merge_candidates(
    sources: SourceScores,
    allowed: np.ndarray,
    *,
    per_source: int,
    active: dict[str, float],
    blocked: int,
) -> np.ndarray:
    """Union of each active source's best ``per_source`` allowed items, sorted by index."""
    parts = []
    index = sources.index
    if active.get("content", 0) > 0:
        parts.append(top_n(sources.content, allowed, per_source, blocked))
    if active.get("collaborative", 0) > 0:
        parts.append(top_n(sources.collaborative, allowed, per_source, blocked))
    if active.get("trending", 0) > 0:
        parts.append(first_allowed(index.hottest, allowed, per_source, blocked))
    if active.get("freshness", 0) > 0:
        parts.append(first_allowed(index.newest, allowed, per_source, blocked))
    if active.get("following", 0) > 0 and len(sources.followed):
        mine = index.creator_items(sources.followed)
        parts.append(mine[allowed[mine]][: per_source * 2])
    if not parts:
        return np.zeros(0, dtype=np.int64)
    merged = np.sort(np.concatenate(parts))
    return merged[np.concatenate(([True], merged[1:] != merged[:-1]))] if len(merged) else merged


def explore_pool(exposure: np.ndarray, quantile: float = 0.25) -> np.ndarray:
    """Boolean mask of under-exposed items: never exposed or in the least exposed quantile."""
    if len(exposure) == 0:
        return np.zeros(0, dtype=bool)
    cut = float(np.quantile(exposure, quantile))
    return exposure <= cut


def sample_explore(
    sources: SourceScores,
    allowed: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    damp: np.ndarray | None = None,
) -> np.ndarray:
    """Seeded draw of ``n`` under-exposed items, favouring relevant, fresh, rarely shown ones.

    ``damp`` (aligned with the pool, in [0, 1]) scales each item's chance, e.g. down for
    items near a not-interested one.
    """
    index = sources.index
    ok = allowed[index.explore_items]
    cand = index.explore_items[ok]
    if n <= 0 or len(cand) == 0:
        return np.zeros(0, dtype=np.int64)
    relevance = np.clip(np.nan_to_num(sources.content[cand]), 0.0, None)
    p = (0.2 + relevance) * index.explore_prior[ok]
    if damp is not None:
        p = p * np.clip(damp[ok], 0.0, 1.0)
    n = min(n, len(cand))
    # Gumbel top-n: a weighted draw without replacement in O(len(cand))
    keys = np.log(np.clip(p, 1e-12, None)) - np.log(-np.log(rng.random(len(cand))))
    pick = np.argpartition(-keys, n - 1)[:n] if n < len(cand) else np.arange(len(cand))
    return cand[pick[np.argsort(-keys[pick], kind="stable")]]
