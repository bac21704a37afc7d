"""Rate limits that every server process shares, so running N processes does not allow N times
as much: counters live in Redis when ``REDIS_URL`` is set, in this process's memory otherwise.

The counting is the ``limits`` library's moving window (exact: the last N hits within the
window). A limiter protects the service; it must not become the thing that breaks it, nor the
hole that lets an attacker through. So when its Redis fails (connection, timeout, refusal), the
failure is logged and the limits are counted in this process's memory until Redis answers again:
degraded (each process counts alone, so N processes allow up to N times as much) but never
unlimited. Only storage errors are caught; a programming error surfaces as one.

Per-address limits key a client by ``address_key``: an IPv4 address, or an IPv6 address's /64
(one host is routinely given a whole /64, so single IPv6 addresses cost an attacker nothing).
"""

from __future__ import annotations

import bisect
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

from tidings.config import Settings
from tidings.errors import TooManyRequests

logger = logging.getLogger(__name__)

T = TypeVar("T")

REDIS_TIMEOUT_SECONDS = 1.0
"""A Redis that does not answer within this is treated as down (this process counts alone)."""
FALLBACK_SECONDS = 5.0
"""After a storage failure, limits are counted in memory this long before Redis is tried again
(so that requests do not each wait for a dead Redis)."""
STORAGE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError, StorageError)
"""What a failing storage raises (Redis down, slow or refusing); anything else is a bug."""
IN_FLIGHT_PER_KEY = 8
"""Attempts that ``RateLimiter.attempt`` lets run at once per key in one process (sign-ins being
verified per client address); more at the same moment are refused with 429."""


def address_key(address: str) -> str:
    """The key that per-address limits count a client address under.

    IPv4: the address. IPv6: its /64 network (``2001:db8:1:2::/64``), since one subscriber or
    server commonly holds a whole /64 and could otherwise use a fresh address per request; an
    IPv4-mapped IPv6 address counts as its IPv4 address. Anything else (no address known) is
    used as it is.
    """
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


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
    search: Limit
    user_search: Limit
    attention: Limit
    block: Limit

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
            search=Limit("search", parse(settings.rate_limit_search)),
            user_search=Limit("user-search", parse(settings.rate_limit_user_search)),
            attention=Limit("attention", parse(settings.rate_limit_attention)),
            block=Limit("block", parse(settings.rate_limit_block)),
        )


