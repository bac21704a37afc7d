"""Rate limits that every server process shares, so running N processes does not allow N times
as much: counters live in Redis when ``REDIS_URL`` is set, in this process's memory otherwise.

The counting is the ``limits`` library's moving window (exact: the last N hits within the
window). A limiter protects the service; it must not become the thing that breaks it, so when
its storage (Redis) fails, requests are let through and the failure is logged (fail open).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from tidings.config import Settings
from tidings.errors import TooManyRequests

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0
"""A Redis that does not answer within this is treated as down (the request goes through)."""
FAIL_OPEN_SECONDS = 5.0
"""After a storage failure, limits are skipped this long instead of waiting on Redis again."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One named limit: ``name`` keeps its counters apart from other limits' counters."""

    name: str
    item: RateLimitItem


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured limits (README, "Limits and abuse"), parsed once from the settings."""

    register: Limit
    send: Limit
    friend_request: Limit
    friend_request_target: Limit
    login_per_name_and_address: Limit
    login_per_address: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        login_window = settings.login_window_seconds
        return cls(
            register=Limit("register", parse(settings.rate_limit_register)),
            send=Limit("send", parse(settings.rate_limit_send)),
            friend_request=Limit("friend-request", parse(settings.rate_limit_friend_request)),
            friend_request_target=Limit(
                "friend-request-target", parse(settings.rate_limit_friend_request_target)
            ),
            login_per_name_and_address=Limit(
                "login-name-address",
                RateLimitItemPerSecond(settings.login_attempts_per_window, login_window),
            ),
            login_per_address=Limit(
                "login-address",
                RateLimitItemPerSecond(settings.login_attempts_per_address, login_window),
            ),
        )


class _MemoryStorage(MemoryStorage):
    """``limits``' memory storage, with a ``clear`` that its background expiry survives.

    The expiry task walks a snapshot of the keys and reads ``events[key]``; the library's
    ``clear`` deletes that entry, so a clear during a walk raised ``KeyError`` in the task
    (limits 5.8). Emptying the list instead leaves the removal to the walk.
    """

    async def clear(self, key: str) -> None:
        if key in self.events:
            self.events[key] = []
        self.storage.pop(key, None)
        self.expirations.pop(key, None)


def make_storage(settings: Settings) -> Storage:
    """Redis (keys under ``<REDIS_PREFIX>:ratelimit``) when configured, else memory."""
    if not settings.redis_url:
        return _MemoryStorage()
    return RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}:ratelimit",
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


class RateLimiter:
    """Counts hits per limit and key; refuses with ``TooManyRequests`` (429, Retry-After).

    Fails open: if the storage raises (Redis down, slow or refusing), the request is allowed,
    a warning is logged once per outage, and the storage is left alone for
    ``FAIL_OPEN_SECONDS`` so that requests do not each wait for a dead Redis.
    """

    def __init__(self, storage: Storage, limits: Limits) -> None:
        self.storage = storage
        self.limits = limits
        self._strategy = MovingWindowRateLimiter(storage)
        self._skip_until = 0.0
        self._failing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(make_storage(settings), Limits.from_settings(settings))

    def _available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _storage_failed(self, error: Exception) -> None:
        self._skip_until = time.monotonic() + FAIL_OPEN_SECONDS
        if not self._failing:
            self._failing = True
            logger.warning("rate limits are not enforced: their storage failed: %r", error)

    def _storage_ok(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("rate limits are enforced again: their storage answers")

    async def _retry_after(self, limit: Limit, key: tuple[str, ...]) -> float:
        stats = await self._strategy.get_window_stats(limit.item, limit.name, *key)
        return max(1.0, stats.reset_time - time.time())

    async def hit(self, limit: Limit, *key: str, detail: str, code: str = "rate_limited") -> None:
        """Count one hit on ``limit`` for ``key``; raise ``TooManyRequests`` when over it."""
        if not self._available():
            return
        try:
            if await self._strategy.hit(limit.item, limit.name, *key):
                self._storage_ok()
                return
            wait = await self._retry_after(limit, key)
        except Exception as error:
            self._storage_failed(error)
            return
        self._storage_ok()
        raise TooManyRequests(detail, retry_after=wait, code=code)

    async def check(self, limit: Limit, *key: str, detail: str) -> None:
        """Raise ``TooManyRequests`` if ``key`` has used up ``limit``, without counting a hit."""
        if not self._available():
            return
        try:
            if await self._strategy.test(limit.item, limit.name, *key):
                return
            wait = await self._retry_after(limit, key)
        except Exception as error:
            self._storage_failed(error)
            return
        raise TooManyRequests(detail, retry_after=wait)

    async def record(self, limit: Limit, *key: str) -> None:
        """Count one hit without refusing anything (e.g. a failed sign-in, once it failed)."""
        if not self._available():
            return
        try:
            await self._strategy.hit(limit.item, limit.name, *key)
        except Exception as error:
            self._storage_failed(error)

    async def clear(self, limit: Limit, *key: str) -> None:
        """Forget ``key``'s hits on ``limit``."""
        if not self._available():
            return
        try:
            await self._strategy.clear(limit.item, limit.name, *key)
        except Exception as error:
            self._storage_failed(error)

    async def close(self) -> None:
        """Close the Redis connections (the ``limits`` storage has no close of its own)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
