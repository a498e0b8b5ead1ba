"""Content vectors of items: TF-IDF of captions and hashtags, plus optional visual features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from .data import Catalogue
from .sparse_rows import SparseRows


def caption_documents(catalogue: Catalogue) -> list[str]:
    """Caption words of each item (hashtags in the caption are left to the tag block)."""
    return [
        " ".join(w for w in caption.split() if not w.startswith("#"))
        for caption in catalogue.captions
    ]


def hashtag_documents(catalogue: Catalogue) -> list[str]:
    """Hashtags of each item: the tag list plus any #tag written in the caption."""
    docs = []
    for caption, tags in zip(catalogue.captions, catalogue.hashtags, strict=True):
        inline = [w.lstrip("#").lower() for w in caption.split() if w.startswith("#")]
        docs.append(" ".join(dict.fromkeys([*tags, *inline])))
    return docs


def _vectorizer(max_features: int, token_pattern: str, **kwargs: object) -> TfidfVectorizer:
    return TfidfVectorizer(
        token_pattern=token_pattern,
        sublinear_tf=True,
        max_features=max_features,
        dtype=np.float32,
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class ItemSet:
    """A fixed item set compared with a few items per request (the exploration pool)."""

    items: np.ndarray
    text_by_term: SparseRows  # (n_terms, len(items)): the set's text vectors by term


class ContentModel:
    """Fitted TF-IDF vocabularies plus the L2-normalised content matrix of a catalogue.

    Caption words and hashtags are two TF-IDF blocks; ``hashtag_weight`` is the share of
    the cosine that comes from hashtags, so two videos with the same tag are near
    neighbours even when their captions share no word.
    """

    def __init__(
        self,
        *,
        visual_weight: float = 0.5,
        hashtag_weight: float = 0.5,
        max_features: int = 200_000,
    ) -> None:
        self.visual_weight = visual_weight
        self.hashtag_weight = hashtag_weight
        self.max_features = max_features

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        if "text_" in state and "text_rows_" not in state:  # pickled by an older version
            self.text_rows_ = SparseRows(self.text_)

    def fit(self, catalogue: Catalogue) -> ContentModel:
        self.caption_vectorizer_: TfidfVectorizer | None = _vectorizer(
            self.max_features, r"(?u)\b\w\w+\b"
        )
        # hashtags are topic labels: binary, no idf (a broad tag like #music must make
        # its videos neighbours), but a tag on most of the catalogue (#fyp) says nothing
        self.hashtag_vectorizer_: TfidfVectorizer | None = _vectorizer(
            self.max_features, r"\S+", binary=True, use_idf=False, max_df=0.5
        )
        try:
            self.caption_vectorizer_.fit(caption_documents(catalogue))
        except ValueError:  # empty vocabulary
            self.caption_vectorizer_ = None
        try:
            self.hashtag_vectorizer_.fit(hashtag_documents(catalogue))
        except ValueError:
            self.hashtag_vectorizer_ = None
        self.transform(catalogue)
        return self

    def transform(self, catalogue: Catalogue) -> ContentModel:
        """(Re)build the item matrices for a catalogue with the fitted vocabularies."""
        n = catalogue.n_items
        blocks = []
        for vec, docs, weight in (
            (self.caption_vectorizer_, caption_documents, 1.0 - self.hashtag_weight),
            (self.hashtag_vectorizer_, hashtag_documents, self.hashtag_weight),
        ):
            if vec is not None and n and weight > 0:
                blocks.append(normalize(vec.transform(docs(catalogue))) * np.sqrt(weight))
        if blocks:
            self.text_ = sp.csr_matrix(normalize(sp.hstack(blocks).tocsr()), dtype=np.float32)
        else:
            self.text_ = sp.csr_matrix((n, 1), dtype=np.float32)
        self.text_rows_ = SparseRows(self.text_)
        self.visual_ = None
        if (
            catalogue.visual is not None
            and catalogue.visual.shape[1] > 0
            and self.visual_weight > 0
        ):
            self.visual_ = normalize(np.nan_to_num(catalogue.visual)).astype(np.float32)
        return self

    @property
    def has_text(self) -> bool:
        """Whether any item has caption or hashtag terms."""
        return bool(self.text_.nnz)

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
        weights = np.asarray(weights)
        wt, wv = self._mix()
        prof = self.text_rows_.row_sum(items, weights.astype(np.float32))
        norm = float(np.linalg.norm(prof))
        if norm > 0:
            out = self.text_ @ (prof / norm)  # one pass over the catalogue, float32
            if wt != 1.0:
                out *= wt
        if self.visual_ is not None:
            vprof = weights.astype(np.float32) @ self.visual_[items]
            vnorm = float(np.linalg.norm(vprof))
            if vnorm > 0:
                out += wv * (self.visual_ @ (vprof / vnorm))
        return out

    def item_set(self, items: np.ndarray) -> ItemSet:
        """``items`` prepared for ``similarity(a, item_set)``, which then costs O(a's terms)."""
        items = np.asarray(items, dtype=np.int64)
        return ItemSet(items, self.text_rows_.transposed(items))

    def similarity(self, a: np.ndarray, b: np.ndarray | ItemSet | None = None) -> np.ndarray:
        """(len(a), len(b)) content cosine between item sets (``b`` None = every item)."""
        b_items = b.items if isinstance(b, ItemSet) else b
        n_b = self.text_.shape[0] if b_items is None else len(b_items)
        if len(a) == 0 or n_b == 0:
            return np.zeros((len(a), n_b), dtype=np.float32)
        wt, wv = self._mix()
        if b is None:
            sim = wt * (self.text_[a] @ self.text_.T).toarray()
        elif isinstance(b, ItemSet):
            sim = wt * self.text_rows_.dots_transposed(a, b.text_by_term)
        else:
            sim = wt * self.text_rows_.dots(a, b)
        if self.visual_ is not None:
            vb = self.visual_ if b_items is None else self.visual_[b_items]
            sim = sim + wv * (self.visual_[a] @ vb.T)
        return sim.astype(np.float32, copy=False)
