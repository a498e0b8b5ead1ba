"""Feed-lab metrics over served pages: hit rate, coverage, diversity, filter bubble, Gini, new-upload exposure."""

from __future__ import annotations

import numpy as np

#: Metric name -> (short label, one-line meaning); the order is the plots' and tables' order.
METRICS: dict[str, tuple[str, str]] = {
    "hit_rate": ("hit rate", "share of shown items in one of the user's hidden favourite topics"),
    "coverage": ("coverage", "share of the catalogue shown to anyone in the last few steps"),
    "diversity": ("intra-list diversity", "share of item pairs on a page with different topics"),
    "bubble": (
        "filter-bubble index",
        "1 - entropy of topics shown (last few steps) / entropy of as many items drawn"
        " from the user's true tastes: 0 as broad as the tastes, > 0 narrower",
    ),
    "creator_gini": ("creator Gini", "inequality of impressions across creators (0 equal, 1 one)"),
    "new_exposure": (
        "new-upload exposure",
        "share of the uploads of the last few steps that were shown at least once",
    ),
}


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy (nats) of distributions (counts are normalised first) along ``axis``."""
    p = np.asarray(p, dtype=np.float64)
    total = p.sum(axis=axis, keepdims=True)
    q = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    logs = np.log(q, out=np.zeros_like(q), where=q > 0)
    return -(q * logs).sum(axis=axis)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal, towards 1 = one takes all)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * x).sum()) / (n * x.sum()) - (n + 1.0) / n)


def _window(step: int, window: int) -> slice:
    return slice(max(0, step - window + 1), step + 1)


def hit_rate(pages: np.ndarray, item_topic: np.ndarray, favourite: np.ndarray) -> np.ndarray:
    """Per step: share of served slots whose topic is one of the viewer's favourite topics."""
    n_steps, n_users, _ = pages.shape
    shown = pages >= 0
    topics = item_topic[np.where(shown, pages, 0)]
    users = np.broadcast_to(np.arange(n_users)[None, :, None], pages.shape)
    hits = favourite[users, topics] & shown
    return hits.sum(axis=(1, 2)) / np.maximum(shown.sum(axis=(1, 2)), 1)


def coverage(pages: np.ndarray, n_available: np.ndarray, window: int = 5) -> np.ndarray:
    """Per step: distinct items served in the last ``window`` steps / catalogue size then."""
    out = np.zeros(pages.shape[0])
    for s in range(pages.shape[0]):
        served = pages[_window(s, window)]
        distinct = len(np.unique(served[served >= 0]))
        out[s] = distinct / max(int(n_available[s]), 1)
    return out


def intra_list_diversity(pages: np.ndarray, item_topic: np.ndarray) -> np.ndarray:
    """Per step: mean over pages of the share of item pairs with different topics."""
    n_topics = int(item_topic.max()) + 1 if len(item_topic) else 1
    counts = topic_counts(pages, item_topic, n_topics)
    m = counts.sum(axis=-1)
    pairs = m * (m - 1)
    same = (counts * (counts - 1)).sum(axis=-1)
    ild = np.divide(pairs - same, pairs, out=np.zeros_like(pairs), where=pairs > 0)
    valid = pairs > 0
    return np.array(
        [float(ild[s][valid[s]].mean()) if valid[s].any() else 0.0 for s in range(len(pages))]
    )


def topic_counts(pages: np.ndarray, item_topic: np.ndarray, n_topics: int) -> np.ndarray:
    """(n_steps, n_users, n_topics) how often each topic was served to each user per step."""
    n_steps, n_users, k = pages.shape
    shown = pages >= 0
    topics = item_topic[np.where(shown, pages, 0)]
    counts = np.zeros((n_steps, n_users, n_topics))
    s_idx, u_idx, _ = np.indices((n_steps, n_users, k))
    np.add.at(counts, (s_idx[shown], u_idx[shown], topics[shown]), 1.0)
    return counts


def expected_entropy(taste: np.ndarray, n: int, rng: np.random.Generator, draws: int = 64) -> float:
    """Mean entropy of the topics of ``n`` items drawn straight from ``taste`` (Monte Carlo).

    The entropy of a small sample is lower than the entropy of the distribution it came
    from; comparing a feed with a sample of the same size removes that bias.
    """
    if n <= 1:
        return 0.0
    counts = rng.multinomial(n, taste / taste.sum(), size=draws)
    return float(entropy(counts).mean())


