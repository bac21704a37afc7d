"""Where events are born: a write transaction that records its events and publishes after commit.

Modelled on zulip's ``send_event_on_commit``: an action writes its rows and calls ``tx.emit``
with an explicit recipient; the events are inserted into the event log in the same transaction
and handed to the hub only once the commit succeeded. A write that rolls back emits nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tidings.context import AppContext
from tidings.realtime.events import EventData, StoredEvent
from tidings.realtime.log import record_events

T = TypeVar("T")


@dataclass(slots=True)
class Outcome(Generic[T]):
    """What an action returns: its result and the per-user events it caused."""

    value: T
    events: list[StoredEvent] = field(default_factory=list)


class Transaction:
    """A write session plus the events to record with it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.pending: list[tuple[int, EventData]] = []
        self.events: list[StoredEvent] = []

    def emit(self, user_id: int, event: EventData) -> None:
        """Send ``event`` to ``user_id`` if, and once, this transaction commits."""
        self.pending.append((user_id, event))

    def emit_to(self, user_ids: Iterable[int], event: EventData) -> None:
        for user_id in user_ids:
            self.pending.append((user_id, event))

    def outcome(self, value: T) -> Outcome[T]:
        return Outcome(value, self.events)


@asynccontextmanager
async def write_transaction(ctx: AppContext) -> AsyncIterator[Transaction]:
    """Run a write; log its events in it; after commit, publish them through the hub."""
    async with ctx.db.write() as session:
        tx = Transaction(session)
        yield tx
        tx.events.extend(await record_events(session, tx.pending))
    await ctx.hub.publish(tx.events)
