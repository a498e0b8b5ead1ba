"""Implicit-feedback weights and their aggregation."""

import numpy as np

from shortstack.recommender import Events, SignalWeights, user_state_from_events
from shortstack.recommender.signals import aggregate, event_weights


def _events(rows):
    u, i, k, v, t = zip(*rows, strict=True)
    return Events(
        np.array(u), np.array(i), np.array(k), np.array(v, dtype=float), np.array(t, dtype=float)
    )


def test_event_weights_cover_each_signal():
    sw = SignalWeights()
    dur = np.array([30.0, 30.0, 30.0])
    ev = _events(
        [
            (0, 0, "view", 1.0, 1),  # full watch
            (0, 1, "view", 0.05, 2),  # 1.5 s -> skip
            (0, 2, "view", 2.0, 3),  # rewatch
            (0, 0, "like", 1, 4),
            (0, 0, "unlike", 1, 5),
            (0, 1, "not_interested", 1, 6),
            (0, 2, "share", 1, 7),
            (0, 2, "comment", 1, 8),
            (0, 2, "follow", 1, 9),
            (0, 2, "impression", 1, 10),
        ]
    )
    w = event_weights(ev, dur, sw)
    assert w[0] == sw.completion
    assert w[1] == sw.skip
    assert w[2] == sw.completion + sw.rewatch
    assert w[3] == -w[4] == sw.like
    assert w[5] == sw.not_interested
    assert (w[6], w[7], w[8], w[9]) == (sw.share, sw.comment, sw.follow, 0.0)


def test_aggregate_positive_negative_and_exposure():
    dur = np.full(4, 20.0)
    ev = _events(
        [
            (0, 0, "view", 1.0, 1),
            (0, 0, "like", 1, 2),
            (0, 1, "view", 1.0, 3),
            (0, 1, "not_interested", 1, 4),  # wins over the watch
            (1, 2, "view", 0.01, 5),  # skip: not a positive
            (1, 3, "view", 0.9, 6),
            (5, 3, "like", 1, 7),  # user beyond n_users: ignored
            (1, 9, "like", 1, 8),  # unknown item: ignored
        ]
    )
    agg = aggregate(ev, 2, 4, dur, SignalWeights())
    pos = agg.positives.toarray()
    assert pos[0, 0] == 3.0 and pos[0, 1] == 0 and pos[1, 2] == 0 and pos[1, 3] > 0
    assert agg.negatives.toarray()[0, 1] == 1
    assert agg.exposure.tolist() == [1, 1, 1, 1]
    assert agg.last_ts[0, 0] == 2.0


def test_user_state_orders_positives_oldest_first():
    dur = np.full(5, 20.0)
    ev = _events(
        [
            (3, 4, "view", 1.0, 10),
            (3, 1, "like", 1, 5),
            (3, 2, "view", 1.0, 20),
            (3, 3, "not_interested", 1, 30),
            (2, 0, "like", 1, 40),
        ]
    )
    st = user_state_from_events(ev, 3, dur, followed_creators={7})
    assert list(st.positives) == [1, 4, 2]
    assert st.negatives == {3}
    assert st.followed_creators == {7}
    assert st.seen == {1, 2, 3, 4}


def test_one_rule_per_kind_and_exposure_never_makes_seen():
    from shortstack.recommender.signals import KIND_WEIGHTS, kind_weights

    sw = SignalWeights(like=4.0)
    fixed = kind_weights(sw)
    assert fixed["like"] == -fixed["unlike"] == 4.0
    assert set(fixed) == {k for k, r in KIND_WEIGHTS.items() if r is not None} - {"view"}
    dur = np.array([30.0, 30.0, 30.0])
    ev = _events(
        [(0, 0, "impression", 1, 1), (0, 1, "view", 1.0, 2), (0, 2, "like", 1, 3)]
        + [(0, 2, "impression", 1, 4)]
    )
    st = user_state_from_events(ev, 0, dur, sw, max_positives=None, negatives={2})
    assert st.seen == {1, 2}  # the impression alone does not make item 0 seen
    assert st.positives == {1: 1.0}  # item 2 is a standing not-interested mark
    assert st.negatives == {2}
    assert list(user_state_from_events(ev, 0, dur, sw, max_positives=1).positives) == [2]
    assert user_state_from_events(ev, 0, dur, sw, max_positives=0).positives == {}
