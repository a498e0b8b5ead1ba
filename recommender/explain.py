"""Human-readable reasons and one-sentence explanations for ranked items."""

from __future__ import annotations

import time

import numpy as np

from .data import Catalogue, Reason


def _age_text(age_s: float) -> str:
    if age_s < 3600:
        return f"{max(1, int(age_s // 60))} min ago"
    if age_s < 86400:
        return f"{int(age_s // 3600)} h ago"
    return f"{int(age_s // 86400)} d ago"


def _period(half_life_h: float) -> str:
    if half_life_h <= 36:
        return "today"
    if half_life_h <= 24 * 10:
        return "this week"
    return "lately"


class Explainer:
    """Writes reason texts; needs the catalogue and a little context per request."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        hashtag_trend: dict[str, float],
        trending_half_life_h: float,
        now: float | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.hashtag_trend = hashtag_trend
        self.period = _period(trending_half_life_h)
        self.now = time.time() if now is None else now

    def text(
        self,
        kind: str,
        item: int,
        *,
        collab_source: int | None = None,
        content_source: int | None = None,
        liked_kind: str = "liked",
    ) -> str:
        cat = self.catalogue
        if kind == "collaborative":
            if collab_source is not None:
                return f"Because you {liked_kind} '{cat.title(collab_source)}'"
            return "Popular with people who like what you like"
        if kind == "content":
            shared = (
                sorted(set(cat.hashtags[item]) & set(cat.hashtags[content_source]))
                if content_source is not None
                else []
            )
            if shared:
                return f"More #{shared[0]} like '{cat.title(content_source)}'"
            if content_source is not None:
                return f"Similar to '{cat.title(content_source)}'"
            return "Matches your interests"
        if kind == "following":
            return f"New from {cat.creator_name(int(cat.creators[item]))}, whom you follow"
        if kind == "trending":
            tags = cat.hashtags[item]
            if tags:
                best = max(tags, key=lambda t: self.hashtag_trend.get(t, 0.0))
                if self.hashtag_trend.get(best, 0.0) > 0:
                    return f"Popular in #{best} {self.period}"
            return f"Trending {self.period}"
        if kind == "freshness":
            return f"New upload · {_age_text(max(0.0, self.now - float(cat.created_at[item])))}"
        if kind == "explore":
            return "Something new to explore"
        return kind

    def reasons(
        self,
        item: int,
        contributions: dict[str, float],
        *,
        collab_source: int | None,
        content_source: int | None,
        min_share: float = 0.08,
    ) -> tuple[list[Reason], str]:
        """Reasons sorted by weight (small contributions dropped) and their explanation."""
        total = sum(v for v in contributions.values() if v > 0)
        items = sorted(
            ((k, v) for k, v in contributions.items() if v > 0), key=lambda kv: (-kv[1], kv[0])
        )
        kept = [(k, v) for n, (k, v) in enumerate(items) if n == 0 or v >= min_share * total]
        if not kept:
            kept = [("explore", 0.0)]
        reasons = [
            Reason(
                kind,
                float(v),
                self.text(kind, item, collab_source=collab_source, content_source=content_source),
            )
            for kind, v in kept
        ]
        texts: list[str] = []
        for r in reasons[:2]:
            if r.text not in texts:
                texts.append(r.text)
        return reasons, " · ".join(texts)


def top_source(matrix: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """For each target column, the source item with the largest positive value (-1 if none)."""
    if matrix.size == 0:
        return np.full(matrix.shape[1] if matrix.ndim == 2 else 0, -1, dtype=np.int64)
    best = np.argmax(matrix, axis=0)
    ok = matrix[best, np.arange(matrix.shape[1])] > 0
    return np.where(ok, sources[best], -1)
