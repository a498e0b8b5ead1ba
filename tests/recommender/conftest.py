"""Shared fixtures for the recommender tests: one small synthetic world, fitted once."""

from __future__ import annotations

import pytest

from shortstack.recommender import Recommender
from shortstack.recommender.synthetic import SyntheticWorld, make_world

# a fixed EASE lambda keeps the fixture fast; lambda selection is tested on its own
RECOMMENDER_PARAMS = {"random_state": 0, "ease_l2": 1000.0}


@pytest.fixture(scope="session")
def recommender_params() -> dict[str, object]:
    return dict(RECOMMENDER_PARAMS)


@pytest.fixture(scope="session")
def world() -> SyntheticWorld:
    return make_world(n_items=1500, n_users=250, n_topics=12, n_views=15_000, seed=7)


@pytest.fixture(scope="session")
def fitted(world: SyntheticWorld) -> Recommender:
    return Recommender(**RECOMMENDER_PARAMS).fit(
        world.catalogue, world.events, world.n_users, world.now
    )
