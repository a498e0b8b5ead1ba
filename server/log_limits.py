"""Bounded error logs: a repeated condition is logged once per interval, not once per event.

Out of file descriptors, asyncio's accept loop reports every failed ``accept()`` with a
traceback (up to a hundred per loop tick) and every request that needs a file fails with
one: megabytes a second of the same lines. ``RepeatFilter`` lets the first record of a kind
through per interval (one line without traceback for resource exhaustion), counts the rest
and says how many it held back with the next one that passes.
"""

from __future__ import annotations

import errno
import logging
import threading
import time

#: the loggers a flood comes from: asyncio's accept loop, uvicorn, our unhandled errors, jobs,
#: the feed engine's refreshes
LOGGERS = ("asyncio", "uvicorn.error", "shortstack.server", "shortstack.jobs", "shortstack.feed")
EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
MAX_KINDS = 1000


class RepeatFilter(logging.Filter):
    """Passes a record of a kind (logger, message, exception type and errno) once per interval."""

    def __init__(self, interval_s: float = 10.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[tuple, tuple[float, int]] = {}  # kind -> (last passed, held back since)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        message = str(record.msg).split("\n", 1)[0]
        kind = (record.name, message, type(exc).__name__, getattr(exc, "errno", None))
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(kind, (None, 0))
            if last is not None and now - last < self.interval_s:
                self._last[kind] = (last, held + 1)
                return False
            if len(self._last) >= MAX_KINDS:
                self._last.clear()
            self._last[kind] = (now, 0)
        if isinstance(exc, OSError) and exc.errno in EXHAUSTED:
            # the traceback says nothing here: one line, the condition and the error
            record.msg = f"{record.getMessage().splitlines()[0]}: {exc}"
            record.args = None
            record.exc_info, record.exc_text = None, None
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last {now - last:.0f} s)"
        return True


def install(interval_s: float) -> RepeatFilter:
    """Put one RepeatFilter on the flood-prone loggers (again: only its interval changes)."""
    found = None
    for name in LOGGERS:
        logger = logging.getLogger(name)
        found = found or next((f for f in logger.filters if isinstance(f, RepeatFilter)), None)
    repeat = found or RepeatFilter(interval_s)
    repeat.interval_s = interval_s
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if repeat not in logger.filters:
            logger.addFilter(repeat)
    return repeat
