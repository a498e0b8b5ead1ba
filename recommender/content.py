"""Content vectors of items: TF-IDF of captions and hashtags, plus optional visual features."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from .data import Catalogue


def item_documents(catalogue: Catalogue) -> list[str]:
    """One text per item: caption words plus each hashtag as a token (counted twice)."""
    docs = []
    for caption, tags in zip(catalogue.captions, catalogue.hashtags, strict=True):
        tag_tokens = " ".join(f"tag_{t}" for t in tags)
        docs.append(f"{caption.replace('#', ' tag_')} {tag_tokens}")
    return docs


class ContentModel:
    """Fitted TF-IDF vocabulary plus the L2-normalised content matrix of a catalogue."""

    def __init__(self, *, visual_weight: float = 0.5, max_features: int = 200_000) -> None:
        self.visual_weight = visual_weight
        self.max_features = max_features

    def fit(self, catalogue: Catalogue) -> ContentModel:
        self.vectorizer_: TfidfVectorizer | None = TfidfVectorizer(
            token_pattern=r"(?u)\b\w\w+\b",
            sublinear_tf=True,
            min_df=1,
            max_features=self.max_features,
            dtype=np.float32,
        )
        docs = item_documents(catalogue)
        try:
            self.vectorizer_.fit(docs)
        except ValueError:  # empty vocabulary: no captions or hashtags at all
            self.vectorizer_ = None
        self.transform(catalogue)
        return self

    def transform(self, catalogue: Catalogue) -> ContentModel:
        """(Re)build the item matrices for a catalogue with the fitted vocabulary."""
        n = catalogue.n_items
        if self.vectorizer_ is not None and n:
            text = self.vectorizer_.transform(item_documents(catalogue))
            self.text_ = sp.csr_matrix(normalize(text), dtype=np.float32)
        else:
            self.text_ = sp.csr_matrix((n, 1), dtype=np.float32)
        self.visual_ = None
        if (
            catalogue.visual is not None
            and catalogue.visual.shape[1] > 0
            and self.visual_weight > 0
        ):
            self.visual_ = normalize(np.nan_to_num(catalogue.visual)).astype(np.float32)
        return self

    def _mix(self) -> tuple[float, float]:
        if self.visual_ is None:
            return 1.0, 0.0
        return 1.0 - self.visual_weight, self.visual_weight

    def profile_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Cosine between every item and the weighted mean of ``items``' content vectors."""
        n = self.text_.shape[0]
        out = np.zeros(n, dtype=np.float32)
        if len(items) == 0 or n == 0:
            return out
        wt, wv = self._mix()
        prof = np.asarray(self.text_[items].T @ weights.astype(np.float32)).ravel()
        norm = float(np.linalg.norm(prof))
        if norm > 0:
            out += wt * (self.text_ @ (prof / norm))
        if self.visual_ is not None:
            vprof = weights.astype(np.float32) @ self.visual_[items]
            vnorm = float(np.linalg.norm(vprof))
            if vnorm > 0:
                out += wv * (self.visual_ @ (vprof / vnorm))
        return out

    def similarity(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """(len(a), len(b)) content cosine between item sets (``b`` None = every item)."""
        n_b = self.text_.shape[0] if b is None else len(b)
        if len(a) == 0 or n_b == 0:
            return np.zeros((len(a), n_b), dtype=np.float32)
        wt, wv = self._mix()
        tb = self.text_ if b is None else self.text_[b]
        sim = wt * (self.text_[a] @ tb.T).toarray()
        if self.visual_ is not None:
            vb = self.visual_ if b is None else self.visual_[b]
            sim = sim + wv * (self.visual_[a] @ vb.T)
        return sim.astype(np.float32)
