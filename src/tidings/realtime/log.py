"""The event log: one sequence of positions for the whole server, written with the write that
caused each event, read back for replay and for filling a process's gaps, pruned by age.

Positions. ``event_log.head`` is the last position handed out. A write transaction takes its
positions as its *last* statement before commit (``UPDATE ... SET head = head + n``): on
PostgreSQL the row lock that update takes is held until commit, so the next writer's positions
come after, and commit order is position order; on SQLite writes are serialized anyway. A write
that rolls back gives its positions back. So positions have no gaps, and a process that has seen
position P knows that everything before P is committed and readable (Synapse's stream
positions, with one writer at a time).

Addressing. An event is for one user (``user_id``: friends, notifications) or for a channel
(``channel_id``: everything in a conversation), stored once however many members it has. A
member's share of a channel is a span of positions (``channel_span``): a user's stream is their
own events plus their channels' events inside their spans, which is one ``UNION ALL`` of two
index range scans. Joining or leaving takes effect at the transaction's first position.

Realtime knows no domain: the log names the ``user`` table only as the owner of per-user events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tidings.db import Database, utcnow
from tidings.realtime.events import Batch, EventData, MembershipChange, StoredEvent
from tidings.realtime.models import ChannelSpan, EventLogState, EventRecord

logger = logging.getLogger(__name__)

_LOG_ROW = 1


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event emitted in a transaction, not yet positioned: for a user or for a channel."""

    data: EventData
    user_id: int | None = None
    channel_id: int | None = None


class RecordsEvents(Protocol):
    """What a write hands the log: its events and membership changes (a ``Transaction``)."""

    pending: list[PendingEvent]
    joins: list[tuple[int, int]]
    leaves: list[tuple[int, int]]


_log_table = cast(Table, EventLogState.__table__)
_event_table = cast(Table, EventRecord.__table__)
_span_table = cast(Table, ChannelSpan.__table__)
# Built once: the writer runs these for every commit.
_ADVANCE_HEAD = (
    update(_log_table)
    .where(_log_table.c.id == _LOG_ROW)
    .values(head=_log_table.c.head + bindparam("count"))
    .returning(_log_table.c.head)
)
_INSERT_EVENTS = insert(_event_table)
_INSERT_SPANS = insert(_span_table)
_END_SPAN = (
    update(_span_table)
    .where(
        _span_table.c.channel_id == bindparam("channel"),
        _span_table.c.user_id == bindparam("user"),
        _span_table.c.left_pos.is_(None),
        # Only a span opened before the leave: a re-join later in the same commit opens a span
        # at a later position, which this leave must not end.
        _span_table.c.joined_pos < bindparam("at"),
    )
    .values(left_pos=bindparam("at"))
)


def record_batches(session: Session, writes: Sequence[RecordsEvents]) -> list[Batch | None]:
    """Position and insert the events of several writes that commit together, and their
    (channel, user) joins and leaves, as the transaction's last statements: one head update and
    one insert for all of them. Returns each write's batch (None for a write without events)."""
    total = sum(len(w.pending) for w in writes)
    for write in writes:
        if not write.pending and (write.joins or write.leaves):
            raise ValueError("a membership change needs an event to take effect with")
    if total == 0:
        return [None] * len(writes)
    connection = session.connection()
    last = connection.execute(_ADVANCE_HEAD, {"count": total}).scalar()
    if last is None:
        raise RuntimeError("the event log has no head row: run the migrations")
    position = int(last) - total + 1
    now = utcnow()
    rows: list[dict[str, object]] = []
    joins: list[dict[str, int]] = []
    leaves: list[tuple[int, int, int]] = []
    batches: list[Batch | None] = []
    for write in writes:
        if not write.pending:
            batches.append(None)
            continue
        first = position
        encoded: dict[int, str] = {}
        events: list[StoredEvent] = []
        for item in write.pending:
            # The same payload object sent to several addressees is serialized once.
            text = encoded.get(id(item.data))
            if text is None:
                text = encoded[id(item.data)] = item.data.model_dump_json()
            event = StoredEvent(
                position,
                item.data.type,  # type: ignore[attr-defined]
                text,
                user_id=item.user_id,
                channel_id=item.channel_id,
            )
            events.append(event)
            rows.append(
                {
                    "pos": position,
                    "user_id": item.user_id,
                    "channel_id": item.channel_id,
                    "type": event.type,
                    "data": text,
                    "created_at": now,
                }
            )
            position += 1
        memberships = [MembershipChange(first, c, u, True) for c, u in write.joins]
        memberships += [MembershipChange(first, c, u, False) for c, u in write.leaves]
        joins += [{"channel_id": c, "user_id": u, "joined_pos": first} for c, u in write.joins]
        leaves += [(c, u, first) for c, u in write.leaves]
        batches.append(Batch(first, position - 1, tuple(events), tuple(memberships)))
    connection.execute(_INSERT_EVENTS, rows)
    if joins:
        connection.execute(_INSERT_SPANS, joins)
    if leaves:
        connection.execute(_END_SPAN, [{"channel": c, "user": u, "at": at} for c, u, at in leaves])
    return batches


