"""Feed-lab simulations in a child process of their own, so a run never holds the server's GIL.

A simulation is seconds of Python and numpy work. Run in a server thread it stalls every
request (and, under `shortstack demo`, the terminal client sharing the process) until it ends.
``LabRunner`` keeps one long-lived child (``media.runner.Worker``), started on the first run
(it imports the recommender once, about two seconds, then idles); it hands it one run at a
time, kills it when a run takes longer than ``timeout_s`` and when the server stops, and the
next run starts another. This module stays light: the child imports it to find ``simulate``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from shortstack.media.runner import ChildDied, ChildError, TimedOut, Worker


class LabBusy(Exception):
    """Another simulation is running (one at a time per server)."""


class LabFailed(Exception):
    """The simulation raised, timed out or its process died; the message says which."""


_worlds: dict[Any, Any] = {}  # SimulationConfig -> LabWorld: the last world made, kept


def simulate(weights: dict[str, float], users: int, steps: int, seed: int) -> dict[str, Any]:
    """One run of the CLI's world (same users, steps, seed = the numbers of `shortstack simulate`).

    The world (catalogue, users, burn-in: about half of a small run's time) depends on the
    sizes and the seed, not on the weights, and runs do not change it, so the last one is kept:
    a class trying weight after weight waits only for the scrolling.
    """
    from shortstack.recommender.ranking import BlendWeights
    from shortstack.recommender.simulation import SimulationConfig, make_lab_world, run_simulation

    config = SimulationConfig(n_users=users, n_steps=steps, seed=seed)
    world = _worlds.get(config)
    if world is None:
        world = make_lab_world(config)
        _worlds.clear()
        _worlds[config] = world
    result = run_simulation(BlendWeights.from_dict(weights), config, world=world)
    return {
        "weights": result.weights.to_dict(),
        "items": config.n_items,
        "curves": result.curves(),
        "final": result.final(),
        "extra": dict(result.extra),
        "seconds": result.seconds,
    }


class LabRunner:
    """One lab child per server, started on first use; one run at a time."""

    def __init__(self, timeout_s: float = 300.0) -> None:
        self.timeout_s = timeout_s
        self._worker = Worker("shortstack-lab", warm=["shortstack.recommender.simulation"])
        self._busy = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first run and after close)."""
        return self._worker.pid

    async def run(self, **task: Any) -> dict[str, Any]:
        """Run ``simulate(**task)`` in the child; LabBusy, or LabFailed saying what went wrong."""
        if not self._busy.acquire(blocking=False):
            raise LabBusy
        try:
            # started from the event loop's thread: the child's parent-death signal follows
            # the thread that made it, and this one lives as long as the server
            self._worker.ensure()
            return await asyncio.to_thread(self._call, task)
        finally:
            self._busy.release()

    def _call(self, task: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._worker.call(simulate, timeout_s=self.timeout_s, **task)
        except TimedOut as exc:
            raise LabFailed(f"the simulation took longer than {self.timeout_s:g} s") from exc
        except ChildDied as exc:
            raise LabFailed("the simulation process stopped unexpectedly") from exc
        except ChildError as exc:  # an exception that could not travel: its name and message
            raise LabFailed(str(exc)) from exc
        except Exception as exc:  # raised by the run; the child stays up for the next one
            raise LabFailed(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Stop the child (a run in progress is abandoned)."""
        self._worker.close()
