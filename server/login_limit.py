"""Failed logins per account: a handle that fails too often in a window is locked (429), from
whatever addresses the attempts come, so rotating addresses cannot brute-force one account.

Kept in memory beside Litestar's per-address limiter (a restart forgets the counts), or, with
`[cache] url`, in Redis for every process (``shared.SharedLoginLimiter``, the same rule)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

#: more handles than this are tracked only after forgetting the windows that have ended
MAX_TRACKED = 100_000


@dataclass(slots=True)
class _Window:
    started: float
    failures: int


class LoginLimiter:
    """Failed logins per account: in memory (one process) or shared (many). A base class,
    not a Protocol: Litestar checks a dependency's type with isinstance."""

    async def attempt(self, handle: str) -> int | None:
        raise NotImplementedError

    async def succeeded(self, handle: str) -> None:
        raise NotImplementedError


class AccountLoginLimiter(LoginLimiter):
    """``attempt(handle)`` before checking a password, ``succeeded(handle)`` after a match.

    An attempt counts as a failure from the start (so concurrent guesses cannot all slip
    past the check while their passwords are being hashed); a success gives it back."""

    def __init__(self, failures: int, window_s: float, clock=time.monotonic) -> None:
        self.failures = failures
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    async def attempt(self, handle: str) -> int | None:
        """Count an attempt on @handle and None; or, when it is locked, the seconds to wait.

        Nothing is awaited inside: no other request runs between the check and the count."""
        window = self._current(handle)
        if window is not None and window.failures >= self.failures:
            return max(1, math.ceil(window.started + self.window_s - self._clock()))
        if window is None:
            if len(self._windows) >= MAX_TRACKED:
                self._forget_ended()
            window = self._windows[handle] = _Window(self._clock(), 0)
        window.failures += 1
        return None

    async def succeeded(self, handle: str) -> None:
        """The attempt matched: it was not a failure after all."""
        window = self._current(handle)
        if window is not None and window.failures > 0:
            window.failures -= 1

    def _current(self, handle: str) -> _Window | None:
        window = self._windows.get(handle)
        if window is not None and self._clock() - window.started >= self.window_s:
            del self._windows[handle]
            return None
        return window

    def _forget_ended(self) -> None:
        now = self._clock()
        for handle, window in list(self._windows.items()):
            if now - window.started >= self.window_s:
                del self._windows[handle]
        while len(self._windows) >= MAX_TRACKED:  # all live: drop the oldest
            del self._windows[next(iter(self._windows))]
