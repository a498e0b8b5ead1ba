"""State many API processes share through one Redis (or Valkey) server (`[cache] url`).

With no cache configured, one process keeps it all in memory (the default, and what
`shortstack demo` runs). With one, every process of every machine behind a load balancer
sees the same:
- stores (Litestar's ``RedisStore``): the API rate-limit counters and the feed cursor chains;
- the feed-chain signing key (set once, first writer wins);
- login-failure counts per account (``SharedLoginLimiter``, atomic ``INCR``);
- live events (``RedisBackplane``): an event published by one process reaches the
  listeners of every process, and a revoked token ends its streams wherever they are;
  ``shortstack refit`` announces a new model artifact the same way (``announce_model``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
from typing import TYPE_CHECKING, Any

from .login_limit import LoginLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .broker import Broker

log = logging.getLogger("shortstack.server")

PREFIX = "shortstack"
EVENTS_CHANNEL = f"{PREFIX}:events"


class CacheUnavailable(RuntimeError):
    """The cache is configured but its client library is missing."""


def connect(url: str) -> Redis:
    """A Redis client for ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
    try:
        from redis.asyncio import Redis
    except ImportError:  # pragma: no cover - depends on the installation
        raise CacheUnavailable(
            "[cache] url is set but the redis client is not installed:"
            " pip install 'shortstack[scale]'"
        ) from None
    return Redis.from_url(url)


async def announce_model(url: str, version: str) -> int:
    """Tell every API process on the cache at ``url`` that model ``version`` is current (from
    ``shortstack refit``); how many processes were listening."""
    client = connect(url)
    try:
        message = {"kind": "model", "version": version}
        return int(await client.publish(EVENTS_CHANNEL, json.dumps(message)))
    finally:
        await client.aclose()


async def shared_key(client: Redis, name: str, nbytes: int = 32) -> bytes:
    """A random secret every process agrees on: the first to ask sets it."""
    key = f"{PREFIX}:key:{name}"
    await client.set(key, secrets.token_bytes(nbytes), nx=True)
    value = await client.get(key)
    assert value is not None
    return bytes(value)


class SharedLoginLimiter(LoginLimiter):
    """``AccountLoginLimiter``'s rule with the counts in Redis: failures per handle in a fixed
    window, from whatever address and whichever process the attempts come."""

    def __init__(self, client: Redis, failures: int, window_s: float) -> None:
        self.client = client
        self.failures = failures
        self.window_s = window_s

    def _key(self, handle: str) -> str:
        return f"{PREFIX}:login:{handle}"

    async def attempt(self, handle: str) -> int | None:
        """Count an attempt on @handle and None; or, when it is locked, the seconds to wait."""
        key = self._key(handle)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.pttl(key)
            count, ttl_ms = await pipe.execute()
        if ttl_ms is None or ttl_ms < 0:  # a new window (or one that lost its expiry)
            await self.client.pexpire(key, int(self.window_s * 1000))
            ttl_ms = int(self.window_s * 1000)
        if count > self.failures:
            await self.client.decr(key)  # a refused attempt is not counted
            return max(1, math.ceil(ttl_ms / 1000))
        return None

    async def succeeded(self, handle: str) -> None:
        """The attempt matched: it was not a failure after all."""
        key = self._key(handle)
        if int(await self.client.get(key) or 0) > 0:
            await self.client.decr(key)


class RedisBackplane:
    """Carries the broker's events and revocations between processes over Redis pub/sub."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, broker: Broker) -> None:
        self._task = asyncio.create_task(self._listen(broker), name="events-backplane")
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self.client.publish(EVENTS_CHANNEL, json.dumps(message, separators=(",", ":")))
        except Exception:  # noqa: BLE001 - a lost live event is logged, never a failed request
            log.warning("publishing a live event to the cache failed", exc_info=True)

    async def _listen(self, broker: Broker) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(EVENTS_CHANNEL)
                    self._ready.set()
                    async for item in pubsub.listen():
                        if item.get("type") != "message":
                            continue
                        try:
                            broker.receive(json.loads(item["data"]))
                        except (ValueError, KeyError, TypeError):
                            log.warning("a malformed live event from the cache was dropped")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect after a cache outage
                log.warning(
                    "the live-event subscription to the cache broke; retrying", exc_info=True
                )
                await asyncio.sleep(1.0)
