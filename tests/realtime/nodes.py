"""Nodes for the hub tests: hubs over one real event log, each standing in for a process.

A *node* is what one server process has: a ``Database`` of its own on the shared SQLite file, a
hub reading that log (``DatabaseLog``), and a broker. Events are written as the app writes them
(``log.record`` in a write transaction, then ``hub.publish`` on the node that wrote them), or
only written, as when a publisher dies between its commit and its publish.

Two things are added for tests, neither changing what the hub does:

* ``ControlledLog`` is the real ``DatabaseLog``, whose reads a test can hold at a ``Gate`` (the
  read is the real one, only delayed, or its result handed back later), to put a membership
  change or a batch in flight at an exact point;
* ``ObservedHub`` is the real ``Hub`` that tells a test when a batch reached it or was handed
  on, so a test awaits that instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import text

from tidings.db import Database, utcnow
from tidings.migrations import upgrade_to_head
from tidings.realtime.events import Batch, EphemeralEvent, EventData, StoredEvent
from tidings.realtime.hub import Broker, Hub, Item, Subscriber
from tidings.realtime.log import DatabaseLog, PendingEvent, record, record_batches
from tidings.realtime.metrics import Metrics
from tidings.realtime.writer import merge_batches

WAIT = 10.0
"""Longest wait for something that must happen (a safety net against hanging, not a measure)."""


class Note(EventData):
    """A durable test event (never registered: the log stores any ``EventData``)."""

    type: Literal["test_note"] = "test_note"
    text: str


def to_user(user_id: int, text: str) -> PendingEvent:
    return PendingEvent(Note(text=text), user_id=user_id)


def to_channel(channel_id: int, text: str) -> PendingEvent:
    return PendingEvent(Note(text=text), channel_id=channel_id)


@dataclass
class Write:
    """One write's events and membership changes (what a ``Transaction`` collects)."""

    pending: list[PendingEvent]
    joins: list[tuple[int, int]] = field(default_factory=list)
    leaves: list[tuple[int, int]] = field(default_factory=list)


async def make_log(directory: Path, users: int = 12) -> tuple[str, list[int]]:
    """A migrated SQLite file with ``users`` rows in ``user``: (its URL, the user ids)."""
    url = f"sqlite+aiosqlite:///{directory}/t.db"
    db = Database(url)
    try:
        await upgrade_to_head(db.write_engine)
        ids: list[int] = []
        async with db.write() as session:
            for n in range(users):
                row = await session.execute(
                    text(
                        'INSERT INTO "user" (username, display_name, password_hash, created_at) '
                        "VALUES (:username, :display_name, 'x', :created_at) RETURNING id"
                    ),
                    {"username": f"user{n}", "display_name": f"User {n}", "created_at": utcnow()},
                )
                ids.append(int(row.scalar_one()))
    finally:
        await db.dispose()
    return url, ids


class Gate:
    """Holds whoever passes it until the test opens it; tells the test when one is held."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._open = asyncio.Event()

    async def passing(self) -> None:
        self.reached.set()
        await self._open.wait()

    async def wait_reached(self) -> None:
        async with asyncio.timeout(WAIT):
            await self.reached.wait()

    def open(self) -> None:
        self._open.set()


class ControlledLog(DatabaseLog):
    """The node's real log reader. A test may set ``spans_gate`` (with ``spans_read_first``:
    read the database, then wait; without: wait, then read) or ``batch_gate`` (wait, then
    read); unset, reads go straight through. ``spans_error`` / ``batch_errors`` make reads
    fail as a database that is unavailable would (after the gate, if any)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.spans_gate: Gate | None = None
        self.spans_read_first = False
        self.spans_error: Exception | None = None
        self.batch_gate: Gate | None = None
        self.batch_errors: list[Exception] = []
        self.batch_reads: list[tuple[int, int]] = []

    async def channel_spans(self, user_id: int, after: int) -> list[tuple[int, int, int | None]]:
        gate = self.spans_gate
        if gate is None:
            return await super().channel_spans(user_id, after)
        if self.spans_read_first:
            spans = await super().channel_spans(user_id, after)
            await gate.passing()
            return spans
        await gate.passing()
        if self.spans_error is not None:
            raise self.spans_error
        return await super().channel_spans(user_id, after)

    async def batch_between(self, after: int, up_to: int) -> Batch | None:
        self.batch_reads.append((after, up_to))
        if self.batch_gate is not None:
            await self.batch_gate.passing()
        if self.batch_errors:
            raise self.batch_errors.pop(0)
        return await super().batch_between(after, up_to)


class ObservedHub(Hub):
    """A ``Hub`` that records the batches reaching it and lets a test await a state of it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: list[Batch] = []
        self._changed = asyncio.Event()

    def on_batch(self, batch: Batch) -> None:
        self.arrived.append(batch)
        super().on_batch(batch)
        self._changed.set()

    def _hand_on(self, batch: Batch) -> None:
        super()._hand_on(batch)
        self._changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds (checked after every batch that arrives)."""
        async with asyncio.timeout(WAIT):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def until_arrived(self, batch: Batch) -> None:
        await self.until(lambda: any(b.first == batch.first for b in self.arrived))

    async def until_position(self, pos: int) -> None:
        await self.until(lambda: self.position >= pos)


