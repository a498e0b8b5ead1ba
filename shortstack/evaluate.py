"""`shortstack eval`: offline evaluation on a ratings file or on a server's logged interactions."""

from __future__ import annotations

import tempfile
from pathlib import Path

from shortstack.recommender.evaluation import EvalReport, run_evaluation


def export_positives(db_path: Path, dest: Path) -> int:
    """Write the server's positive interactions as `user item 5 timestamp` lines; returns the count.

    A positive is a like, comment or share, or a view watched to at least half its length."""
    from shortstack.server.store.db import connect_sync

    conn = connect_sync(db_path)
    try:
        rows = conn.execute(
            "SELECT user_id, video_id, MIN(ts) FROM events WHERE user_id IS NOT NULL AND video_id IS NOT NULL"
            " AND (kind IN ('like', 'comment', 'share') OR (kind = 'view' AND value >= 0.5))"
            " GROUP BY user_id, video_id ORDER BY MIN(ts)"
        ).fetchall()
    finally:
        conn.close()
    with open(dest, "w", encoding="utf-8") as fh:
        for user_id, video_id, ts in rows:
            fh.write(f"{user_id}\t{video_id}\t5\t{ts:.3f}\n")
    return len(rows)


def run_eval(
    *, dataset: Path | None, data_dir: Path | None, k: int = 20, min_rating: float = 4.0
) -> EvalReport:
    if dataset is not None:
        return run_evaluation(dataset, k=k, min_rating=min_rating)
    assert data_dir is not None
    db_path = data_dir / "shortstack.db"
    if not db_path.exists():
        from shortstack.cli import CliError

        raise CliError(
            f"{data_dir}: no Shortstack database here (use --data DIR or --dataset FILE)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "interactions.tsv"
        if export_positives(db_path, path) == 0:
            from shortstack.cli import CliError

            raise CliError(
                "no logged interactions to evaluate yet (likes, comments, shares, watched views)"
            )
        return run_evaluation(path, k=k, min_rating=min_rating)
