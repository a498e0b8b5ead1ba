"""Offline evaluation on an interaction file: temporal split, accuracy and beyond-accuracy metrics."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .baselines import ItemKNNRanker, PopularityRanker
from .collaborative import item_cosine
from .data import Catalogue, Events, UserState
from .model import Recommender
from .ranking import BlendWeights
from .signals import SignalWeights, aggregate, user_state_from_events

#: Feed weights used to score "ours" offline: the personal sources only (no exploration
#: slots, which by design trade accuracy for discovery; see the "ours (feed defaults)" row).
EVAL_WEIGHTS = BlendWeights(
    content=1.0, collaborative=1.0, following=0.0, trending=0.05, freshness=0.0, explore=0.0
)


@dataclass
class InteractionData:
    """Positive interactions read from a file, with contiguous user and item indices."""

    user: np.ndarray
    item: np.ndarray
    weight: np.ndarray
    ts: np.ndarray
    user_ids: list[str]
    item_ids: list[str]

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def load_interactions(
    path: str | Path, *, min_rating: float = 4.0, binary: bool = True
) -> InteractionData:
    """Read ``user item [rating] timestamp`` rows (whitespace, tab, comma or '::' separated).

    With a rating column a row is a positive when rating >= ``min_rating``; its weight is
    1 when ``binary`` else the rating. Rows without a rating are all positives.
    """
    users, items, ratings, stamps = [], [], [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.replace("::", " ").replace(",", " ").split()
            if len(parts) < 3 or parts[0].startswith("#"):
                continue
            try:
                rating = float(parts[2]) if len(parts) >= 4 else 1.0
                stamp = float(parts[3] if len(parts) >= 4 else parts[2])
            except ValueError:  # header line
                continue
            users.append(parts[0])
            items.append(parts[1])
            ratings.append(rating)
            stamps.append(stamp)
    r = np.asarray(ratings, dtype=np.float64)
    has_rating = bool(users) and len(open_first_fields(path)) >= 4
    keep = r >= min_rating if has_rating else np.ones(len(r), dtype=bool)
    u_ids, u_idx = np.unique(np.asarray(users, dtype=str)[keep], return_inverse=True)
    i_ids, i_idx = np.unique(np.asarray(items, dtype=str)[keep], return_inverse=True)
    weight = np.ones(int(keep.sum())) if binary or not has_rating else r[keep]
    return InteractionData(
        user=u_idx.astype(np.int64),
        item=i_idx.astype(np.int64),
        weight=weight,
        ts=np.asarray(stamps, dtype=np.float64)[keep],
        user_ids=u_ids.tolist(),
        item_ids=i_ids.tolist(),
    )


def interactions_from_events(
    events: Events, catalogue: Catalogue, n_users: int, weights: SignalWeights = SignalWeights()
) -> InteractionData:
    """A server's logged events as positives, by the fit's own rules (``aggregate``): one
    row per positive user-video pair, weighted by its clipped total, at its latest event."""
    inter = aggregate(events, n_users, catalogue.n_items, catalogue.duration_s, weights)
    x = inter.positives
    user = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(x.indptr))
    return InteractionData(
        user=user,
        item=x.indices.astype(np.int64),
        weight=x.data.astype(np.float64),
        ts=inter.last_ts.data.astype(np.float64),
        user_ids=[str(u) for u in range(n_users)],
        item_ids=list(catalogue.item_ids),
    )


def open_first_fields(path: str | Path) -> list[str]:
    """Fields of the first data line (to tell 3- from 4-column files)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.replace("::", " ").replace(",", " ").split()
            if len(parts) >= 3:
                try:
                    float(parts[-1])
                except ValueError:
                    continue
                return parts
    return []


