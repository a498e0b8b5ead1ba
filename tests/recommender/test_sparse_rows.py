"""SparseRows: dot products between row sets equal scipy's, on every path."""

import numpy as np
import pytest
import scipy.sparse as sp

from shortstack.recommender import sparse_rows
from shortstack.recommender.sparse_rows import SparseRows


@pytest.mark.parametrize("lookup", [True, False])
def test_dots_match_scipy(monkeypatch, lookup):
    if not lookup:  # the sorted-columns path taken by very wide matrices
        monkeypatch.setattr(sparse_rows, "LOOKUP_MAX_COLS", 0)
    rng = np.random.default_rng(0)
    m = sp.random(300, 500, density=0.02, format="csr", dtype=np.float32, random_state=1)
    keep = np.ones(300, dtype=np.float32)
    keep[7] = 0  # an empty row
    m = sp.csr_matrix(sp.diags(keep) @ m)
    m.eliminate_zeros()
    rows = SparseRows(m)
    for na, nb in ((3, 200), (200, 3), (1, 1), (40, 40)):
        a = rng.integers(300, size=na)
        b = np.concatenate([rng.integers(300, size=nb - 1), [7]])
        want = (m[a] @ m[b].T).toarray()
        np.testing.assert_allclose(rows.dots(a, b), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            rows.dots_transposed(a, rows.transposed(b)), want, rtol=1e-5, atol=1e-6
        )
    w = rng.random(5)
    items = rng.integers(300, size=5)
    np.testing.assert_allclose(rows.row_sum(items, w), m[items].T @ w, rtol=1e-5, atol=1e-6)
    assert rows.dots(np.zeros(0, dtype=np.int64), np.arange(4)).shape == (0, 4)
