"""Litestar's per-address rate limiter, keeping a count per window instead of a list of times.

Litestar's ``RateLimitMiddleware`` stores every request's timestamp of the current window as
a JSON list and decodes and re-encodes that list on each request, although only its length is
ever used (a fixed window: ``len(history) >= limit`` is a 429). At the default 1,200 a minute
that is a 1,200-number JSON round trip per request, and with a high limit it grows without
bound. This subclass keeps the same rule, headers and stores (in memory or Redis) with the
entry ``b"count:reset"``: the window's history is a ``range`` of the same length."""

from __future__ import annotations

from time import time
from typing import Any

import anyio
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.stores.base import Store
from litestar.types import ASGIApp, Message, Send


class CountingRateLimitMiddleware(RateLimitMiddleware):
    """``RateLimitMiddleware`` with a counter per window (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig) -> None:
        super().__init__(app, config)
        # the same read-count-write exclusion without a loop turn when uncontended
        self._lock = anyio.Lock(fast_acquire=True)

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        """Litestar's wrapper, appending the RateLimit-* headers to the raw list (no response
        sets them: a 429 is raised before this wrapper exists) instead of setting each with a
        scan of every header."""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message.get("headers")
                if not isinstance(raw, list):
                    raw = message["headers"] = list(raw or ())
                raw.extend(
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in self.create_response_headers(cache_object).items()
                )
            await send(message)

        return send_wrapper

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        now = int(time())
        raw = await store.get(key)
        if raw:
            try:
                count, reset = (int(part) for part in raw.split(b":"))
            except ValueError:  # not ours (a list written by Litestar's own middleware)
                count, reset = 0, 0
            if reset > now:
                return CacheObject(history=range(count), reset=reset)  # type: ignore[arg-type]
        return CacheObject(history=range(0), reset=now + DURATION_VALUES[self.unit])  # type: ignore[arg-type]

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        count = len(cache_object.history) + 1
        cache_object.history = range(count)  # type: ignore[assignment]
        await store.set(key, f"{count}:{cache_object.reset}", expires_in=DURATION_VALUES[self.unit])


def counting_rate_limit(**kwargs: Any) -> RateLimitConfig:
    """A ``RateLimitConfig`` (same arguments) whose middleware counts (see above)."""
    return RateLimitConfig(middleware_class=CountingRateLimitMiddleware, **kwargs)