class _MemoryStorage(MemoryStorage):
    """``limits``' memory storage, with its expiry made cheap and a ``clear`` that survives it.

    Expiry only frees memory (every check compares times itself). The library (5.8) runs it
    after *every* hit, as a new task that hands each key's list to a thread: two thread hops
    and a task per rate-limited request, measured at ~1.5 ms of a message's ~6 ms of CPU. Here
    it runs inline, at most once a second, through the library's own hook (name-mangled
    ``__schedule_expiry``, which every hit calls; pinned by ``limits>=5,<6``).

    The library's ``clear`` deletes a key's list, which its expiry walk could be reading;
    emptying the list instead leaves the removal to the walk.
    """

    EXPIRE_EVERY_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._next_expiry = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + self.EXPIRE_EVERY_SECONDS
            self._expire()

    def _expire(self) -> None:
        now = time.time()
        for key in list(self.events):
            events = self.events[key]  # newest first: expiries in descending order
            unexpired = bisect.bisect_left(events, -now, key=lambda event: -event.expiry)
            if unexpired:
                del events[unexpired:]
            else:
                del self.events[key]
                self.locks.pop(key, None)
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)

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

    Never unlimited: if the shared storage (Redis) raises a storage error (down, slow or
    refusing), that request and every other for ``FALLBACK_SECONDS`` are counted in this
    process's memory instead, and a warning is logged once per outage. The counts made during
    an outage stay in memory (they expire with their window) and are not copied to Redis.
    """

    def __init__(self, storage: Storage, limits: Limits) -> None:
        self.storage = storage
        self.limits = limits
        self._strategy = MovingWindowRateLimiter(storage)
        # Only a shared storage can fail; a memory one is its own fallback.
        self._fallback: MovingWindowRateLimiter | None = (
            None
            if isinstance(storage, MemoryStorage)
            else MovingWindowRateLimiter(_MemoryStorage())
        )
        self._fallback_until = 0.0
        self._failing = False
        self._in_flight: dict[tuple[str, ...], int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(make_storage(settings), Limits.from_settings(settings))

    def _storage_failed(self, error: Exception) -> None:
        self._fallback_until = time.monotonic() + FALLBACK_SECONDS
        if not self._failing:
            self._failing = True
            logger.warning(
                "rate limits are counted in this process only: their storage failed: %r", error
            )

    def _storage_ok(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("rate limits are shared again: their storage answers")

    async def _run(self, operation: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """``operation`` on the shared storage, or on this process's memory while it fails."""
        if self._fallback is None:
            return await operation(self._strategy)
        if time.monotonic() < self._fallback_until:
            return await operation(self._fallback)
        try:
            result = await operation(self._strategy)
        except STORAGE_ERRORS as error:
            self._storage_failed(error)
            return await operation(self._fallback)
        self._storage_ok()
        return result

    @staticmethod
    async def _hit_or_wait(
        strategy: MovingWindowRateLimiter, limit: Limit, key: tuple[str, ...]
    ) -> float | None:
        """Count a hit; None if allowed, else the seconds until one would be."""
        if await strategy.hit(limit.item, limit.name, *key):
            return None
        return await RateLimiter._wait(strategy, limit, key)

    @staticmethod
    async def _test_or_wait(
        strategy: MovingWindowRateLimiter, limit: Limit, key: tuple[str, ...], room: int
    ) -> float | None:
        """None if ``room`` more hits fit now (without counting any), else the seconds to wait:
        until the oldest hit expires if none fits, one if only attempts in flight are in the
        way (they may succeed and give their places back)."""
        stats = await strategy.get_window_stats(limit.item, limit.name, *key)
        if stats.remaining >= room:
            return None
        if stats.remaining > 0:
            return 1.0
        return max(1.0, stats.reset_time - time.time())

    @staticmethod
    async def _wait(strategy: MovingWindowRateLimiter, limit: Limit, key: tuple[str, ...]) -> float:
        stats = await strategy.get_window_stats(limit.item, limit.name, *key)
        return max(1.0, stats.reset_time - time.time())

    async def hit(self, limit: Limit, *key: str, detail: str, code: str = "rate_limited") -> None:
        """Count one hit on ``limit`` for ``key``; raise ``TooManyRequests`` when over it."""
        wait = await self._run(lambda strategy: self._hit_or_wait(strategy, limit, key))
        if wait is not None:
            raise TooManyRequests(detail, retry_after=wait, code=code)

    async def record(self, limit: Limit, *key: str) -> None:
        """Count one hit without refusing anything (e.g. a failed sign-in, once it failed)."""
        await self._run(lambda strategy: strategy.hit(limit.item, limit.name, *key))

    async def clear(self, limit: Limit, *key: str) -> None:
        """Forget ``key``'s hits on ``limit``."""
        await self._run(lambda strategy: strategy.clear(limit.item, limit.name, *key))

    @asynccontextmanager
    async def attempt(self, limit: Limit, *key: str, detail: str) -> AsyncIterator[Attempt]:
        """An attempt that counts on ``limit`` only if it fails (``Attempt.failed``), but holds
        its place in the allowance while it runs: refused with 429 unless the failures already
        counted plus the attempts of ``key`` in flight in this process leave room for it, or if
        ``IN_FLIGHT_PER_KEY`` of them are in flight already.

        Why not count first and give the hit back on success: the ``limits`` moving window
        cannot take back one hit (``clear`` forgets them all, so a success would wipe the
        failures around it). Why not check, then count a failure after it failed (as this did):
        every parallel attempt passes the check before the first failure is counted, so 100
        parallel wrong passwords all got verified. Here, in one process, the failures never
        exceed the limit; with P processes sharing a Redis, each process admits at most
        ``IN_FLIGHT_PER_KEY`` at once, so the overshoot is below P x ``IN_FLIGHT_PER_KEY``.
        Successes are never counted (one office address may sign in all day), but many at the
        very same moment from one address may be told to retry (429, Retry-After: 1).
        """
        slot = (limit.name, *key)
        ahead = self._in_flight.get(slot, 0)  # taken before any await: no race with others
        self._in_flight[slot] = ahead + 1
        try:
            if ahead >= IN_FLIGHT_PER_KEY:
                raise TooManyRequests(detail, retry_after=1.0)
            # Counted failures plus those ahead of this one (some may have finished and be
            # counted twice: conservative, and only near the limit).
            wait = await self._run(
                lambda strategy: self._test_or_wait(strategy, limit, key, ahead + 1)
            )
            if wait is not None:
                raise TooManyRequests(detail, retry_after=wait)
            attempt = Attempt(self, limit, key)
            yield attempt
        finally:
            left = self._in_flight[slot] - 1
            if left:
                self._in_flight[slot] = left
            else:
                del self._in_flight[slot]

    async def close(self) -> None:
        """Close the Redis connections (the ``limits`` storage has no close of its own)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


class Attempt:
    """One attempt under ``RateLimiter.attempt``: ``await failed()`` counts it."""

    __slots__ = ("_key", "_limit", "_limiter")

    def __init__(self, limiter: RateLimiter, limit: Limit, key: tuple[str, ...]) -> None:
        self._limiter, self._limit, self._key = limiter, limit, key

    async def failed(self) -> None:
        """Count this attempt as a failure (before its place in flight is given back)."""
        await self._limiter.record(self._limit, *self._key)