@dataclass
class _Write:
    pending: list[PendingEvent]
    joins: list[tuple[int, int]]
    leaves: list[tuple[int, int]]


async def record(
    session: AsyncSession,
    pending: Sequence[PendingEvent],
    joins: Sequence[tuple[int, int]] = (),
    leaves: Sequence[tuple[int, int]] = (),
) -> Batch | None:
    """``record_batches`` for one write, in an async session (tools and tests; the app's
    writes go through the writer)."""
    write = _Write(list(pending), list(joins), list(leaves))
    [batch] = await session.run_sync(record_batches, [write])
    return batch


def read_head(session: Session) -> int:
    """The last committed position (0 before the first event)."""
    value = session.scalar(select(EventLogState.head).where(EventLogState.id == _LOG_ROW))
    return int(value or 0)


async def head(session: AsyncSession) -> int:
    """``read_head`` in an async session."""
    return await session.run_sync(read_head)


def bounds(session: Session) -> tuple[int, int]:
    """(floor, head): a client that has seen ``floor`` or later can be replayed exactly."""
    row = (
        session.execute(
            select(EventLogState.floor, EventLogState.head).where(EventLogState.id == _LOG_ROW)
        )
    ).first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def _user_events(user_id: int, after: int, up_to: int):  # type: ignore[no-untyped-def]
    """The user's own events and their channels' events inside their spans, as one query."""
    own = select(EventRecord.pos, EventRecord.type, EventRecord.data).where(
        EventRecord.user_id == user_id, EventRecord.pos > after, EventRecord.pos <= up_to
    )
    shared = (
        select(EventRecord.pos, EventRecord.type, EventRecord.data)
        .select_from(ChannelSpan)
        .join(
            EventRecord,
            and_(
                EventRecord.channel_id == ChannelSpan.channel_id,
                EventRecord.pos >= ChannelSpan.joined_pos,
                or_(ChannelSpan.left_pos.is_(None), EventRecord.pos < ChannelSpan.left_pos),
            ),
        )
        .where(
            ChannelSpan.user_id == user_id,
            or_(ChannelSpan.left_pos.is_(None), ChannelSpan.left_pos > after),
            ChannelSpan.joined_pos <= up_to,
            EventRecord.pos > after,
            EventRecord.pos <= up_to,
        )
    )
    return own.union_all(shared)


def events_page(
    session: Session, user_id: int, after: int, up_to: int, limit: int
) -> list[StoredEvent] | None:
    """The user's first ``limit`` events with ``after < pos <= up_to``, in order; None if
    events after ``after`` may have been pruned (the reader cannot continue exactly)."""
    query = _user_events(user_id, after, up_to).order_by(literal_column("pos")).limit(limit)
    events = [
        StoredEvent(int(pos), type_, data, user_id=user_id)
        for pos, type_, data in session.execute(query)
    ]
    # The floor after the events: pruning raises it (and commits) before it deletes, so a
    # read that may have missed deleted events sees the raised floor (PostgreSQL reads each
    # statement's own snapshot).
    floor, _ = bounds(session)
    return None if after < floor else events


def batch_between(session: Session, after: int, up_to: int) -> Batch | None:
    """Every event and membership change at ``after < pos <= up_to``, for a process that
    missed them; None if some may have been pruned."""
    rows = session.execute(
        select(
            EventRecord.pos,
            EventRecord.type,
            EventRecord.data,
            EventRecord.user_id,
            EventRecord.channel_id,
        )
        .where(EventRecord.pos > after, EventRecord.pos <= up_to)
        .order_by(EventRecord.pos)
    )
    events = tuple(
        StoredEvent(int(pos), type_, data, user_id=user_id, channel_id=channel_id)
        for pos, type_, data, user_id, channel_id in rows
    )
    spans = session.execute(
        select(
            ChannelSpan.channel_id,
            ChannelSpan.user_id,
            ChannelSpan.joined_pos,
            ChannelSpan.left_pos,
        ).where(
            or_(
                and_(ChannelSpan.joined_pos > after, ChannelSpan.joined_pos <= up_to),
                and_(ChannelSpan.left_pos > after, ChannelSpan.left_pos <= up_to),
            )
        )
    )
    memberships: list[MembershipChange] = []
    for channel_id, user_id, joined, left in spans:
        if after < joined <= up_to:
            memberships.append(MembershipChange(int(joined), channel_id, user_id, True))
        if left is not None and after < left <= up_to:
            memberships.append(MembershipChange(int(left), channel_id, user_id, False))
    memberships.sort(key=lambda m: (m.pos, not m.joined))
    floor, _ = bounds(session)  # after the reads: see events_page
    if after < floor:
        return None
    return Batch(after + 1, up_to, events, tuple(memberships))


