"""Reference rankers for evaluation and benchmarks: popularity and item-kNN."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .collaborative import ItemKNN


class PopularityRanker:
    """Most positive interactions first, whatever the user did."""

    name = "popularity"

    def fit(self, x: sp.csr_matrix) -> PopularityRanker:
        self.popularity_ = np.asarray((x > 0).sum(axis=0), dtype=np.float64).ravel()
        self.order_ = np.argsort(-self.popularity_, kind="stable")
        return self

    def recommend(
        self, history: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """Top ``k`` items not in ``history`` or ``exclude``."""
        blocked = set(history.tolist())
        if exclude is not None:
            blocked.update(exclude.tolist())
        out = []
        for item in self.order_.tolist():
            if item not in blocked:
                out.append(item)
                if len(out) == k:
                    break
        return np.asarray(out, dtype=np.int64)


class ItemKNNRanker:
    """Classic cosine item-kNN (top 100 neighbours): score = sum of similarities to history."""

    name = "item-knn"

    def __init__(self, neighbors: int = 100) -> None:
        self.neighbors = neighbors

    def fit(self, x: sp.csr_matrix) -> ItemKNNRanker:
        self.knn_ = ItemKNN(self.neighbors).fit((x > 0).astype(np.float32))
        self.n_items_ = x.shape[1]
        return self

    def recommend(
        self, history: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        s = self.knn_.scores(history, np.ones(len(history), dtype=np.float32)).astype(np.float64)
        s[history] = -np.inf
        if exclude is not None:
            s[exclude] = -np.inf
        k = min(k, int(np.isfinite(s).sum()))
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        idx = np.argpartition(-s, k - 1)[:k]
        return idx[np.argsort(-s[idx], kind="stable")]