class Node:
    """One process: its own database engine on the shared file, its log reader, its hub."""

    def __init__(self, url: str, broker: Broker, *, gap_wait_seconds: float = 0.02) -> None:
        self.db = Database(url)
        self.broker = broker
        self.log = ControlledLog(self.db)
        self.metrics = Metrics()
        self.hub = ObservedHub(
            broker, metrics=self.metrics, log=self.log, gap_wait_seconds=gap_wait_seconds
        )

    async def write(
        self,
        *pending: PendingEvent,
        joins: Sequence[tuple[int, int]] = (),
        leaves: Sequence[tuple[int, int]] = (),
    ) -> Batch:
        """Commit events (and membership changes) to the log, as a write does; publish nothing."""
        async with self.db.write() as session:
            batch = await record(session, pending, joins, leaves)
        assert batch is not None
        return batch

    async def publish(
        self,
        *pending: PendingEvent,
        joins: Sequence[tuple[int, int]] = (),
        leaves: Sequence[tuple[int, int]] = (),
    ) -> Batch:
        """Commit, then publish through this node's hub: what ``write_transaction`` does."""
        batch = await self.write(*pending, joins=joins, leaves=leaves)
        await self.hub.publish(batch)
        return batch

    async def publish_together(self, *writes: Write) -> tuple[Batch, list[Batch | None]]:
        """Commit several writes in one transaction and publish the commit as one batch, as
        the writer's group commit does; return that batch and each write's own."""
        async with self.db.write() as session:
            batches = await session.run_sync(record_batches, list(writes))
        merged = merge_batches([b for b in batches if b is not None])
        assert merged is not None
        await self.hub.publish(merged)
        return merged, batches

    @property
    def gap_fills(self) -> float:
        return float(self.metrics.gap_fills._value.get())

    @property
    def broker_errors(self) -> float:
        return float(self.metrics.broker_errors._value.get())


class Cluster:
    """Nodes sharing one log (and, with Redis, one channel prefix)."""

    def __init__(self, url: str, users: list[int]) -> None:
        self.url = url
        self.users = users
        self.nodes: list[Node] = []

    async def add(self, broker: Broker, *, gap_wait_seconds: float = 0.02) -> Node:
        node = Node(self.url, broker, gap_wait_seconds=gap_wait_seconds)
        await node.hub.start()
        self.nodes.append(node)
        # A broker that connected asks its hub to catch up from the log (up to the head): let
        # that read finish, so that it cannot pick up a test's first writes by the way.
        if (settling := node.hub._fill_task) is not None:
            await settling
        return node

    @property
    def first(self) -> Node:
        return self.nodes[0]

    @property
    def last(self) -> Node:
        return self.nodes[-1]

    async def barrier(self, user_ids: Iterable[int]) -> list[StoredEvent]:
        """From every node in turn, one batch with an event for each of these users.

        Hubs hand batches on in log order, complete: once a subscriber has its barrier events,
        its hub has handed on everything before them, so anything else (a duplicate, a leak)
        would be in its buffer too. And what a node published before its barrier reaches every
        process before the barrier does (one connection to Redis, in order).
        """
        user_ids = list(user_ids)
        sent: list[StoredEvent] = []
        for node in self.nodes:
            batch = await node.publish(*(to_user(u, "barrier") for u in user_ids))
            sent.extend(batch.events)
        return sent

    async def close(self) -> None:
        for node in self.nodes:
            await node.hub.stop()
            await node.db.dispose()


async def receive_events(subscriber: Subscriber, count: int) -> list[Item]:
    """Wait for ``count`` durable events in the subscriber's buffer; return everything taken
    (signals and ephemeral events too)."""
    items: list[Item] = []
    async with asyncio.timeout(WAIT):
        while sum(isinstance(i, StoredEvent) for i in items) < count:
            await subscriber.wait()
            assert not subscriber.closed, subscriber.closed_reason
            items.extend(subscriber.take())
    return items


async def receive_until(subscriber: Subscriber, done: Callable[[list[Item]], bool]) -> list[Item]:
    """Take items until ``done(items)``; return them all."""
    items: list[Item] = []
    async with asyncio.timeout(WAIT):
        while not done(items):
            await subscriber.wait()
            assert not subscriber.closed, subscriber.closed_reason
            items.extend(subscriber.take())
    return items


def events_of(items: Iterable[Item]) -> list[StoredEvent]:
    return [item for item in items if isinstance(item, StoredEvent)]


def ephemeral_of(items: Iterable[Item]) -> list[EphemeralEvent]:
    return [item for item in items if isinstance(item, EphemeralEvent)]


def mine(events: Iterable[StoredEvent], user_id: int) -> list[StoredEvent]:
    return [e for e in events if e.user_id == user_id]


async def expect_exactly(subscriber: Subscriber, expected: list[StoredEvent]) -> list[Item]:
    """The subscriber's events are exactly ``expected``, in that order, each once; return
    everything taken. ``expected`` ends with a barrier event: waits until an event at or after
    its position is in (its hub has handed on everything before it then)."""
    assert expected, "end with a barrier event"
    last = expected[-1].pos
    items = await receive_until(
        subscriber, lambda items: any(e.pos >= last for e in events_of(items))
    )
    got = events_of(items)
    assert got == expected, f"user {subscriber.user_id}:\n got {_show(got)}\nwant {_show(expected)}"
    return items


def _show(events: Iterable[StoredEvent]) -> str:
    return repr([(e.pos, e.user_id, e.channel_id, e.data) for e in events])
