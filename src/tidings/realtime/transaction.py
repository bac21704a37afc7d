"""Where events are born: a write's transaction, which records its events with it.

Modelled on zulip's ``send_event_on_commit``: an action is a synchronous function of a
``Transaction``; it writes its rows and calls ``tx.emit`` (one user) or ``tx.emit_to_channel``
(every member of a conversation, stored once) with an explicit addressee; ``tx.join`` /
``tx.leave`` change who a channel's events reach from this write on. The writer
(``realtime/writer.py``) runs it, records its events in the same transaction (as its last
writes), and hands them to the hub only once the commit succeeded. A write that rolls back
emits nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from tidings.realtime.events import EventData
from tidings.realtime.log import PendingEvent


class Transaction:
    """A write session plus the events and membership changes to record with it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pending: list[PendingEvent] = []
        self.joins: list[tuple[int, int]] = []
        self.leaves: list[tuple[int, int]] = []

    def emit(self, user_id: int, event: EventData) -> None:
        """Send ``event`` to ``user_id`` if, and once, this transaction commits."""
        self.pending.append(PendingEvent(event, user_id=user_id))

    def emit_to(self, user_ids: Iterable[int], event: EventData) -> None:
        """Send ``event`` to each of these users (one row each: for a few, not for a group)."""
        for user_id in user_ids:
            self.pending.append(PendingEvent(event, user_id=user_id))

    def emit_to_channel(self, channel_id: int, event: EventData) -> None:
        """Send ``event`` to every member of the channel as of this transaction: one row."""
        self.pending.append(PendingEvent(event, channel_id=channel_id))

    def join(self, channel_id: int, user_ids: Iterable[int]) -> None:
        """These users get the channel's events from this write on (its own included)."""
        self.joins.extend((channel_id, u) for u in user_ids)

    def leave(self, channel_id: int, user_ids: Iterable[int]) -> None:
        """These users get none of the channel's events from this write on."""
        self.leaves.extend((channel_id, u) for u in user_ids)
