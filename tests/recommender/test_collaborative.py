"""Collaborative models learn co-engagement and the fit picks EASE or SVD by catalogue size."""

import numpy as np
import scipy.sparse as sp

from shortstack.recommender.collaborative import EASE, ItemKNN, PureSVD, fit_collaborative


def _blocks(n_users=200, n_items=60, seed=0):
    """Users engage with one of three item blocks (plus noise)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        block = u % 3
        items = rng.choice(np.arange(block * 20, block * 20 + 20), size=8, replace=False)
        rows += [u] * 8
        cols += items.tolist()
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))


def test_models_recommend_within_the_block():
    x = _blocks()
    for model in (EASE(10.0).fit(x), PureSVD(8).fit(x), ItemKNN(20).fit(x)):
        s = model.scores(np.array([0, 1, 2]), np.ones(3))
        s[[0, 1, 2]] = -np.inf
        top = np.argsort(-s)[:10]
        assert (top < 20).all(), model.name


def test_fit_collaborative_switches_on_size():
    x = _blocks()
    model, choice = fit_collaborative(x, ease_max_items=100)
    assert choice.model == "ease" and isinstance(model, EASE) and choice.validation_ndcg
    model, choice = fit_collaborative(x, ease_max_items=10, svd_components=8)
    assert choice.model == "svd" and isinstance(model, PureSVD)
    model, choice = fit_collaborative(sp.csr_matrix((5, 7), dtype=np.float32))
    assert model is None and choice.model == "none"
