"""The event log: recording events with their write, replaying them, pruning old ones.

Ids are per-user sequence numbers without gaps. ``record_events`` bumps ``user.event_seq``
inside the write transaction (locking the users' rows in id order on PostgreSQL), so per user
the order of ids is the order of commits. A stream that sees id N+2 after N knows N+1 exists and
is committed, and fetches it from here: that is what makes delivery gap-free even when two
processes publish in a different order than they committed.

The counter lives on the addressees' rows (table ``user``, column ``event_seq``). The log names
that table, as the event table's foreign key does, rather than importing the accounts domain:
realtime is the lowest layer and knows no domain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tidings.db import Base, utcnow, writes_are_serialized
from tidings.realtime.events import EventData, StoredEvent
from tidings.realtime.models import EventRecord

_CHUNK = 5000


def _users() -> Table:
    """The addressees' table, which holds each user's event counter (``event_seq``)."""
    return Base.metadata.tables["user"]


async def _lock_users(session: AsyncSession, user_ids: Sequence[int]) -> None:
    """Lock these users' rows in id order (PostgreSQL), in the same mode as the accounts domain's
    ``lock_users``, which a write may have taken already: ``FOR NO KEY UPDATE``."""
    if writes_are_serialized(session) or not user_ids:
        return
    users = _users()
    await session.execute(
        select(users.c.id)
        .where(users.c.id.in_(sorted(set(user_ids))))
        .order_by(users.c.id)
        .with_for_update(key_share=True)
    )


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def record_events(
    session: AsyncSession, pending: Sequence[tuple[int, EventData]]
) -> list[StoredEvent]:
    """Number and insert events in the caller's transaction; return them in emit order."""
    if not pending:
        return []
    per_user: dict[int, int] = defaultdict(int)
    for user_id, _ in pending:
        per_user[user_id] += 1
    users_by_count: dict[int, list[int]] = defaultdict(list)
    for user_id, count in per_user.items():
        users_by_count[count].append(user_id)

    # Row locks in a fixed order: concurrent writers to overlapping users cannot deadlock.
    for chunk in _chunks(sorted(per_user)):
        await _lock_users(session, chunk)
    users = _users()
    last_seq: dict[int, int] = {}
    for count, ids in users_by_count.items():
        for chunk in _chunks(sorted(ids)):
            rows = await session.execute(
                update(users)
                .where(users.c.id.in_(chunk))
                .values(event_seq=users.c.event_seq + count)
                .returning(users.c.id, users.c.event_seq)
            )
            last_seq.update({uid: seq for uid, seq in rows})

    next_seq = {uid: last_seq[uid] - per_user[uid] + 1 for uid in per_user}
    encoded: dict[int, str] = {}
    stored: list[StoredEvent] = []
    for user_id, data in pending:
        # The same payload object sent to many users is serialized once.
        text = encoded.get(id(data))
        if text is None:
            text = encoded[id(data)] = data.model_dump_json()
        seq = next_seq[user_id]
        next_seq[user_id] = seq + 1
        stored.append(StoredEvent(user_id, seq, data.type, text))  # type: ignore[attr-defined]
    now = utcnow()
    # Core executemany rather than an ORM bulk insert: a group message writes one per member.
    await session.execute(
        insert(cast(Table, EventRecord.__table__)),
        [
            {"user_id": e.user_id, "seq": e.seq, "type": e.type, "data": e.data, "created_at": now}
            for e in stored
        ],
    )
    return stored


async def current_seq(session: AsyncSession, user_id: int) -> int:
    """The id of the user's latest event (0 before the first)."""
    users = _users()
    seq = await session.scalar(select(users.c.event_seq).where(users.c.id == user_id))
    return int(seq or 0)


async def events_page(
    session: AsyncSession, user_id: int, after_seq: int, up_to_seq: int, limit: int
) -> list[StoredEvent] | None:
    """The first ``limit`` events with ``after_seq < seq <= up_to_seq``, in order; None if the
    first of them is gone (pruned), so the reader cannot continue gap-free."""
    query = (
        select(EventRecord.seq, EventRecord.type, EventRecord.data)
        .where(
            EventRecord.user_id == user_id,
            EventRecord.seq > after_seq,
            EventRecord.seq <= up_to_seq,
        )
        .order_by(EventRecord.seq)
        .limit(limit)
    )
    events = [
        StoredEvent(user_id, seq, type_, data) for seq, type_, data in await session.execute(query)
    ]
    expected = after_seq + 1
    for event in events:
        if event.seq != expected:
            return None
        expected += 1
    if not events and up_to_seq > after_seq:
        return None
    return events


async def prune_events(session: AsyncSession, *, max_age: timedelta, keep_per_user: int) -> int:
    """Delete events older than ``max_age`` and all but the newest ``keep_per_user`` per user."""
    result = await session.execute(
        delete(EventRecord).where(EventRecord.created_at < utcnow() - max_age)
    )
    deleted = int(result.rowcount or 0)  # type: ignore[attr-defined]
    heavy_users = (
        await session.execute(
            select(EventRecord.user_id)
            .group_by(EventRecord.user_id)
            .having(func.count() > keep_per_user)
        )
    ).scalars()
    for user_id in heavy_users.all():
        seq = await current_seq(session, user_id)
        result = await session.execute(
            delete(EventRecord).where(
                EventRecord.user_id == user_id, EventRecord.seq <= seq - keep_per_user
            )
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
