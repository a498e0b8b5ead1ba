"""Recommender library: numpy + scikit-learn, arrays and dataclasses in and out."""

from .data import Catalogue, Events, Reason, Recommendation, UserState
from .model import Recommender
from .ranking import BlendWeights
from .signals import SignalWeights, user_state_from_events

__all__ = [
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