def filter_bubble(
    pages: np.ndarray,
    item_topic: np.ndarray,
    tastes: np.ndarray,
    window: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Per step: mean over users of 1 - H(topics shown) / H(as many items drawn from tastes).

    Topics shown are those of the user's last ``window`` pages. 0 means the feed is as
    broad as the user's real tastes, above 0 narrower (a bubble), below 0 broader.
    """
    counts = topic_counts(pages, item_topic, tastes.shape[1])
    cum = np.cumsum(counts, axis=0)
    rng = np.random.default_rng([seed, 17])
    baseline: dict[tuple[int, int], float] = {}
    out = np.zeros(pages.shape[0])
    for s in range(pages.shape[0]):
        lo = s - window
        shown = cum[s] - (cum[lo] if lo >= 0 else 0.0)
        sizes = shown.sum(axis=1).astype(int)
        h_shown = entropy(shown)
        values = []
        for u in np.flatnonzero(sizes > 1).tolist():
            key = (u, int(sizes[u]))
            if key not in baseline:
                baseline[key] = expected_entropy(tastes[u], key[1], rng)
            if baseline[key] > 0:
                values.append(1.0 - h_shown[u] / baseline[key])
        out[s] = float(np.mean(values)) if values else 0.0
    return out


def creator_gini(pages: np.ndarray, creators: np.ndarray, n_creators: int) -> np.ndarray:
    """Per step: Gini of impressions per creator (every creator counts, shown or not)."""
    out = np.zeros(pages.shape[0])
    for s in range(pages.shape[0]):
        served = pages[s][pages[s] >= 0]
        out[s] = gini(np.bincount(creators[served], minlength=n_creators))
    return out


def new_upload_exposure(pages: np.ndarray, arrival_step: np.ndarray, window: int = 5) -> np.ndarray:
    """Per step: share of the uploads that arrived in the last ``window`` steps shown at least once.

    ``arrival_step`` is each item's arrival step (-1 for the starting catalogue). When no
    upload arrived in the window, the latest batch counts; before any arrival it is 0.
    """
    out = np.zeros(pages.shape[0])
    arrived = arrival_step >= 0
    for s in range(pages.shape[0]):
        recent = np.flatnonzero(arrived & (arrival_step > s - window) & (arrival_step <= s))
        if len(recent) == 0:
            past = arrival_step[arrived & (arrival_step <= s)]
            if len(past) == 0:
                continue
            recent = np.flatnonzero(arrival_step == past.max())
        served = pages[_window(s, window)]
        out[s] = np.isin(recent, served[served >= 0]).mean()
    return out


def compute_metrics(
    pages: np.ndarray,
    *,
    item_topic: np.ndarray,
    creators: np.ndarray,
    arrival_step: np.ndarray,
    tastes: np.ndarray,
    favourite: np.ndarray,
    window: int = 5,
    lead: int = 0,
) -> dict[str, np.ndarray]:
    """Every metric of ``METRICS`` as a per-step curve from served pages (n_steps, n_users, k).

    ``pages`` holds item indices, -1 for empty slots; items arriving at step s are
    available from step s on. The first ``lead`` pages come from before step 0 (a burn-in):
    the windows look back into them, but they get no point on the curves.
    """
    if lead:
        arrival_step = np.where(arrival_step >= 0, arrival_step + lead, arrival_step)
    n_steps = pages.shape[0]
    n_available = np.array(
        [int(((arrival_step < 0) | (arrival_step <= s)).sum()) for s in range(n_steps)]
    )
    n_creators = int(creators.max()) + 1 if len(creators) else 1
    curves = {
        "hit_rate": hit_rate(pages, item_topic, favourite),
        "coverage": coverage(pages, n_available, window),
        "diversity": intra_list_diversity(pages, item_topic),
        "bubble": filter_bubble(pages, item_topic, tastes, window),
        "creator_gini": creator_gini(pages, creators, n_creators),
        "new_exposure": new_upload_exposure(pages, arrival_step, window),
    }
    return {name: curve[lead:] for name, curve in curves.items()}
