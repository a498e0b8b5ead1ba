"""The feed lab's child process: same numbers as in-process, one run at a time, killed on time-out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from shortstack.server.lab_worker import LabBusy, LabFailed, LabRunner, simulate

SMALL = {"weights": {"explore": 0.2}, "users": 6, "steps": 3, "seed": 5}


@pytest.fixture(scope="module")
def lab() -> Iterator[LabRunner]:
    """One runner (and child) for the tests that do not need a fresh one; closed at the end."""
    runner = LabRunner()
    try:
        yield runner
    finally:
        runner.close()
    assert runner.pid is None  # closing kills the child


def test_a_run_happens_in_a_child_and_gives_the_in_process_numbers(lab: LabRunner) -> None:
    out = asyncio.run(lab.run(**SMALL))
    pid = lab.pid
    assert pid is not None and pid != os.getpid()
    here = simulate(**SMALL)
    assert out["curves"] == here["curves"] and out["final"] == here["final"]
    assert out["weights"]["explore"] == 0.2
    other = asyncio.run(lab.run(**{**SMALL, "weights": {"explore": 0.0}}))
    assert other["curves"] != out["curves"]
    again = asyncio.run(lab.run(**SMALL))  # the kept world is as the first run found it
    assert lab.pid == pid  # the child stays for the next run
    assert again["curves"] == out["curves"]


def test_one_run_at_a_time(lab: LabRunner) -> None:
    async def two() -> list:
        return await asyncio.gather(lab.run(**SMALL), lab.run(**SMALL), return_exceptions=True)

    first, second = asyncio.run(two())
    assert isinstance(first, dict)
    assert isinstance(second, LabBusy)


def test_a_run_past_the_deadline_is_stopped_and_the_next_starts_afresh() -> None:
    # far below what a child needs to start Python and import numpy: 0.5 s was, until a
    # warm, quiet CI run finished the small simulation inside it
    lab = LabRunner(timeout_s=0.01)
    try:
        with pytest.raises(LabFailed, match="longer than 0.01 s"):
            asyncio.run(lab.run(**SMALL))
        assert lab.pid is None  # killed, not left running
        lab.timeout_s = 300
        assert asyncio.run(lab.run(**SMALL))["curves"]
    finally:
        lab.close()


def test_an_error_in_the_run_is_reported_and_the_child_stays_up(lab: LabRunner) -> None:
    with pytest.raises(LabFailed, match="ValueError"):
        asyncio.run(lab.run(**{**SMALL, "users": 0}))
    pid = lab.pid
    assert pid is not None
    assert asyncio.run(lab.run(**SMALL))["curves"]
    assert lab.pid == pid
