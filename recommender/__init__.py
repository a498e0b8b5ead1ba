"""Recommender library: numpy + scikit-learn, arrays and dataclasses in and out.

The server loads rows into ``Catalogue`` (videos, index = position) and ``Events`` (the
interaction log), fits a ``Recommender`` in a background job, and per request builds a
``UserState`` with ``user_state_from_events`` (the same signal rules as fitting) and
calls ``recommend`` / ``trending``. Each result is a ``Recommendation(item, score,
reasons, explanation)``. ``evaluation.run_evaluation`` / ``format_table`` back
``shortstack eval``; ``synthetic`` generates worlds for tests, benchmarks and the lab.

Names are imported lazily, so ``shortstack.recommender.weights`` (plain dataclasses, read
by the server's config) loads without numpy or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EVENT_KINDS": "signals",
    "BlendWeights": "weights",
    "Catalogue": "data",
    "Events": "data",
    "Reason": "data",
    "Recommendation": "data",
    "Recommender": "model",
    "SignalWeights": "weights",
    "UserState": "data",
    "user_state_from_events": "signals",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
