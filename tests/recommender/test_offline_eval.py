"""Offline evaluation: file loading, temporal split, report; ml-100k: ours beats the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shortstack.recommender.evaluation import (
    format_table,
    load_interactions,
    run_evaluation,
    temporal_split,
)
from shortstack.recommender.synthetic import make_world

ML100K = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "ml-100k" / "u.data"


def _write_synthetic(path: Path, *, with_rating: bool) -> None:
    world = make_world(n_items=200, n_users=80, n_topics=6, n_views=3000, seed=3)
    ev = world.events
    view = ev.kind == "view"
    rating = np.where(ev.value[view] > 0.6, 5, 2)
    lines = []
    for u, i, r, t in zip(ev.user[view], ev.item[view], rating, ev.ts[view], strict=True):
        lines.append(f"{u}\t{i}\t{r}\t{int(t)}" if with_rating else f"{u} {i} {int(t)}")
    path.write_text("\n".join(lines) + "\n")


def test_load_and_split(tmp_path):
    path = tmp_path / "ratings.tsv"
    path.write_text("1\t10\t5\t100\n1\t11\t3\t101\n1\t12\t4\t102\n2\t10\t4\t50\n")
    data = load_interactions(path)
    assert data.n_users == 2 and len(data.user) == 3 and data.item_ids == ["10", "12"]
    three = tmp_path / "plain.txt"
    three.write_text("u1 a 5\nu1 b 6\nu1 c 7\nu1 d 8\nu1 e 9\n")
    data = load_interactions(three)
    train, test = temporal_split(data, 0.2)
    assert test.sum() == 1 and data.item_ids[int(data.item[test][0])] == "e"


@pytest.mark.parametrize("with_rating", [True, False])
def test_run_evaluation_report(tmp_path, with_rating):
    path = tmp_path / "log.tsv"
    _write_synthetic(path, with_rating=with_rating)
    report = run_evaluation(path, k=10, seed=0, include_variants=with_rating)
    names = [r.name for r in report.results]
    assert names[:3] == ["popularity", "item-knn", "ours"]
    if with_rating:
        assert names[3:] == ["ours (feed defaults)", "ours (SVD path)"]
    for r in report.results:
        assert 0 <= r.recall <= 1 and 0 <= r.ndcg <= 1 and 0 < r.coverage <= 1
    assert report.result("ours").ndcg > report.result("popularity").ndcg
    json.dumps(report.to_dict())
    table = format_table(report)
    assert "NDCG@10" in table and "ours" in table


@pytest.mark.skipif(not ML100K.exists(), reason="MovieLens 100k not available")
@pytest.mark.slow
def test_ml100k_ours_beats_popularity_and_item_knn():
    report = run_evaluation(ML100K, k=20, seed=0)
    ours = report.result("ours").ndcg
    assert ours > report.result("popularity").ndcg
    assert ours > report.result("item-knn").ndcg
