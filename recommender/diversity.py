"""Diversity re-ranking: maximal marginal relevance with a per-creator cap."""

from __future__ import annotations

import numpy as np


def mmr_rerank(
    candidates: np.ndarray,
    scores: np.ndarray,
    similarity: np.ndarray,
    creators: np.ndarray,
    k: int,
    *,
    relevance: float = 0.8,
    max_per_creator: int = 2,
) -> np.ndarray:
    """Greedily pick ``k`` of ``candidates`` maximising relevance*score - (1-relevance)*max sim.

    ``scores`` and ``similarity`` (len x len) are aligned with ``candidates``; scores are
    rescaled to [0, 1] first so ``relevance`` means the same on every page. A creator
    appears at most ``max_per_creator`` times unless nothing else is left.
    """
    n = len(candidates)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = float(scores.min()), float(scores.max())
    rel = (scores - lo) / (hi - lo) if hi > lo else np.ones(n)
    max_sim = np.zeros(n)
    chosen: list[int] = []
    taken = np.zeros(n, dtype=bool)
    per_creator: dict[int, int] = {}
    capped = np.zeros(n, dtype=bool)
    for _ in range(k):
        mmr = relevance * rel - (1.0 - relevance) * max_sim
        mmr[taken] = -np.inf
        pick_from = np.where(capped, -np.inf, mmr)
        j = int(np.argmax(pick_from)) if np.isfinite(pick_from).any() else int(np.argmax(mmr))
        chosen.append(j)
        taken[j] = True
        max_sim = np.maximum(max_sim, similarity[j])
        c = int(creators[j])
        if c < 0:  # unknown creator: no cap
            continue
        per_creator[c] = per_creator.get(c, 0) + 1
        if per_creator[c] >= max_per_creator:
            capped |= creators == c
    return candidates[np.asarray(chosen, dtype=np.int64)]
