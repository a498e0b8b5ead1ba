"""Synthetic catalogues, users with hidden topic tastes and their interaction logs (tests, bench, lab)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Catalogue, Events

TOPIC_WORDS: dict[str, list[str]] = {
    "cooking": ["pasta", "recipe", "kitchen", "bake", "spicy", "dinner"],
    "travel": ["beach", "sunset", "city", "hike", "airport", "roadtrip"],
    "fitness": ["workout", "gym", "squat", "cardio", "stretch", "protein"],
    "music": ["guitar", "cover", "piano", "beat", "singing", "concert"],
    "dance": ["choreo", "moves", "tutorial", "trend", "hiphop", "ballet"],
    "comedy": ["prank", "sketch", "joke", "funny", "parody", "standup"],
    "pets": ["puppy", "kitten", "dog", "cat", "parrot", "rescue"],
    "gaming": ["speedrun", "boss", "clutch", "minecraft", "console", "esports"],
    "diy": ["woodwork", "build", "repair", "craft", "glue", "workshop"],
    "fashion": ["outfit", "thrift", "style", "sneakers", "haul", "lookbook"],
    "science": ["experiment", "physics", "chemistry", "space", "rocket", "lab"],
    "garden": ["plants", "seeds", "harvest", "tomato", "compost", "bloom"],
}
GENERIC_WORDS = ["today", "amazing", "first", "try", "best", "quick", "new", "watch", "day", "love"]


@dataclass
class SyntheticWorld:
    """A generated platform: catalogue, users' hidden tastes and their event log."""

    catalogue: Catalogue
    item_topic: np.ndarray  # (n_items,) topic index per item
    topics: list[str]  # topic names (also each item's first hashtag)
    tastes: np.ndarray  # (n_users, n_topics) rows sum to 1
    events: Events
    n_users: int
    now: float


def topic_names(n_topics: int) -> list[str]:
    base = list(TOPIC_WORDS)
    return [base[t] if t < len(base) else f"topic{t}" for t in range(n_topics)]


