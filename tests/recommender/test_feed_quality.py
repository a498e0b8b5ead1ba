"""Synthetic users with hidden tastes: personalisation, real-time updates, not-interested, determinism."""

from __future__ import annotations

import numpy as np

from shortstack.recommender import (
    BlendWeights,
    Events,
    Recommender,
    UserState,
    user_state_from_events,
)
from shortstack.recommender.synthetic import SyntheticWorld

FAVOURITES = (3, 6)  # hidden taste of the test user: topics "music" and "pets"


def _session(rec: Recommender, world: SyntheticWorld, n_interactions: int = 30, seed: int = 1):
    """A brand-new user scrolls pages of 10; watches favourites fully (and likes some), skips the rest."""
    rng = np.random.default_rng(seed)
    user = world.n_users + 5  # unknown to the fitted model
    rows: list[tuple[int, int, str, float, float]] = []
    served: set[int] = set()
    state = UserState()
    now = world.now
    page = 0
    while len(rows) < n_interactions:
        recs = rec.recommend(user, state, k=10, now=now, seed=page)
        assert recs, "the feed never runs dry"
        for r in recs:
            served.add(r.item)
            now += 30.0
            fav = world.item_topic[r.item] in FAVOURITES
            frac = 1.0 if fav else 0.02
            rows.append((user, r.item, "view", frac, now))
            if fav and rng.random() < 0.5:
                rows.append((user, r.item, "like", 1.0, now + 1))
        page += 1
        u, i, k, v, t = zip(*rows, strict=True)
        ev = Events(np.array(u), np.array(i), np.array(k), np.array(v), np.array(t))
        state = user_state_from_events(ev, user, world.catalogue.duration_s, seen=served)
    return user, state, now


def _fav_count(world: SyntheticWorld, items: list[int], topics=FAVOURITES) -> int:
    return int(np.isin(world.item_topic[items], topics).sum())


def test_for_you_beats_popularity_after_30_interactions(world, fitted):
    user, state, now = _session(fitted, world)
    ours = [r.item for r in fitted.recommend(user, state, k=10, now=now)]
    popular = [r.item for r in fitted.trending(k=10, now=now, exclude=state.seen)]
    assert len(ours) == 10 and not set(ours) & state.seen
    assert _fav_count(world, ours) >= max(2 * _fav_count(world, popular), 6)


def test_not_interested_sinks_the_topic_on_the_next_page(world, fitted):
    user, state, now = _session(fitted, world)
    page = fitted.recommend(user, state, k=10, now=now)
    topic = world.item_topic[page[0].item]
    assert _fav_count(world, [r.item for r in page], (topic,)) >= 2
    state.negatives.add(page[0].item)
    state.seen |= {r.item for r in page}
    after = fitted.recommend(user, state, k=10, now=now + 10, seed=1)
    assert len(after) == 10
    assert _fav_count(world, [r.item for r in after], (topic,)) == 0


def test_not_interested_keeps_the_other_tastes(world, fitted):
    rng = np.random.default_rng(0)
    liked = [
        int(i)
        for t in FAVOURITES
        for i in rng.choice(np.flatnonzero(world.item_topic == t), size=8, replace=False)
    ]
    order = rng.permutation(len(liked))
    state = UserState(positives={liked[i]: 2.0 for i in order})
    page = fitted.recommend(None, state, k=10, now=world.now)
    assert _fav_count(world, [r.item for r in page]) >= 6
    rejected = next(r.item for r in page if world.item_topic[r.item] == FAVOURITES[0])
    state.negatives.add(rejected)
    state.seen |= {r.item for r in page}
    after = [r.item for r in fitted.recommend(None, state, k=10, now=world.now, seed=1)]
    assert rejected not in after
    assert _fav_count(world, after, (FAVOURITES[0],)) == 0
    assert _fav_count(world, after, (FAVOURITES[1],)) >= 5


def test_a_like_changes_the_very_next_page_without_refit(world, fitted):
    state = UserState()
    first = fitted.recommend(None, state, k=10, now=world.now)
    liked = first[0].item
    topic = world.item_topic[liked]
    state.positives[liked] = 3.0  # a like + completed watch
    state.seen |= {r.item for r in first}
    second = fitted.recommend(None, state, k=10, now=world.now + 60, seed=1)
    assert _fav_count(world, [r.item for r in second], (topic,)) >= 5
    assert any("Because you liked" in r.explanation or "like '" in r.explanation for r in second)


def test_same_seed_same_page_and_different_seed_moves_exploration(
    world, fitted, recommender_params
):
    user, state, now = _session(fitted, world)
    again = Recommender(**recommender_params).fit(
        world.catalogue, world.events, world.n_users, world.now
    )
    a = fitted.recommend(user, state, k=20, now=now, seed=3)
    b = again.recommend(user, state, k=20, now=now, seed=3)
    assert [(r.item, r.score, r.explanation) for r in a] == [
        (r.item, r.score, r.explanation) for r in b
    ]
    pages = {
        tuple(r.item for r in fitted.recommend(user, state, k=20, now=now, seed=s))
        for s in range(5)
    }
    assert len(pages) > 1


def test_every_result_is_explained(world, fitted):
    user, state, now = _session(fitted, world)
    state.followed_creators.add(int(world.catalogue.creators[0]))
    kinds = set()
    for recs in (
        fitted.recommend(user, state, k=30, now=now),
        fitted.recommend(None, UserState(), k=30, now=now),
        fitted.trending(k=5, now=now),
    ):
        for r in recs:
            assert r.explanation and r.reasons and np.isfinite(r.score)
            for reason in r.reasons:
                assert reason.kind in {
                    "content",
                    "collaborative",
                    "following",
                    "trending",
                    "freshness",
                    "explore",
                }
                assert reason.text
                kinds.add(reason.kind)
    assert {"collaborative", "content", "trending", "explore"} <= kinds


def test_cold_start_is_trending_diverse_and_exploring(world, fitted):
    recs = fitted.recommend(None, UserState(), k=20, now=world.now)
    assert len(recs) == 20
    assert len({world.item_topic[r.item] for r in recs}) >= 6
    assert sum(r.reasons[0].kind == "explore" for r in recs) == 3  # 0.15 of 20
    no_explore = fitted.recommend(
        None, UserState(), k=20, now=world.now, weights=BlendWeights(explore=0)
    )
    assert all(r.reasons[0].kind != "explore" for r in no_explore)


def test_following_brings_the_creators_videos(world, fitted):
    creator = int(np.bincount(world.catalogue.creators).argmax())
    state = UserState(followed_creators={creator})
    recs = fitted.recommend(None, state, k=10, now=world.now, weights=BlendWeights(explore=0))
    assert sum(int(world.catalogue.creators[r.item]) == creator for r in recs) >= 2
    assert any(r.reasons[0].kind == "following" and "follow" in r.explanation for r in recs)
