"""Run a function in a child process with a hard deadline: per call, or in a warm long-lived worker.

FFmpeg can hang a process at close (frame-threaded decoding stopped early), a hostile file can
make a demuxer spin or eat memory, and seconds of numpy hold the GIL, so servers and scale-out
workers run such work in children. Two modes, one protocol:

- ``run_isolated(fn, ...)``: a fresh child per call, forked from a fork server (a clean,
  single-threaded process that imported the media library once, so a child starts in
  milliseconds and inherits none of the caller's threads or sockets). For hostile input: the
  child also sets an alarm of its own, so it ends even when nobody is left to kill it.
- ``Worker``: one spawned child that imports what it needs once and then runs call after
  call. It dies with its parent (Linux parent-death signal), is killed when a call passes its
  deadline or the worker is closed, and is started again on the next call.

``fn`` is any module-level function (it is pickled by reference); arguments and results cross
as pickles, so pass dataclasses. Exceptions raised in the child are raised again in the caller
with their own type; ``TimedOut`` and ``ChildDied`` say what happened to the child itself.
Only the standard library is imported here: the spawned worker imports this module first.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

#: what the fork server imports once, so every per-call child has it already
FORKSERVER_PRELOAD = ["shortstack.media.runner", "shortstack.media.probe"]


class RunnerError(Exception):
    """The child did not answer: it ran out of time or died."""


class TimedOut(RunnerError):
    """The call took longer than its deadline; the child was killed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"took longer than {timeout_s:g} s and was stopped")
        self.timeout_s = timeout_s


class ChildDied(RunnerError):
    """The child ended without answering (killed, crashed, out of memory)."""

    def __init__(self, exitcode: int | None, memory_limit_mb: int | None = None) -> None:
        why = f"stopped unexpectedly (exit {exitcode})"
        if memory_limit_mb:  # native code that cannot allocate often aborts instead of raising
            why += f"; it may have needed more than its {memory_limit_mb} MiB of memory"
        super().__init__(why)
        self.exitcode = exitcode


#: a call that failed with its child's address space this close to the ceiling ran out of memory
CEILING_MARGIN_MB = 64
#: malloc arenas of a child under a memory ceiling (glibc's default is 8 per core)
MALLOC_ARENAS = 4


class OutOfMemory(RunnerError):
    """The call needed more memory than the child's ceiling (``memory_limit_mb``).

    ``detail`` is the error the call failed with, when the shortage showed up as another error
    (FFmpeg and x264 report a failed allocation as a generic library error)."""

    def __init__(self, limit_mb: int, detail: str = "") -> None:
        message = f"needed more than {limit_mb} MiB of memory and was stopped"
        super().__init__(f"{message} ({detail})" if detail else message)
        self.limit_mb = limit_mb
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[int, str]]:
        return OutOfMemory, (self.limit_mb, self.detail)


def limit_memory(limit_mb: int | None) -> None:
    """Cap this process's address space at ``limit_mb`` MiB (RLIMIT_AS): an allocation past it
    fails (MemoryError) instead of the machine swapping or the OOM killer picking a victim.
    None or 0: no ceiling. A no-op where ``resource`` is missing (Windows)."""
    if not limit_mb:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    ceiling = limit_mb * 1024 * 1024
    try:  # glibc reserves 64 MiB of address space per malloc arena (one per busy thread,
        # x264 runs dozens): a few arenas keep the ceiling about memory, not the core count
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))


def _peak_mb() -> float | None:
    """The largest address space this process has had, in MiB (Linux; else None)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _at_ceiling(memory_limit_mb: int | None) -> bool:
    """True when this process has come within CEILING_MARGIN_MB of its memory ceiling."""
    peak = _peak_mb() if memory_limit_mb else None
    return peak is not None and peak >= memory_limit_mb - CEILING_MARGIN_MB


class ChildError(Exception):
    """An exception from the child that could not be sent back as itself (``Type: message``)."""


def die_with_parent() -> None:
    """Linux: ask the kernel to kill this process when its parent dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        parent = multiprocessing.parent_process()
        if parent is not None and os.getppid() != parent.pid:
            os._exit(0)  # the parent died while this child was starting: nobody will send work
    except (OSError, AttributeError):
        pass


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip, else a ChildError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ChildError(f"{type(exc).__name__}: {exc}")
    return exc


