"""media.runner: per-call children with a deadline, and a warm worker that is restarted after a kill."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from shortstack.media.errors import InvalidMedia
from shortstack.media.runner import ChildDied, ChildError, TimedOut, Worker, run_isolated


@dataclass(frozen=True)
class Answer:
    pid: int
    value: int


def answer(value: int, *, progress=None) -> Answer:
    for step in (0.25, 0.5, 1.0):
        if progress is not None:
            progress(step)
    return Answer(os.getpid(), value)


def hang(pid_file: Path) -> None:
    pid_file.write_text(str(os.getpid()))
    while True:
        time.sleep(1)


def refuse(message: str) -> None:
    raise InvalidMedia(message)


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # unpickled with one argument: cannot be rebuilt
        super().__init__(f"{a}/{b}")


def refuse_oddly() -> None:
    raise Unpicklable(1, 2)


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as fh:  # a zombie waiting to be reaped is gone too
            if fh.read().split(") ")[1].startswith("Z"):
                return True
        time.sleep(0.05)
    return False


def _wait_for_pid(pid_file: Path) -> int:
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.02)
    return int(pid_file.read_text())


def test_a_call_runs_in_a_fresh_child_and_returns_a_dataclass() -> None:
    seen: list[float] = []
    first = run_isolated(answer, 7, timeout_s=30, progress=seen.append)
    second = run_isolated(answer, 8, timeout_s=30)
    assert isinstance(first, Answer) and first.value == 7
    assert seen == [0.25, 0.5, 1.0]
    assert os.getpid() != first.pid != second.pid


def test_the_deadline_kills_a_hanging_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(TimedOut, match="longer than 1 s"):
        run_isolated(hang, pid_file, timeout_s=1.0)
    assert time.monotonic() - started < 10
    assert _gone(int(pid_file.read_text()))


def test_exceptions_come_back_as_themselves_or_by_name() -> None:
    with pytest.raises(InvalidMedia, match="not today"):
        run_isolated(refuse, "not today", timeout_s=30)
    with pytest.raises(ChildError, match="Unpicklable: 1/2"):
        run_isolated(refuse_oddly, timeout_s=30)


def test_a_worker_stays_warm_and_survives_exceptions() -> None:
    worker = Worker("test-worker")
    try:
        seen: list[float] = []
        first = worker.call(answer, 1, timeout_s=60, progress=seen.append)
        assert isinstance(first, Answer) and first.pid == worker.pid != os.getpid()
        assert seen == [0.25, 0.5, 1.0]
        with pytest.raises(InvalidMedia, match="no"):
            worker.call(refuse, "no", timeout_s=60)
        assert worker.call(answer, 2, timeout_s=60).pid == first.pid
    finally:
        worker.close()
    assert worker.pid is None and _gone(first.pid)


def test_a_worker_past_its_deadline_is_killed_and_the_next_call_restarts_it(tmp_path: Path) -> None:
    worker = Worker("test-worker")
    try:
        warm = worker.call(answer, 1, timeout_s=60).pid
        with pytest.raises(TimedOut):
            worker.call(hang, tmp_path / "pid", timeout_s=1.0)
        assert worker.pid is None and _gone(warm)
        assert worker.call(answer, 2, timeout_s=60).pid not in (warm, None)
    finally:
        worker.close()


def test_a_worker_killed_mid_call_reports_it_and_is_replaced(tmp_path: Path) -> None:
    worker = Worker("test-worker")
    pid_file = tmp_path / "pid"
    try:
        killer = threading.Thread(
            target=lambda: os.kill(_wait_for_pid(pid_file), signal.SIGKILL), daemon=True
        )
        killer.start()
        with pytest.raises(ChildDied, match=f"exit {-signal.SIGKILL}"):
            worker.call(hang, pid_file, timeout_s=60)
        killer.join()
        assert worker.pid is None
        again = worker.call(answer, 3, timeout_s=60)
        assert again.value == 3 and again.pid != int(pid_file.read_text())
        os.kill(again.pid, signal.SIGKILL)  # killed while idle: the next call starts another
        assert _gone(again.pid)
        assert worker.call(answer, 4, timeout_s=60).pid != again.pid
    finally:
        worker.close()
