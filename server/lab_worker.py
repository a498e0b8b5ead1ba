"""Feed-lab simulations in a child process of their own, so a run never holds the server's GIL.

A simulation is seconds of Python and numpy work. Run in a server thread it stalls every
request (and, under `shortstack demo`, the terminal client sharing the process) until it ends.
``LabRunner`` starts one spawned child on the first run (it imports the recommender once,
about two seconds, then idles), hands it one run at a time over a pipe, kills it when a run
takes longer than ``timeout_s`` and when the server stops. This module stays light: the child
imports it before anything else.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import threading
from multiprocessing.connection import Connection
from typing import Any


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


def child_main(conn: Connection) -> None:
    """Loop: take a run's keyword arguments, answer ("done", summary) or ("error", message)."""
    from .transcode_worker import die_with_parent

    die_with_parent()
    import shortstack.recommender.simulation  # noqa: F401  (now, not when the first run waits)

    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            conn.send(("done", simulate(**task)))
        except Exception as exc:  # reported to the caller; the child stays up for the next run
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class LabRunner:
    """One lab child per server, started on first use; one run at a time."""

    def __init__(self, timeout_s: float = 300.0) -> None:
        self.timeout_s = timeout_s
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self._busy = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first run and after close)."""
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    async def run(self, **task: Any) -> dict[str, Any]:
        """Run ``simulate(**task)`` in the child; LabBusy, or LabFailed saying what went wrong."""
        if not self._busy.acquire(blocking=False):
            raise LabBusy
        try:
            if self.pid is None:
                # started from the event loop's thread: the child's parent-death signal follows
                # the thread that made it, and this one lives as long as the server
                self._start()
            return await asyncio.to_thread(self._call, task)
        finally:
            self._busy.release()

    def _start(self) -> None:
        self.close()
        receiver, sender = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=child_main, args=(sender,), daemon=True, name="shortstack-lab"
        )
        proc.start()
        sender.close()
        self._proc, self._conn = proc, receiver

    def _call(self, task: dict[str, Any]) -> dict[str, Any]:
        conn = self._conn
        assert conn is not None
        try:
            conn.send(task)
            if not conn.poll(self.timeout_s):
                self.close()
                raise LabFailed(f"the simulation took longer than {self.timeout_s:g} s")
            kind, payload = conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise LabFailed("the simulation process stopped unexpectedly") from exc
        if kind != "done":
            raise LabFailed(payload)
        return payload

    def close(self) -> None:
        """Stop the child (a run in progress is abandoned)."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5)
