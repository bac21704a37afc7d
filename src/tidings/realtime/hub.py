"""The event hub: local stream subscriptions, and a pluggable broker between processes.

Shape after encode/broadcaster: a tiny broker interface with one module per backend, chosen by
URL. Diverges from it on purpose:

* every subscriber has a *bounded* buffer; one that overflows (a client that stopped reading) is
  closed rather than allowed to grow memory, and its client reconnects and replays;
* there is no task per subscriber: delivery appends to a list and resolves a future the
  stream is awaiting; heartbeats come from one timer for all streams;
* events arrive already serialized (``StoredEvent``), so fan-out to N streams encodes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from tidings.realtime.events import StoredEvent
from tidings.realtime.metrics import Metrics

logger = logging.getLogger(__name__)


class Signal:
    """A marker put in a subscriber's buffer in place of an event."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Signal({self.name})"


HEARTBEAT: Final = Signal("heartbeat")
CATCH_UP: Final = Signal("catch_up")
"""Tells a stream to check the event log for anything the broker may have missed."""

Item = StoredEvent | Signal
DeliverFn = Callable[[Sequence[StoredEvent]], None]


class Broker(Protocol):
    """Carries published events to every process that holds a stream of their addressee."""

    async def start(self, deliver: DeliverFn, on_reconnect: Callable[[], None]) -> None:
        """Begin calling ``deliver`` with events for this process's watched users."""

    async def stop(self) -> None: ...

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """Send committed events to the processes that hold their addressees' streams."""

    async def watch(self, user_id: int) -> None:
        """This process now holds a stream of ``user_id``."""

    async def unwatch(self, user_id: int) -> None:
        """This process holds no more streams of ``user_id``."""


class Subscriber:
    """One open stream's mailbox: a bounded list of items and the future its reader awaits."""

    __slots__ = ("_items", "_limit", "_waiter", "closed_reason", "in_send", "task", "user_id")

    def __init__(self, user_id: int, limit: int) -> None:
        self.user_id = user_id
        self._limit = limit
        self._items: list[Item] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed_reason: str | None = None
        self.in_send = False
        self.task: asyncio.Task[object] | None = None

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, item: Item) -> bool:
        """Queue an item; close the subscriber instead if its buffer is full."""
        if self.closed_reason is not None:
            return False
        if len(self._items) >= self._limit:
            self.close("overflow")
            return False
        self._items.append(item)
        self._wake()
        return True

    def close(self, reason: str) -> None:
        """Ask the stream to end; a stream stuck writing to a dead client is cancelled."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._wake()
        if self.in_send and self.task is not None and reason != "disconnect":
            self.task.cancel()

    def take(self) -> list[Item]:
        items, self._items = self._items, []
        return items

    async def wait(self) -> None:
        """Return once there is something to take or the subscriber is closed."""
        if self._items or self.closed_reason is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


_running_hubs: weakref.WeakSet[Hub] = weakref.WeakSet()


def close_all_streams(reason: str = "shutdown") -> None:
    """End every open stream of every hub in this process (called when the server stops)."""
    for hub in list(_running_hubs):
        hub.close_all(reason)


class Hub:
    """Routes published events to the local subscribers of their addressees."""

    def __init__(
        self,
        broker: Broker,
        *,
        metrics: Metrics,
        buffer_limit: int = 1000,
        heartbeat_seconds: float = 30.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.buffer_limit = buffer_limit
        self.heartbeat_seconds = heartbeat_seconds
        self._subscribers: dict[int, set[Subscriber]] = {}
        self._watching: dict[int, asyncio.Future[None]] = {}
        """Users whose first stream is waiting for ``broker.watch`` to return."""
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._count_changed = asyncio.Condition()
        self.shutting_down = False
        metrics.streams_open.set_function(self.subscriber_count)

    async def start(self) -> None:
        await self.broker.start(self.deliver_local, self.catch_up_all)
        self._heartbeat_task = asyncio.create_task(self._beat(), name="tidings-heartbeat")
        _running_hubs.add(self)

    async def stop(self) -> None:
        self.close_all("shutdown")
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
        await self.broker.stop()
        _running_hubs.discard(self)

    def subscriber_count(self, user_id: int | None = None) -> int:
        if user_id is not None:
            return len(self._subscribers.get(user_id, ()))
        return sum(len(subs) for subs in self._subscribers.values())

    async def wait_subscriber_count(self, count: int, user_id: int | None = None) -> None:
        """Return once exactly ``count`` streams (of ``user_id``, or in all) are subscribed."""
        async with self._count_changed:
            await self._count_changed.wait_for(lambda: self.subscriber_count(user_id) == count)

    async def _notify_count_changed(self) -> None:
        async with self._count_changed:
            self._count_changed.notify_all()

    async def subscribe(self, user_id: int) -> Subscriber:
        """Register a stream of ``user_id``; events published from now on reach it."""
        subscriber = Subscriber(user_id, self.buffer_limit)
        subscribers = self._subscribers.get(user_id)
        try:
            if subscribers is None:
                self._subscribers[user_id] = {subscriber}
                watched = self._watching[user_id] = asyncio.get_running_loop().create_future()
                try:
                    await self.broker.watch(user_id)
                finally:
                    watched.set_result(None)
                    if self._watching.get(user_id) is watched:
                        del self._watching[user_id]
            else:
                subscribers.add(subscriber)
                if (watching := self._watching.get(user_id)) is not None:
                    # The user's first stream is still waiting for the broker to confirm; until
                    # it does, events from other processes might not reach this one either.
                    await asyncio.shield(watching)
        except BaseException:
            self._forget(subscriber)
            raise
        await self._notify_count_changed()
        return subscriber

    def _forget(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.user_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[subscriber.user_id]

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.user_id)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        await self._notify_count_changed()
        if not subscribers:
            del self._subscribers[subscriber.user_id]
            try:
                await self.broker.unwatch(subscriber.user_id)
            except Exception:
                self.metrics.broker_errors.inc()
                logger.warning("broker unwatch failed", exc_info=True)

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """Hand committed events to the broker. Never raises: the log keeps them anyway."""
        if not events:
            return
        self.metrics.events_published.inc(len(events))
        try:
            await self.broker.publish(events)
        except Exception:
            # Streams catch up from the event log when the broker comes back.
            self.metrics.broker_errors.inc()
            logger.warning("publishing %d events failed", len(events), exc_info=True)

    def deliver_local(self, events: Sequence[StoredEvent]) -> None:
        """Put events in the buffers of this process's streams of their addressees."""
        subscribers = self._subscribers
        for event in events:
            targets = subscribers.get(event.user_id)
            if targets:
                for subscriber in tuple(targets):
                    if subscriber.closed_reason is None and not subscriber.offer(event):
                        self.metrics.overflows.inc()

    def catch_up_all(self) -> None:
        """Make every local stream check the log (after the broker may have dropped events)."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.offer(CATCH_UP)

    def close_all(self, reason: str) -> None:
        if reason == "shutdown":
            self.shutting_down = True
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.close(reason)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            for subscribers in self._subscribers.values():
                for subscriber in subscribers:
                    subscriber.offer(HEARTBEAT)


def broker_from_url(url: str | None, *, prefix: str = "tidings") -> Broker:
    """``None`` or ``memory://``: in-process; ``redis://...``: Redis pub/sub between processes."""
    if url is None or url.startswith("memory://"):
        from tidings.realtime.brokers.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from tidings.realtime.brokers.redis import RedisBroker

        return RedisBroker(url, prefix=prefix)
    raise ValueError(f"unsupported broker URL: {url!r}")
