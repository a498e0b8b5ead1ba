"""Edge cases the server hits: empty log, empty catalogue, unknown users, late uploads, deletions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shortstack.recommender import BlendWeights, Catalogue, Events, Recommender, UserState
from shortstack.recommender.synthetic import make_catalogue

NOW = 1_700_000_000.0


def _catalogue(n: int, seed: int = 0) -> Catalogue:
    cat, _ = make_catalogue(n, 6, np.random.default_rng(seed), now=NOW)
    return cat


def _grow(cat: Catalogue, captions: list[str], tags: list[list[str]], now: float) -> Catalogue:
    m = len(captions)
    return Catalogue(
        item_ids=cat.item_ids + [f"new{j}" for j in range(m)],
        captions=cat.captions + captions,
        hashtags=cat.hashtags + tags,
        creators=np.concatenate([cat.creators, np.zeros(m, dtype=np.int64)]),
        created_at=np.concatenate([cat.created_at, np.full(m, now)]),
        duration_s=np.concatenate([cat.duration_s, np.full(m, 15.0)]),
        creator_names=cat.creator_names,
    )


def test_never_fitted_and_empty_inputs_do_not_raise():
    rec = Recommender()
    assert rec.recommend(None, UserState(), k=10, now=NOW) == []
    assert rec.trending(k=10, now=NOW) == []
    rec.fit(Catalogue.empty(), Events.empty(), 0, NOW)
    assert rec.recommend(3, UserState(positives={5: 1.0}, seen={1}), k=10, now=NOW) == []
    assert rec.trending(k=10, now=NOW) == []


def test_empty_log_still_serves_fresh_and_explore():
    cat = _catalogue(50)
    rec = Recommender().fit(cat, Events.empty(), 0, NOW)
    recs = rec.recommend(None, UserState(), k=10, now=NOW)
    assert len(recs) == 10 and len({r.item for r in recs}) == 10
    assert rec.trending(k=5, now=NOW)[0].reasons[0].kind == "freshness"
    liked = rec.recommend(0, UserState(positives={recs[0].item: 2.0}), k=10, now=NOW)
    assert len(liked) == 10 and any(r.reasons[0].kind == "content" for r in liked)


@pytest.mark.parametrize("user", [None, -7, -1, 0, 10_000])
def test_unknown_users_and_junk_state(user):
    cat = _catalogue(80)
    ev = Events(
        [0, 1, 1], [1, 2, 3], ["like", "view", "share"], [1, 1.0, 1], [NOW - 5, NOW - 4, NOW - 3]
    )
    rec = Recommender().fit(cat, ev, 2, NOW)
    state = UserState(
        positives={-3: 1.0, 999: 2.0, 4: float("nan"), 5: 1.0},
        negatives={-1, 10_000, 6},
        followed_creators={-5, 99_999},
        seen={-2, 7, 10**9},
    )
    recs = rec.recommend(user, state, k=10, now=NOW + 1e6, exclude={8, -9})
    items = [r.item for r in recs]
    assert len(items) == 10 and not {5, 6, 7, 8} & set(items)
    assert rec.recommend(user, state, k=0, now=NOW) == []
    all_weights_zero = BlendWeights(0, 0, 0, 0, 0, 0)
    assert len(rec.recommend(user, state, k=10, now=NOW, weights=all_weights_zero)) == 10


def test_everything_seen_returns_what_is_left():
    cat = _catalogue(12)
    rec = Recommender().fit(cat, Events.empty(), 0, NOW)
    state = UserState(seen=set(range(10)))
    recs = rec.recommend(None, state, k=10, now=NOW)
    assert sorted(r.item for r in recs) == [10, 11]
    state.seen |= {10, 11}
    assert rec.recommend(None, state, k=10, now=NOW) == []


def test_what_was_watched_before_the_fit_does_not_come_back_until_the_catalogue_runs_out():
    cat = _catalogue(60)
    rec = Recommender(random_state=0).fit(cat, Events.empty(), 0, NOW)
    first = [r.item for r in rec.recommend(0, UserState(), k=10, now=NOW)]
    # user 0 skipped all ten (a view of 5 %: no positive signal), user 1 never saw them
    n = len(first)
    ev = Events([0] * n, first, ["view"] * n, [0.05] * n, [NOW + j for j in range(n)])
    rec = Recommender(random_state=0).fit(cat, ev, 2, NOW + 60)
    again = [r.item for r in rec.recommend(0, UserState(), k=10, now=NOW + 60)]
    assert len(again) == 10 and not set(again) & set(first)
    other = [r.item for r in rec.recommend(1, UserState(), k=10, now=NOW + 60)]
    assert set(other) & set(first)  # only the viewer's own history is held back
    # a catalogue smaller than what is left to watch comes round again rather than running dry
    skipped = Events([0] * 10, list(range(10)), ["view"] * 10, [0.05] * 10, [NOW] * 10)
    small = Recommender(random_state=0).fit(cat.head(15), skipped, 1, NOW + 60)
    assert len(small.recommend(0, UserState(), k=10, now=NOW + 60)) == 10


def test_new_uploads_after_fit_are_reachable_and_deletions_vanish():
    cat = _catalogue(300, seed=1)
    rng = np.random.default_rng(0)
    users = rng.integers(40, size=2000)
    items = rng.integers(300, size=2000)
    ev = Events(
        users, items, np.full(2000, "view"), np.full(2000, 1.0), NOW - rng.random(2000) * 1e5
    )
    rec = Recommender().fit(cat, ev, 40, NOW)
    later = NOW + 3600
    grown = _grow(cat, ["zebra stripes savanna #zebra"], [["zebra"]], later)
    # delete item 0 (the server drops it from the catalogue; positions shift)
    shrunk = replace(
        grown,
        item_ids=grown.item_ids[1:],
        captions=grown.captions[1:],
        hashtags=grown.hashtags[1:],
        creators=grown.creators[1:],
        created_at=grown.created_at[1:],
        duration_s=grown.duration_s[1:],
    )
    rec.update_catalogue(shrunk)
    new_item = len(shrunk.item_ids) - 1
    # content: someone who liked another zebra video (also new) gets it
    grown2 = _grow(shrunk, ["zebra foal savanna #zebra"], [["zebra"]], later)
    rec.update_catalogue(grown2)
    recs = rec.recommend(None, UserState(positives={new_item + 1: 2.0}), k=10, now=later)
    assert recs[0].item == new_item and recs[0].reasons[0].kind == "content"
    # exploration: anonymous users see it on some pages
    seen_by = sum(
        any(r.item == new_item for r in rec.recommend(None, UserState(), k=10, now=later, seed=s))
        for s in range(60)
    )
    assert seen_by >= 1
    # the fitted history of known users still maps onto the shifted positions
    assert len(rec.recommend(int(users[0]), UserState(), k=10, now=later)) == 10


def test_update_catalogue_on_a_copy_leaves_the_original_serving():
    import copy

    cat = _catalogue(120, seed=2)
    rng = np.random.default_rng(1)
    ev = Events(
        rng.integers(20, size=600),
        rng.integers(120, size=600),
        np.full(600, "like"),
        np.ones(600),
        NOW - rng.random(600) * 1e4,
    )
    rec = Recommender().fit(cat, ev, 20, NOW)
    before = [r.item for r in rec.recommend(3, UserState(), k=10, now=NOW)]
    grown = _grow(cat, ["brand new clip #fresh"], [["fresh"]], NOW + 10)
    copy.copy(rec).update_catalogue(grown)
    assert [r.item for r in rec.recommend(3, UserState(), k=10, now=NOW)] == before
    assert rec.catalogue_.n_items == 120