def make_catalogue(
    n_items: int,
    n_topics: int,
    rng: np.random.Generator,
    *,
    now: float,
    n_creators: int | None = None,
    age_days: float = 30.0,
    visual_dim: int = 0,
) -> tuple[Catalogue, np.ndarray]:
    """Items with a topic each: caption words and hashtags come from the topic."""
    names = topic_names(n_topics)
    n_creators = n_creators or max(1, n_items // 20)
    creator_topic = rng.integers(n_topics, size=n_creators)
    creators = np.minimum(rng.zipf(1.6, size=n_items) - 1, n_creators - 1)
    creators = rng.permutation(n_creators)[creators] if n_creators > 1 else creators * 0
    own = rng.random(n_items) < 0.85
    item_topic = np.where(own, creator_topic[creators], rng.integers(n_topics, size=n_items))
    words = [TOPIC_WORDS.get(name, [f"{name}w{j}" for j in range(6)]) for name in names]
    pick = rng.integers(6, size=(n_items, 2))
    generic = rng.integers(len(GENERIC_WORDS), size=n_items)
    captions, hashtags = [], []
    for i in range(n_items):
        t = int(item_topic[i])
        w = words[t]
        captions.append(f"{w[pick[i, 0]]} {w[pick[i, 1]]} {GENERIC_WORDS[generic[i]]} #{names[t]}")
        hashtags.append([names[t]] + ([w[pick[i, 0]]] if pick[i, 0] % 2 == 0 else []))
    visual = None
    if visual_dim:
        centres = rng.normal(size=(n_topics, visual_dim))
        visual = centres[item_topic] + 0.8 * rng.normal(size=(n_items, visual_dim))
        visual = (visual / np.linalg.norm(visual, axis=1, keepdims=True)).astype(np.float32)
    cat = Catalogue(
        item_ids=[f"v{i:07d}" for i in range(n_items)],
        captions=captions,
        hashtags=hashtags,
        creators=creators,
        created_at=now - rng.random(n_items) * age_days * 86400.0,
        duration_s=rng.uniform(5.0, 60.0, size=n_items),
        visual=visual,
        creator_names=[f"@creator{c}" for c in range(n_creators)],
    )
    return cat, item_topic


def make_tastes(
    n_users: int, n_topics: int, rng: np.random.Generator, favourites: int = 2
) -> np.ndarray:
    """Each user loves ``favourites`` topics and mildly likes the rest."""
    tastes = np.full((n_users, n_topics), 0.15 / max(n_topics, 1))
    for u in range(n_users):
        fav = rng.choice(n_topics, size=min(favourites, n_topics), replace=False)
        tastes[u, fav] += 0.85 / len(fav)
    return tastes / tastes.sum(axis=1, keepdims=True)


def simulate_events(
    tastes: np.ndarray,
    item_topic: np.ndarray,
    duration_s: np.ndarray,
    n_views: int,
    rng: np.random.Generator,
    *,
    now: float,
    span_days: float = 14.0,
    users: np.ndarray | None = None,
    popular_share: float = 0.3,
) -> Events:
    """Views (watch fraction driven by taste) plus the likes/shares/comments/not-interested they cause."""
    n_users, n_topics = tastes.shape
    n_items = len(item_topic)
    quality = rng.lognormal(0.0, 1.0, size=n_items)
    if users is None:
        activity = rng.lognormal(0.0, 1.0, size=n_users)
        users = rng.choice(n_users, size=n_views, p=activity / activity.sum())
    cum = np.cumsum(tastes[users], axis=1)
    topic = (rng.random((len(users), 1)) < cum).argmax(axis=1)
    items = np.empty(len(users), dtype=np.int64)
    for t in range(n_topics):
        idx = np.flatnonzero(topic == t)
        members = np.flatnonzero(item_topic == t)
        if len(idx) == 0:
            continue
        if len(members) == 0:
            items[idx] = rng.integers(n_items, size=len(idx))
            continue
        cdf = np.cumsum(quality[members])
        items[idx] = members[np.searchsorted(cdf, rng.random(len(idx)) * cdf[-1])]
    popular = rng.random(len(users)) < popular_share
    cdf_all = np.cumsum(quality)
    items[popular] = np.searchsorted(cdf_all, rng.random(int(popular.sum())) * cdf_all[-1])
    items = np.minimum(items, n_items - 1)
    affinity = tastes[users, item_topic[items]] / tastes[users].max(axis=1)
    frac = np.where(
        rng.random(len(users)) < affinity,
        rng.uniform(0.7, 1.6, size=len(users)),
        rng.uniform(0.0, 0.3, size=len(users)) * np.minimum(1.0, 4.0 / duration_s[items]),
    )
    ts = now - rng.random(len(users)) * span_days * 86400.0
    rows_u, rows_i, rows_k, rows_v, rows_t = (
        [users],
        [items],
        [np.full(len(users), "view")],
        [frac],
        [ts],
    )
    for kind, prob in (("like", 0.35), ("share", 0.05), ("comment", 0.06)):
        hit = rng.random(len(users)) < prob * affinity * (frac > 0.7)
        rows_u.append(users[hit])
        rows_i.append(items[hit])
        rows_k.append(np.full(int(hit.sum()), kind))
        rows_v.append(np.ones(int(hit.sum())))
        rows_t.append(ts[hit] + 1.0)
    nope = rng.random(len(users)) < 0.03 * (affinity < 0.3)
    rows_u.append(users[nope])
    rows_i.append(items[nope])
    rows_k.append(np.full(int(nope.sum()), "not_interested"))
    rows_v.append(np.ones(int(nope.sum())))
    rows_t.append(ts[nope] + 1.0)
    ev = Events(
        np.concatenate(rows_u),
        np.concatenate(rows_i),
        np.concatenate(rows_k),
        np.concatenate(rows_v),
        np.concatenate(rows_t),
    )
    return ev.subset(np.argsort(ev.ts, kind="stable"))


def make_world(
    *,
    n_items: int = 2000,
    n_users: int = 300,
    n_topics: int = 12,
    n_views: int = 20_000,
    seed: int = 0,
    now: float = 1_700_000_000.0,
    visual_dim: int = 0,
) -> SyntheticWorld:
    """A whole synthetic platform, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    cat, item_topic = make_catalogue(n_items, n_topics, rng, now=now, visual_dim=visual_dim)
    tastes = make_tastes(n_users, n_topics, rng)
    events = simulate_events(tastes, item_topic, cat.duration_s, n_views, rng, now=now)
    return SyntheticWorld(cat, item_topic, topic_names(n_topics), tastes, events, n_users, now)
