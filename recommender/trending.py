"""Time-based item signals: time-decayed engagement (trending, per item and hashtag) and freshness."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .data import Catalogue


def decay(age_s: np.ndarray, half_life_h: float) -> np.ndarray:
    """2 ** (-age / half_life); ages below zero (clock skew) count as zero."""
    hl = max(float(half_life_h), 1e-6) * 3600.0
    return np.exp2(-np.maximum(age_s, 0.0) / hl)


class TrendingModel:
    """Engagement decayed to the fit time; later ``now`` values decay it uniformly."""

    def __init__(self, half_life_h: float = 24.0) -> None:
        self.half_life_h = half_life_h

    def fit(
        self,
        items: np.ndarray,
        ts: np.ndarray,
        weights: np.ndarray,
        n_items: int,
        now: float,
    ) -> TrendingModel:
        self.now_ = float(now)
        w = weights * decay(self.now_ - ts, self.half_life_h)
        self.score_ = np.bincount(items, weights=w, minlength=n_items).astype(np.float64)
        self.popularity_ = np.bincount(items, weights=weights, minlength=n_items).astype(np.float64)
        return self

    def resized(self, old_to_new: np.ndarray, n_items: int) -> TrendingModel:
        """A copy carried over to a new catalogue (see Recommender.update_catalogue)."""
        out = TrendingModel(self.half_life_h)
        out.now_ = self.now_
        keep = old_to_new >= 0
        for name in ("score_", "popularity_"):
            new = np.zeros(n_items, dtype=np.float64)
            new[old_to_new[keep]] = getattr(self, name)[keep]
            setattr(out, name, new)
        return out

    def scores(self, now: float) -> np.ndarray:
        """Trending score per item at ``now`` (uniformly decayed since the fit)."""
        return self.score_ * float(decay(np.asarray(now - self.now_), self.half_life_h))

    def hashtag_scores(self, catalogue: Catalogue) -> dict[str, float]:
        """Decayed engagement summed per hashtag (for 'popular in #tag' explanations)."""
        out: dict[str, float] = defaultdict(float)
        for item in np.flatnonzero(self.score_ > 0).tolist():
            for tag in catalogue.hashtags[item]:
                out[tag] += float(self.score_[item])
        return dict(out)


def freshness(created_at: np.ndarray, now: float, half_life_h: float) -> np.ndarray:
    """Upload freshness in [0, 1]: 1 for a video uploaded now, halving every half-life."""
    return decay(now - created_at, half_life_h)
