"""Dot products between a few rows of a fixed sparse matrix, without scipy's per-call overhead.

A request compares small item sets (a page, a user's history, the exploration pool) on
their content or co-engagement vectors. scipy's fancy row indexing and sparse products
cost ~0.5 ms of index checks and conversions per call whatever the size; here the CSR
arrays are kept once and each call gathers the rows' entries with plain numpy, lays the
side with fewer entries out densely over its own columns and multiplies with BLAS.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Up to this many columns a dot product maps columns through a dense lookup table.
LOOKUP_MAX_COLS = 1 << 16


class SparseRows:
    """The CSR arrays of a fixed (n_rows, n_cols) matrix, for dot products between row sets."""

    def __init__(self, matrix: sp.spmatrix) -> None:
        m = sp.csr_matrix(matrix, dtype=np.float32)
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        self.shape = m.shape
        self.indptr = m.indptr.astype(np.int64)
        self.indices = m.indices.astype(np.int32, copy=False)
        self.data = m.data.astype(np.float32, copy=False)

    @property
    def nnz(self) -> int:
        return len(self.data)

    def entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in ``rows``, column, value) of every stored entry of ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.indptr[rows]
        lens = self.indptr[rows + 1] - starts
        total = int(lens.sum())
        owner = np.repeat(np.arange(len(rows)), lens)
        # position of each entry: its row's start plus its rank within the row
        first = np.cumsum(lens) - lens
        pos = np.arange(total, dtype=np.int64) + np.repeat(starts - first, lens)
        return owner, self.indices[pos], self.data[pos]

    def row_sum(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Dense (n_cols,) float32 sum of ``rows`` weighted by ``weights``."""
        owner, cols, vals = self.entries(rows)
        w = np.asarray(weights, dtype=np.float64)[owner] * vals
        return np.bincount(cols, weights=w, minlength=self.shape[1]).astype(np.float32)

    def dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(len(a), len(b)) float32 dot products between rows ``a`` and rows ``b``."""
        ea, eb = self.entries(a), self.entries(b)
        if len(ea[1]) > len(eb[1]):
            return self._dots(eb, len(b), ea, len(a)).T
        return self._dots(ea, len(a), eb, len(b))

    def _dots(
        self,
        small: tuple[np.ndarray, np.ndarray, np.ndarray],
        n_small: int,
        large: tuple[np.ndarray, np.ndarray, np.ndarray],
        n_large: int,
    ) -> np.ndarray:
        """Dots with the columns of the side with fewer entries as the dense layout."""
        s_row, s_col, s_val = small
        l_row, l_col, l_val = large
        if len(s_col) == 0 or len(l_col) == 0:
            return np.zeros((n_small, n_large), dtype=np.float32)
        n_cols = self.shape[1]
        if n_cols <= LOOKUP_MAX_COLS:  # a column -> dense position table beats sorting
            present = np.zeros(n_cols, dtype=bool)
            present[s_col] = True
            cols = np.flatnonzero(present)
            lookup = np.full(n_cols, -1, dtype=np.int32)
            lookup[cols] = np.arange(len(cols), dtype=np.int32)
            local = lookup[s_col]
            at = lookup[l_col]
            hit = at >= 0
        else:
            cols, local = np.unique(s_col, return_inverse=True)
            at = np.minimum(np.searchsorted(cols, l_col), len(cols) - 1)
            hit = cols[at] == l_col
        dense_small = np.zeros((n_small, len(cols)), dtype=np.float32)
        dense_small[s_row, local] = s_val
        dense_large = np.zeros((n_large, len(cols)), dtype=np.float32)
        dense_large[l_row[hit], at[hit]] = l_val[hit]
        return dense_small @ dense_large.T

    def transposed(self, rows: np.ndarray) -> SparseRows:
        """The (n_cols, len(rows)) transpose of ``rows``: for a fixed set compared often."""
        owner, cols, vals = self.entries(rows)
        return SparseRows(sp.csr_matrix((vals, (cols, owner)), shape=(self.shape[1], len(rows))))

    def dots_transposed(self, a: np.ndarray, columns: SparseRows) -> np.ndarray:
        """(len(a), n) dots between rows ``a`` and the n rows whose ``transposed`` is ``columns``."""
        owner, cols, vals = self.entries(a)
        n = columns.shape[1]
        if len(cols) == 0 or columns.nnz == 0:
            return np.zeros((len(a), n), dtype=np.float32)
        uniq, local = np.unique(cols, return_inverse=True)
        dense_a = np.zeros((len(a), len(uniq)), dtype=np.float32)
        dense_a[owner, local] = vals
        c_owner, c_pos, c_vals = columns.entries(uniq)
        dense_b = np.zeros((len(uniq), n), dtype=np.float32)
        dense_b[c_owner, c_pos] = c_vals
        return dense_a @ dense_b
