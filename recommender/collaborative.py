"""Collaborative item models (EASE, PureSVD, item-kNN) scored on the fly from a user's items.

Every model is fitted on the user x item implicit matrix and scores a user from a
weighted set of items (fold-in), so a like changes the next page without refitting.

Which model: EASE (closed form, Steck 2019) is the most accurate on the data we measured
but needs a dense item x item inverse, O(n^3) time and O(n^2) memory, so it is used up to
``ease_max_items`` items; above that PureSVD (truncated SVD item factors, O(n * d) per
request) keeps refit and latency bounded at 100k+ items. Item-kNN is the classic
baseline the evaluation compares against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from .sparse_rows import SparseRows


def _as_csr(x: sp.spmatrix) -> sp.csr_matrix:
    return sp.csr_matrix(x, dtype=np.float32)


class EASE:
    """Embarrassingly shallow autoencoder: B = I - P / diag(P), P = (X'X + lambda I)^-1."""

    name = "ease"

    def __init__(self, l2: float = 200.0) -> None:
        self.l2 = l2

    def fit(self, x: sp.csr_matrix, gram: np.ndarray | None = None) -> EASE:
        g = gram if gram is not None else (x.T @ x).toarray().astype(np.float64)
        g = g.copy()
        g[np.diag_indices_from(g)] += self.l2
        p = np.linalg.inv(g)
        b = p / (-np.diag(p))[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.b_ = b.astype(np.float32)
        return self

    def contributions(self, items: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        """(len(items), len(targets)) score contribution of each source item to each target."""
        rows = self.b_[items]
        return rows if targets is None else rows[:, targets]

    def scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(items) == 0:
            return np.zeros(self.b_.shape[0], dtype=np.float32)
        return weights.astype(np.float32) @ self.b_[items]

    def batch_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of many users at once from their (users x items) rows."""
        return np.asarray(rows @ self.b_)


class PureSVD:
    """Item factors from a truncated SVD of the implicit matrix; score = V V' r (fold-in).

    The factors are stored factor-major (``vt_``, d x n_items): scoring every item is then
    one matrix-vector product over long contiguous rows, which BLAS runs ~1.5x faster
    than the same product over n_items rows of d floats (``v_`` is the item-major view).
    """

    name = "svd"

    def __init__(self, n_components: int = 64, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    @property
    def v_(self) -> np.ndarray:
        """(n_items, d) item factors (a view of ``vt_``)."""
        return self.vt_.T

    @v_.setter
    def v_(self, value: np.ndarray) -> None:
        self.vt_ = np.ascontiguousarray(np.asarray(value, dtype=np.float32).T)

    def __setstate__(self, state: dict[str, object]) -> None:
        if "v_" in state:  # pickled before the factors were stored factor-major
            state["vt_"] = np.ascontiguousarray(np.asarray(state.pop("v_")).T)
        self.__dict__.update(state)

    def fit(self, x: sp.csr_matrix) -> PureSVD:
        n_users, n_items = x.shape
        d = int(min(self.n_components, max(1, min(n_users, n_items) - 1)))
        if x.nnz == 0 or min(n_users, n_items) < 2:
            self.v_ = np.zeros((n_items, 1), dtype=np.float32)
            return self
        svd = TruncatedSVD(
            n_components=d, algorithm="randomized", n_iter=5, random_state=self.random_state
        )
        svd.fit(x)
        self.vt_ = np.ascontiguousarray(svd.components_, dtype=np.float32)
        return self

    def contributions(self, items: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        tv = self.vt_ if targets is None else self.vt_[:, targets]
        return self.vt_[:, items].T @ tv

    def scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(items) == 0:
            return np.zeros(self.vt_.shape[1], dtype=np.float32)
        u = self.vt_[:, items] @ weights.astype(np.float32)
        return u @ self.vt_

    def batch_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of many users at once from their (users x items) rows."""
        return np.asarray(rows @ self.v_) @ self.vt_


class ItemKNN:
    """Cosine item-item similarity keeping the top ``neighbors`` per item (sparse)."""

    name = "item-knn"

    def __init__(self, neighbors: int = 100, block_floats: int = 20_000_000) -> None:
        self.neighbors = neighbors
        self.block_floats = block_floats

    def fit(self, x: sp.csr_matrix) -> ItemKNN:
        n_items = x.shape[1]
        xc = sp.csc_matrix(x, dtype=np.float32)
        norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=0)).ravel())
        inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
        xn = sp.csc_matrix(xc @ sp.diags(inv))
        xnt = sp.csr_matrix(xn.T)
        k = int(min(self.neighbors, max(n_items - 1, 0)))
        rows, cols, vals = [], [], []
        chunk = max(1, int(self.block_floats // max(n_items, 1)))
        for start in range(0, n_items, chunk):
            stop = min(n_items, start + chunk)
            block = (xnt @ xn[:, start:stop]).toarray()  # (n_items, chunk): sim(source, target)
            block[np.arange(start, stop), np.arange(stop - start)] = 0.0
            if k <= 0:
                continue
            top = (
                np.argpartition(-block, k - 1, axis=0)[:k]
                if k < n_items
                else np.tile(np.arange(n_items)[:, None], (1, stop - start))
            )
            v = np.take_along_axis(block, top, axis=0)
            nz = v > 0
            rows.append(top[nz])
            cols.append(np.broadcast_to(np.arange(start, stop)[None, :], top.shape)[nz])
            vals.append(v[nz])
        if rows:
            r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0, dtype=np.float32)
        self.s_ = sp.csr_matrix((v.astype(np.float32), (r, c)), shape=(n_items, n_items))
        return self

    def contributions(self, items: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        rows = self.s_[items]
        if targets is not None:
            rows = rows[:, targets]
        return rows.toarray()

    def scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(items) == 0:
            return np.zeros(self.s_.shape[0], dtype=np.float32)
        return np.asarray(self.s_[items].T @ weights.astype(np.float32)).ravel()

    def batch_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of many users at once from their (users x items) rows."""
        return (rows @ self.s_).toarray()


def holdout_split(
    x: sp.csr_matrix, rng: np.random.Generator, max_users: int = 2000, min_items: int = 3
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Hide one random positive for up to ``max_users`` users; returns (train, users, items)."""
    counts = np.diff(x.indptr)
    eligible = np.flatnonzero(counts >= min_items)
    if len(eligible) > max_users:
        eligible = np.sort(rng.choice(eligible, size=max_users, replace=False))
    held = np.empty(len(eligible), dtype=np.int64)
    x = x.tocsr(copy=True)
    for n, u in enumerate(eligible):
        start, stop = x.indptr[u], x.indptr[u + 1]
        pick = start + int(rng.integers(stop - start))
        held[n] = x.indices[pick]
        x.data[pick] = 0.0
    x.eliminate_zeros()
    return x, eligible, held


def holdout_ndcg(
    model: object, train: sp.csr_matrix, users: np.ndarray, held: np.ndarray, k: int = 20
) -> float:
    """NDCG@k of one held-out item per user (items seen in train are excluded)."""
    total = 0.0
    n_items = train.shape[1]
    chunk = max(1, int(4_000_000 // max(n_items, 1)))
    for start in range(0, len(users), chunk):
        rows = train[users[start : start + chunk]]
        s = np.asarray(model.batch_scores(rows), dtype=np.float64)  # type: ignore[attr-defined]
        r_idx = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        s[r_idx, rows.indices] = -np.inf
        target = held[start : start + chunk]
        t_score = s[np.arange(len(target)), target]
        rank = (s > t_score[:, None]).sum(axis=1)
        total += float(np.where(rank < k, 1.0 / np.log2(rank + 2), 0.0).sum())
    return total / max(len(users), 1)


@dataclass
class CollaborativeChoice:
    """Which collaborative model was fitted and why (shown by `shortstack eval`)."""

    model: str
    params: dict[str, float]
    validation_ndcg: dict[str, float]


#: PureSVD ranks tried on the holdout when the rank is not fixed.
SVD_RANKS = (16, 32, 64, 128)


def fit_collaborative(
    x: sp.csr_matrix,
    *,
    ease_max_items: int = 6000,
    ease_l2: float | None = None,
    svd_components: int | None = None,
    random_state: int = 0,
) -> tuple[EASE | PureSVD | None, CollaborativeChoice]:
    """Fit the collaborative model for this matrix.

    Up to ``ease_max_items`` items: EASE with lambda picked on a holdout (one random
    positive hidden per user, NDCG@20). Above: PureSVD with its rank picked the same way
    (``svd_components`` fixes it instead).
    """
    x = _as_csr(x)
    n_users, n_items = x.shape
    if x.nnz == 0 or n_items < 2:
        return None, CollaborativeChoice("none", {}, {})
    if n_items <= ease_max_items:
        gram_full = (x.T @ x).toarray().astype(np.float64)
        mean_diag = float(max(np.mean(np.diag(gram_full)), 1e-3))
        if ease_l2 is not None:
            return EASE(ease_l2).fit(x, gram_full), CollaborativeChoice("ease", {"l2": ease_l2}, {})
        rng = np.random.default_rng(random_state)
        train, users, held = holdout_split(x, rng)
        scores: dict[str, float] = {}
        best_l2, best = 10.0 * mean_diag, -1.0
        if len(users) >= 20:
            gram = (train.T @ train).toarray().astype(np.float64)
            for factor in (1.0, 3.0, 10.0, 30.0, 100.0):
                l2 = factor * mean_diag
                ndcg = holdout_ndcg(EASE(l2).fit(train, gram), train, users, held)
                scores[f"l2={l2:.4g}"] = round(float(ndcg), 5)
                if ndcg > best + 1e-9:
                    best, best_l2 = ndcg, l2
        model = EASE(best_l2).fit(x, gram_full)
        return model, CollaborativeChoice("ease", {"l2": round(best_l2, 4)}, scores)
    if svd_components is not None:
        model = PureSVD(svd_components, random_state).fit(x)
        return model, CollaborativeChoice("svd", {"n_components": model.v_.shape[1]}, {})
    # rank chosen on a holdout: one SVD at the largest rank, truncated for the smaller ones
    rng = np.random.default_rng(random_state)
    train, users, held = holdout_split(x, rng, max_users=500)
    best_d, best, scores = SVD_RANKS[1], -1.0, {}
    if len(users) >= 20:
        full = PureSVD(max(SVD_RANKS), random_state).fit(train)
        for d in SVD_RANKS:
            if d > full.v_.shape[1]:
                break
            probe = PureSVD(d, random_state)
            probe.vt_ = full.vt_[:d]  # the first d factors: a view, no copy
            ndcg = holdout_ndcg(probe, train, users, held)
            scores[f"d={d}"] = round(float(ndcg), 5)
            if ndcg > best + 1e-9:
                best, best_d = ndcg, d
    model = PureSVD(best_d, random_state).fit(x)
    return model, CollaborativeChoice("svd", {"n_components": model.v_.shape[1]}, scores)


def item_cosine(
    xt: sp.csr_matrix | SparseRows, norms: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Co-engagement cosine between items ``a`` and ``b`` ((len(a), len(b)) dense).

    ``xt`` is the item x user matrix (CSR, or its ``SparseRows`` for many small calls)
    and ``norms`` its row norms.
    """
    if len(a) == 0 or len(b) == 0 or xt.nnz == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    num = xt.dots(a, b) if isinstance(xt, SparseRows) else (xt[a] @ xt[b].T).toarray()
    den = np.outer(norms[a], norms[b])
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0).astype(np.float32)