def _perform(
    conn: Connection,
    fn: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    relay: bool,
    memory_limit_mb: int | None = None,
) -> None:
    """Child side of one call: run it, relay progress, answer ("done", result) or ("raised", exc).

    Under a memory ceiling, a MemoryError (Python, numpy, FFmpeg's ENOMEM), or any error once
    the address space has reached the ceiling, is answered as OutOfMemory."""
    if relay:
        kwargs = {**kwargs, "progress": lambda fraction: conn.send(("progress", fraction))}
    try:
        answer: tuple[str, Any] = ("done", fn(*args, **kwargs))
    except MemoryError:
        answer = ("raised", OutOfMemory(memory_limit_mb) if memory_limit_mb else MemoryError())
    except Exception as exc:  # raised again in the caller
        if memory_limit_mb and _at_ceiling(memory_limit_mb):
            answer = ("raised", OutOfMemory(memory_limit_mb, str(exc)[:300]))
        else:
            answer = ("raised", _portable(exc))
    try:
        conn.send(answer)
    except Exception as exc:  # an unpicklable result
        conn.send(("raised", ChildError(f"the result could not be sent back: {exc!r}")))


def _await(
    conn: Connection,
    proc: BaseProcess,
    timeout_s: float,
    progress: Callable[[float], None] | None,
    memory_limit_mb: int | None = None,
    *,
    deadline: float,
) -> tuple[str, Any]:
    """Parent side of one call: relay progress until the answer, ("done", result) or ("raised",
    exc). TimedOut or ChildDied when none comes by ``deadline`` (monotonic, set when the call
    began: a busy machine that is slow to get here does not stretch it); anything raised
    here leaves the child busy."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimedOut(timeout_s)
        try:
            if not conn.poll(min(remaining, 0.5)):
                if not proc.is_alive() and not conn.poll(0):
                    raise ChildDied(proc.exitcode, memory_limit_mb)
                continue
            kind, payload = conn.recv()
        except (EOFError, OSError) as exc:
            proc.join(1.0)
            raise ChildDied(proc.exitcode, memory_limit_mb) from exc
        if kind != "progress":
            return kind, payload
        if progress is not None:
            progress(payload)


def _answer(kind: str, payload: Any) -> Any:
    """The call's result, or the exception it raised in the child, raised here."""
    if kind == "raised":
        raise payload
    return payload


def _kill(proc: BaseProcess | None) -> None:
    if proc is not None and proc.is_alive():
        proc.kill()
        proc.join(5.0)


def forkserver_context() -> BaseContext:
    """The fork-server context preloading the media library (spawn where forking is absent).

    Each child still imports the caller's ``__main__`` when that is a script (a console script
    such as ``shortstack``: about 0.1 s); started as ``python -m shortstack`` it does not.
    Preloading "__main__" does not help on Python 3.11 (the fork server never gets its path).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


def _one_call(
    conn: Connection,
    fn: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    relay: bool,
    timeout_s: float,
    memory_limit_mb: int | None = None,
) -> None:
    if hasattr(signal, "alarm"):  # SIGALRM ends the process if nobody kills it
        signal.alarm(math.ceil(timeout_s) + 5)
    limit_memory(memory_limit_mb)
    try:
        _perform(conn, fn, args, kwargs, relay, memory_limit_mb)
    finally:
        conn.close()


def run_isolated(
    fn: Callable[..., Any],
    *args: Any,
    timeout_s: float,
    progress: Callable[[float], None] | None = None,
    memory_limit_mb: int | None = None,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a fresh child, killed after ``timeout_s``. Blocking.

    With ``progress``, ``fn`` gets a ``progress`` callback of its own whose calls reach
    ``progress`` in the calling thread. ``memory_limit_mb`` caps the child's address space.
    Raises what ``fn`` raised, TimedOut, OutOfMemory or ChildDied.
    """
    deadline = time.monotonic() + timeout_s
    ctx = forkserver_context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_one_call,
        args=(sender, fn, args, kwargs, progress is not None, timeout_s, memory_limit_mb),
        daemon=True,
        name=f"shortstack-{getattr(fn, '__name__', 'call')}",
    )
    proc.start()
    sender.close()
    try:
        kind, payload = _await(
            receiver, proc, timeout_s, progress, memory_limit_mb, deadline=deadline
        )
    except BaseException:
        _kill(proc)
        raise
    finally:
        receiver.close()
    proc.join(2.0)  # it answered: it is on its way out
    _kill(proc)
    return _answer(kind, payload)