def temporal_split(
    data: InteractionData, test_fraction: float = 0.2, min_positives: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the last ``test_fraction`` of positives by time are test (masks train, test)."""
    order = np.lexsort((np.arange(len(data.ts)), data.ts, data.user))
    user_sorted = data.user[order]
    starts = np.searchsorted(user_sorted, np.arange(data.n_users))
    counts = np.bincount(user_sorted, minlength=data.n_users)
    rank = np.arange(len(order)) - starts[user_sorted]
    n_test = np.where(counts >= min_positives, np.floor(counts * test_fraction), 0).astype(np.int64)
    is_test_sorted = rank >= (counts - n_test)[user_sorted]
    test = np.zeros(len(order), dtype=bool)
    test[order] = is_test_sorted
    return ~test, test


@dataclass
class MethodResult:
    """Metrics of one ranker (means over evaluated users)."""

    name: str
    recall: float
    ndcg: float
    coverage: float
    novelty: float
    diversity: float
    fit_s: float
    rank_ms: float


@dataclass
class EvalReport:
    """Everything `shortstack eval` prints (``to_dict`` for --json)."""

    dataset: str
    k: int
    n_users: int
    n_items: int
    n_train: int
    n_test: int
    n_eval_users: int
    results: list[MethodResult]
    notes: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def result(self, name: str) -> MethodResult:
        return next(r for r in self.results if r.name == name)


def _ndcg_recall(recs: np.ndarray, truth: set[int], k: int) -> tuple[float, float]:
    hits = np.array([int(i) in truth for i in recs[:k]], dtype=np.float64)
    dcg = float((hits / np.log2(np.arange(2, len(hits) + 2))).sum())
    ideal = float((1.0 / np.log2(np.arange(2, min(len(truth), k) + 2))).sum())
    return (dcg / ideal if ideal else 0.0), float(hits.sum()) / max(min(len(truth), k), 1)


def evaluate(
    data: InteractionData,
    *,
    k: int = 20,
    seed: int = 0,
    test_fraction: float = 0.2,
    max_users: int | None = 5000,
    weights: BlendWeights = EVAL_WEIGHTS,
    include_variants: bool = False,
    dataset: str = "",
) -> EvalReport:
    """Temporal split, fit every ranker on train, score each on the test positives."""
    train, test = temporal_split(data, test_fraction)
    n_users, n_items = data.n_users, data.n_items
    x = sp.csr_matrix(
        (data.weight[train].astype(np.float32), (data.user[train], data.item[train])),
        shape=(n_users, n_items),
    )
    x.sum_duplicates()
    xb = (x > 0).astype(np.float32).tocsr()
    xt = sp.csr_matrix(xb.T)
    norms = np.sqrt(np.asarray(xt.sum(axis=1)).ravel())
    item_pop = np.asarray(xb.sum(axis=0)).ravel()
    truth: dict[int, set[int]] = {}
    for u, i in zip(data.user[test].tolist(), data.item[test].tolist(), strict=True):
        truth.setdefault(u, set()).add(i)
    eval_users = np.array(sorted(truth), dtype=np.int64)
    rng = np.random.default_rng(seed)
    if max_users is not None and len(eval_users) > max_users:
        eval_users = np.sort(rng.choice(eval_users, size=max_users, replace=False))
    now = float(data.ts[train].max()) if train.any() else 0.0

    first_seen = np.full(n_items, now)
    np.minimum.at(first_seen, data.item[train], data.ts[train])
    catalogue = Catalogue(
        item_ids=data.item_ids,
        captions=[""] * n_items,
        hashtags=[[] for _ in range(n_items)],
        creators=np.arange(n_items),
        created_at=first_seen,
        duration_s=np.full(n_items, 60.0),
    )
    events = Events(
        data.user[train],
        data.item[train],
        np.full(int(train.sum()), "implicit"),
        data.weight[train],
        data.ts[train],
    )

    def ours_factory(**params: object) -> tuple[Recommender, float]:
        t0 = time.perf_counter()
        rec = Recommender(random_state=seed, **params).fit(catalogue, events, n_users, now)  # type: ignore[arg-type]
        return rec, time.perf_counter() - t0

    results: list[MethodResult] = []
    notes: dict[str, object] = {}

    def run(name: str, fit_s: float, rank) -> None:  # type: ignore[no-untyped-def]
        ndcgs, recalls, novelty, ild = [], [], [], []
        covered: set[int] = set()
        t0 = time.perf_counter()
        lists = []
        for u in eval_users.tolist():
            history = xb.indices[xb.indptr[u] : xb.indptr[u + 1]]
            recs = np.asarray(rank(u, history), dtype=np.int64)[:k]
            lists.append((u, recs))
        rank_ms = (time.perf_counter() - t0) * 1000.0 / max(len(eval_users), 1)
        for u, recs in lists:
            nd, rc = _ndcg_recall(recs, truth[u], k)
            ndcgs.append(nd)
            recalls.append(rc)
            covered.update(recs.tolist())
            if len(recs):
                novelty.append(
                    float(np.mean(-np.log2(np.maximum(item_pop[recs], 1.0) / max(n_users, 1))))
                )
            if len(recs) > 1:
                sim = item_cosine(xt, norms, recs, recs)
                m = len(recs)
                ild.append(float(1.0 - (sim.sum() - np.trace(sim)) / (m * (m - 1))))
        results.append(
            MethodResult(
                name=name,
                recall=float(np.mean(recalls)) if recalls else 0.0,
                ndcg=float(np.mean(ndcgs)) if ndcgs else 0.0,
                coverage=len(covered) / max(n_items, 1),
                novelty=float(np.mean(novelty)) if novelty else 0.0,
                diversity=float(np.mean(ild)) if ild else 0.0,
                fit_s=fit_s,
                rank_ms=rank_ms,
            )
        )

    t0 = time.perf_counter()
    pop = PopularityRanker().fit(xb)
    run("popularity", time.perf_counter() - t0, lambda u, h: pop.recommend(h, k))
    t0 = time.perf_counter()
    knn = ItemKNNRanker().fit(xb)
    run("item-knn", time.perf_counter() - t0, lambda u, h: knn.recommend(h, k))
    ours, fit_s = ours_factory()
    choice = ours.collaborative_choice
    notes["ours_collaborative"] = {"model": choice.model, **choice.params}
    notes["ours_validation_ndcg"] = choice.validation_ndcg
    notes["ours_weights"] = weights.to_dict()

    # each user's state as the server builds it for a For You request: their (train)
    # events through user_state_from_events, the fit's own signal rules
    by_user = np.argsort(events.user, kind="stable")
    bounds = np.searchsorted(events.user[by_user], np.arange(n_users + 1))
    states: dict[int, UserState] = {}

    def state_of(u: int) -> UserState:
        if u not in states:
            mine = events.subset(by_user[bounds[u] : bounds[u + 1]])
            states[u] = user_state_from_events(mine, u, catalogue.duration_s, ours.signal_weights)
        return states[u]

    def rank_ours(
        u: int, h: np.ndarray, w: BlendWeights = weights, model: Recommender = ours
    ) -> list[int]:
        recs = model.recommend(u, state_of(u), k=k, weights=w, now=now, seed=seed)
        return [r.item for r in recs]

    run("ours", fit_s, rank_ours)
    if include_variants:
        run("ours (feed defaults)", fit_s, lambda u, h: rank_ours(u, h, BlendWeights()))
        if choice.model == "ease":
            # the path a catalogue above ease_max_items takes, on the same data
            large, large_fit_s = ours_factory(ease_max_items=0)
            choice_large = large.collaborative_choice
            notes["ours_svd_path"] = {"model": choice_large.model, **choice_large.params}
            run("ours (SVD path)", large_fit_s, lambda u, h: rank_ours(u, h, model=large))
    return EvalReport(
        dataset=dataset,
        k=k,
        n_users=n_users,
        n_items=n_items,
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        n_eval_users=len(eval_users),
        results=results,
        notes=notes,
    )


def run_evaluation(
    path: str | Path,
    *,
    k: int = 20,
    seed: int = 0,
    min_rating: float = 4.0,
    binary: bool = True,
    test_fraction: float = 0.2,
    max_users: int | None = 5000,
    weights: BlendWeights = EVAL_WEIGHTS,
    include_variants: bool = False,
) -> EvalReport:
    """Load ``path``, split by time per user and compare ours, popularity and item-kNN."""
    data = load_interactions(path, min_rating=min_rating, binary=binary)
    return evaluate(
        data,
        k=k,
        seed=seed,
        test_fraction=test_fraction,
        max_users=max_users,
        weights=weights,
        include_variants=include_variants,
        dataset=str(path),
    )


def format_table(report: EvalReport) -> str:
    """Plain-text table of a report, ratios against popularity included."""
    k = report.k
    head = (
        f"{report.dataset}: {report.n_users} users, {report.n_items} items, "
        f"{report.n_train} train / {report.n_test} test positives, "
        f"{report.n_eval_users} users evaluated"
    )
    cols = f"{'method':<22}{'Recall@' + str(k):>11}{'NDCG@' + str(k):>10}{'vs pop':>8}"
    cols += f"{'coverage':>10}{'novelty':>9}{'ILD':>7}{'fit s':>8}{'ms/user':>9}"
    lines = [head, cols, "-" * len(cols)]
    base = next((r.ndcg for r in report.results if r.name == "popularity"), 0.0)
    for r in report.results:
        ratio = f"{r.ndcg / base:.2f}x" if base else "-"
        lines.append(
            f"{r.name:<22}{r.recall:>11.4f}{r.ndcg:>10.4f}{ratio:>8}{r.coverage:>10.3f}"
            f"{r.novelty:>9.2f}{r.diversity:>7.3f}{r.fit_s:>8.2f}{r.rank_ms:>9.2f}"
        )
    collab = report.notes.get("ours_collaborative")
    if collab:
        lines.append(f"ours: collaborative model {collab}")
    return "\n".join(lines)
