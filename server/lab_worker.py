"""Feed-lab simulations in a child process of their own, so a run never holds the server's GIL.

A simulation is seconds of Python and numpy work. Run in a server thread it stalls every
request (and, under `shortstack demo`, the terminal client sharing the process) until it ends.
``LabRunner`` keeps one long-lived child (``media.runner.Worker``), started on the first run
(it imports the recommender once, about two seconds, then idles); it hands it one run at a
time, kills it when a run takes longer than ``timeout_s`` and when the server stops, and the
next run starts another. This module stays light: the child imports it to find ``simulate``.

Runs wait their turn in a fair queue: each user has at most one run queued or running (a
second is ``LabAlreadyQueued``), admins go ahead of everyone else and are never turned away,
others are turned away when ``queue`` runs already wait (``LabBusy``) or when their turn has
not come within ``wait_s``; each refusal says where the run stands.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shortstack.media.runner import ChildDied, ChildError, TimedOut, Worker


class LabBusy(Exception):
    """The lab is taken: the queue is full, or this run's turn did not come in time.

    ``position`` is where the run stands (or would): 1 = next after the one running."""

    def __init__(self, position: int, why: str) -> None:
        super().__init__(why)
        self.position = position


class LabAlreadyQueued(LabBusy):
    """This user already has a run queued (``position`` >= 1) or running (``position`` 0)."""


@dataclass(eq=False)
class _Ticket:
    user: Any
    admin: bool
    go: asyncio.Event = field(default_factory=asyncio.Event)


class LabFailed(Exception):
    """The simulation raised, timed out or its process died; the message says which."""


_worlds: dict[Any, Any] = {}  # SimulationConfig -> LabWorld: the last world made, kept


def simulate(weights: dict[str, float], users: int, steps: int, seed: int) -> dict[str, Any]:
    """One run of the CLI's world (same users, steps, seed = the numbers of `shortstack simulate`).

    The world (catalogue, users, burn-in: about half of a small run's time) depends on the
    sizes and the seed, not on the weights, and runs do not change it, so the last one is kept:
    a class trying weight after weight waits only for the scrolling.
    """
    from threadpoolctl import threadpool_limits

    from shortstack.recommender.ranking import BlendWeights
    from shortstack.recommender.simulation import SimulationConfig, make_lab_world, run_simulation

    config = SimulationConfig(n_users=users, n_steps=steps, seed=seed)
    # one BLAS thread, as API processes rank: the same curves whatever the machine's cores,
    # and no BLAS worker threads spinning against a loaded machine (two lab children were
    # seen stuck for minutes in OpenBLAS's LU under a busy test run)
    with threadpool_limits(1, user_api="blas"):
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
    """One lab child per server, started on first use; one run at a time, the others queued."""

    def __init__(self, timeout_s: float = 300.0, *, queue: int = 4, wait_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.queue = queue
        self.wait_s = wait_s
        self._worker = Worker("shortstack-lab", warm=["shortstack.recommender.simulation"])
        self._waiting: list[_Ticket] = []  # admins first, then in order of arrival
        self._running: _Ticket | None = None
        self._tickets: dict[Any, _Ticket] = {}  # user -> their one ticket

    def position(self, ticket: _Ticket) -> int:
        """0 while running, else 1 + the runs waiting ahead of it."""
        if ticket is self._running:
            return 0
        return self._waiting.index(ticket) + 1 if ticket in self._waiting else 0

    def _advance(self) -> None:
        if self._running is None and self._waiting:
            self._running = self._waiting.pop(0)
            self._running.go.set()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first run and after close)."""
        return self._worker.pid

    async def run(self, *, user: Any = None, admin: bool = False, **task: Any) -> dict[str, Any]:
        """Run ``simulate(**task)`` in the child when ``user``'s turn comes; LabAlreadyQueued,
        LabBusy, or LabFailed saying what went wrong."""
        mine = self._tickets.get(user)
        if mine is not None:
            raise LabAlreadyQueued(self.position(mine), "you already have a simulation queued")
        if not admin and len(self._waiting) >= self.queue:
            raise LabBusy(len(self._waiting) + 1, "the lab's queue is full")
        ticket = _Ticket(user, admin)
        ahead = sum(t.admin for t in self._waiting) if admin else len(self._waiting)
        self._waiting.insert(ahead, ticket)
        self._tickets[user] = ticket
        try:
            self._advance()
            try:
                await asyncio.wait_for(ticket.go.wait(), self.wait_s)
            except TimeoutError:
                raise LabBusy(
                    self.position(ticket), f"its turn did not come within {self.wait_s:g} s"
                ) from None
            # started from the event loop's thread: the child's parent-death signal follows
            # the thread that made it, and this one lives as long as the server
            self._worker.ensure()
            return await asyncio.to_thread(self._call, task)
        finally:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            if self._running is ticket:
                self._running = None
            del self._tickets[user]
            self._advance()

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