def channel_spans(session: Session, user_id: int, after: int) -> list[tuple[int, int, int | None]]:
    """The user's memberships that matter after ``after``: (channel, joined, left) for spans
    still open or ending later."""
    rows = session.execute(
        select(ChannelSpan.channel_id, ChannelSpan.joined_pos, ChannelSpan.left_pos).where(
            ChannelSpan.user_id == user_id,
            or_(ChannelSpan.left_pos.is_(None), ChannelSpan.left_pos > after),
        )
    )
    return [(int(c), int(j), None if left is None else int(left)) for c, j, left in rows]


def raise_floor(session: Session, *, max_age: timedelta) -> int | None:
    """Step one of pruning, in a transaction of its own: raise the floor to the last event older
    than ``max_age`` (clients behind it will resync). Returns that position, or None."""
    cutoff = session.scalar(
        select(func.max(EventRecord.pos)).where(EventRecord.created_at < utcnow() - max_age)
    )
    if cutoff is None:
        return None
    table = cast(Table, EventLogState.__table__)
    session.execute(
        update(table)
        .where(table.c.id == _LOG_ROW, table.c.floor < cutoff)
        .values(floor=int(cutoff))
    )
    return int(cutoff)


def delete_below(session: Session, cutoff: int) -> int:
    """Step two, after the floor is committed: delete the events up to it and the spans that
    ended before it. (Readers check the floor after reading, so none misses a deleted event
    unawares; the head row is not touched, so writers are not held up.)"""
    result = session.execute(delete(EventRecord).where(EventRecord.pos <= cutoff))
    session.execute(
        delete(ChannelSpan).where(ChannelSpan.left_pos.is_not(None), ChannelSpan.left_pos <= cutoff)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def rewrite_events(
    session: Session,
    *,
    channel_id: int,
    since: datetime,
    containing: Sequence[str],
    rewrite: Callable[[str], str],
) -> int:
    """Rewrite the stored payloads that mention something taken back (a deleted message), so
    that no replay brings it back: the events recorded since ``since`` for the channel, or for
    any one user, whose data contains one of ``containing``, get ``rewrite(data)`` (their
    position and type stay). Runs in the writer's transaction, with the write that takes it
    back. The number of events changed."""
    matches = or_(*(EventRecord.data.contains(text, autoescape=True) for text in containing))
    rows = session.execute(
        select(EventRecord.pos, EventRecord.data).where(
            EventRecord.created_at >= since,
            or_(EventRecord.channel_id == channel_id, EventRecord.user_id.is_not(None)),
            matches,
        )
    ).all()
    changed = 0
    for pos, data in rows:
        rewritten = rewrite(data)
        if rewritten != data:
            session.execute(
                update(EventRecord).where(EventRecord.pos == pos).values(data=rewritten)
            )
            changed += 1
    return changed


def prune_events(session: Session, *, max_age: timedelta) -> int:
    """Both steps in one transaction (for tools and tests; the server runs them apart)."""
    cutoff = raise_floor(session, max_age=max_age)
    return 0 if cutoff is None else delete_below(session, cutoff)


class DatabaseLog:
    """The hub's reader of the log (``hub.LogReader``): each call one hand-off of a read
    (``Database.run_query``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def head(self) -> int:
        return await self.db.run_query(read_head)

    async def batch_between(self, after: int, up_to: int) -> Batch | None:
        return await self.db.run_query(batch_between, after, up_to)

    async def channel_spans(self, user_id: int, after: int) -> list[tuple[int, int, int | None]]:
        return await self.db.run_query(channel_spans, user_id, after)


async def prune_periodically(db: Database, *, every_seconds: float, max_age: timedelta) -> None:
    """Delete events older than ``max_age`` every ``every_seconds``, for ever (a task).

    Not through the writer: two transactions of their own, the floor first (briefly holding the
    log's head row, which every write takes last), then the deletes. A failure is logged and
    the next round tries again."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            async with db.write() as session:
                cutoff = await session.run_sync(raise_floor, max_age=max_age)
            deleted = 0
            if cutoff is not None:
                async with db.write() as session:
                    deleted = await session.run_sync(delete_below, cutoff)
            if deleted:
                logger.info("pruned %d old events", deleted)
        except Exception:
            logger.exception("pruning the event log failed")
