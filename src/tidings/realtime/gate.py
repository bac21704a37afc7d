"""Admission for the streams' database work, so that streams never starve requests.

Opening a stream reads the session and the log; a reconnect storm (a deploy, a network blip,
an attacker) opens hundreds a second. Unbounded, those reads take every pooled connection, and
requests and health checks time out in the pool. So the streams' database work goes through a
few slots here, and an *opening* stream that would wait behind too many others is told to come
back later instead (``Overloaded``), cheaply and before it touches the database. Streams that
are already open (replay pages, gap fills, catch-up after a broker reconnect) wait their turn
rather than being shed: they are few at a time and hold no pool connection while they wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Overloaded(Exception):
    """Too many streams are waiting for the database: this one should retry later."""


class StreamGate:
    """A semaphore for streams' database work; openings may wait for it only so many at once
    and only so long."""

    def __init__(self, concurrency: int, max_waiting: int, max_wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.max_waiting = max_waiting
        self.max_wait_seconds = max_wait_seconds
        self.waiting = 0
        self.opening = 0
        """Streams admitted but not subscribed yet: they count against the stream limit, so
        that a burst of concurrent opens cannot eat into the connections kept for requests."""

    @asynccontextmanager
    async def slot(self, *, may_shed: bool = False) -> AsyncIterator[None]:
        """Hold one slot; with ``may_shed``, raise ``Overloaded`` rather than queue behind
        ``max_waiting`` others or wait longer than ``max_wait_seconds``."""
        if may_shed and self._slots.locked() and self.waiting >= self.max_waiting:
            raise Overloaded
        self.waiting += 1
        try:
            if may_shed:
                try:
                    async with asyncio.timeout(self.max_wait_seconds):
                        await self._slots.acquire()
                except TimeoutError:
                    raise Overloaded from None
            else:
                await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
