"""`shortstack eval --dataset FILE`: the documented `user item [weight] timestamp` format."""

from __future__ import annotations

import json
import random
from pathlib import Path

from shortstack.cli import main


def _write(path: Path, third: callable, *, seed: int = 3) -> list[tuple[str, str, float]]:
    """60 users in 3 taste groups, 12 interactions each over the group's 15 items (real
    structure, so a ranker has something to find); the third column from ``third(rng)``."""
    rng = random.Random(seed)
    rows = []
    for u in range(60):
        group = u % 3
        items = rng.sample(range(group * 15, group * 15 + 15), 12)
        for n, i in enumerate(items):
            rows.append((f"u{u}", f"i{i}", third(rng), 1_700_000_000 + u * 100 + n))
    path.write_text("".join(f"{u}\t{i}\t{w:g}\t{t}\n" for u, i, w, t in rows))
    return [(u, i, w) for u, i, w, _ in rows]


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("shortstack eval: error:"), err
    return err


def test_implicit_weights_are_all_positives(tmp_path, capsys):
    data = tmp_path / "implicit.tsv"
    rows = _write(data, lambda rng: 1)
    assert main(["eval", "--dataset", str(data), "--k", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_train"] + report["n_test"] == len(rows)  # no row filtered out
    assert report["n_eval_users"] == 60
    popularity = next(r for r in report["results"] if r["name"] == "popularity")
    assert popularity["recall"] > 0 and popularity["ndcg"] > 0  # not a table of zeros


def test_min_rating_filters_ratings_only_when_given(tmp_path, capsys):
    data = tmp_path / "ratings.tsv"
    rows = _write(data, lambda rng: rng.choice([1, 2, 3, 4, 5]))
    assert main(["eval", "--dataset", str(data), "--min-rating", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_train"] + report["n_test"] == sum(w >= 3 for _, _, w in rows)
    assert main(["eval", "--dataset", str(data), "--json"]) == 0  # without: weights, all kept
    report = json.loads(capsys.readouterr().out)
    assert report["n_train"] + report["n_test"] == len(rows)


def test_all_rows_filtered_out_is_an_error_naming_the_rule(tmp_path, capsys):
    implicit = tmp_path / "implicit.tsv"
    _write(implicit, lambda rng: 1)
    err = _error(capsys, ["eval", "--dataset", str(implicit), "--min-rating", "4"])
    assert "--min-rating 4" in err and "rating" in err
    zeros = tmp_path / "zeros.tsv"
    _write(zeros, lambda rng: 0)
    assert "weight" in _error(capsys, ["eval", "--dataset", str(zeros)])
    header_only = tmp_path / "header.tsv"
    header_only.write_text("user\titem\tweight\ttimestamp\n")
    assert "rows" in _error(capsys, ["eval", "--dataset", str(header_only)])


def test_too_few_positives_per_user_is_an_error_not_zeros(tmp_path, capsys):
    sparse = tmp_path / "sparse.tsv"
    sparse.write_text("".join(f"u{n}\ti{n % 7}\t1\t{1_700_000_000 + n}\n" for n in range(40)))
    assert "enough positives" in _error(capsys, ["eval", "--dataset", str(sparse)])
