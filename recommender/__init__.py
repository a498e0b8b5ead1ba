"""Recommender library: numpy + scikit-learn, arrays and dataclasses in and out.

The server loads rows into ``Catalogue`` (videos, index = position) and ``Events`` (the
interaction log), fits a ``Recommender`` in a background job, and per request builds a
``UserState`` (recent positives oldest first, not-interested, followed creators, seen) and
calls ``recommend`` / ``trending``. Each result is a ``Recommendation(item, score,
reasons, explanation)``. ``evaluation.run_evaluation`` / ``format_table`` back
``shortstack eval``; ``synthetic`` generates worlds for tests, benchmarks and the lab.
"""

from .data import EVENT_KINDS, Catalogue, Events, Reason, Recommendation, UserState
from .model import Recommender
from .ranking import BlendWeights
from .signals import SignalWeights, user_state_from_events

__all__ = [
    "EVENT_KINDS",
    "BlendWeights",
    "Catalogue",
    "Events",
    "Reason",
    "Recommendation",
    "Recommender",
    "SignalWeights",
    "UserState",
    "user_state_from_events",
]