def _worker_main(conn: Connection, warm: Sequence[str], memory_limit_mb: int | None = None) -> None:
    """The long-lived child: import ``warm`` now, then answer calls until told to stop."""
    die_with_parent()
    limit_memory(memory_limit_mb)
    for module in warm:  # now, while the worker idles, not when the first call waits
        importlib.import_module(module)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        _perform(conn, *task, memory_limit_mb)
        if _at_ceiling(memory_limit_mb):
            return  # a fresh child next time: its peak would mark any later failure as memory


class Worker:
    """One long-lived spawned child running one call at a time; restarted after a kill.

    Start it (``ensure``) from a thread that lives as long as the caller, e.g. the event loop's:
    the child's parent-death signal follows the thread that made it.
    """

    def __init__(
        self, name: str, warm: Sequence[str] = (), *, memory_limit_mb: int | None = None
    ) -> None:
        self.name = name
        self.warm = tuple(warm)
        self.memory_limit_mb = memory_limit_mb  # the child's address-space ceiling, in MiB
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._calls = threading.Lock()
        self.started = False  # a child was started once (a lazy worker starts on its first call)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first start and after a kill)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def ensure(self) -> None:
        """Start the child if it is not running."""
        if self.pid is not None:
            return
        self.close()
        parent_end, child_end = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child_end, self.warm, self.memory_limit_mb),
            daemon=True,
            name=self.name,
        )
        proc.start()
        child_end.close()
        self._proc, self._conn = proc, parent_end
        self.started = True

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout_s: float,
        progress: Callable[[float], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """``fn(*args, **kwargs)`` in the child. Blocking: call it from a thread.

        Raises what ``fn`` raised (the child stays up), or TimedOut / OutOfMemory / ChildDied
        (the child is gone; the next call starts another). ``progress`` as in ``run_isolated``.
        """
        with self._calls:
            self.ensure()
            deadline = time.monotonic() + timeout_s  # from the send: a queued call waits free
            proc, conn = self._proc, self._conn  # close() may reset the fields meanwhile
            assert proc is not None and conn is not None
            try:
                conn.send((fn, args, kwargs, progress is not None))
                kind, payload = _await(
                    conn, proc, timeout_s, progress, self.memory_limit_mb, deadline=deadline
                )
            except (OSError, EOFError) as exc:  # the pipe broke while sending
                self._forget(proc)
                raise ChildDied(proc.exitcode, self.memory_limit_mb) from exc
            except BaseException:  # timed out, died, or this thread gave up: the child goes
                self._forget(proc)
                raise
            if kind == "raised" and isinstance(payload, OutOfMemory):  # not trusted again
                self._forget(proc)
        return _answer(kind, payload)

    def _forget(self, proc: BaseProcess) -> None:
        """Kill ``proc`` and, if it is still this worker's child, drop it."""
        if self._proc is proc:
            self.close()
        else:
            _kill(proc)

    def close(self) -> None:
        """Kill the child now (a call in progress ends with ChildDied)."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()
        _kill(proc)

    def stop(self, grace_s: float = 2.0) -> None:
        """Ask the child to finish, wait ``grace_s`` for it, then kill it."""
        proc, conn = self._proc, self._conn
        if proc is not None and conn is not None and proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            proc.join(grace_s)
        self.close()
