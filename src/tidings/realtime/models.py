"""The event log's tables: the events, the log's head and floor, and channel memberships.

Realtime knows no domain: a *channel* is any group of users that receives the same events (the
conversations domain uses one per conversation, with the conversation's id). The foreign keys
name the ``user`` table, whose rows own the per-user events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow


class EventRecord(Base):
    """One row per event: addressed to one user, or to a channel (stored once for all its
    members). ``pos`` counts up from 1 over the whole log, without gaps, in commit order."""

    __tablename__ = "event"
    __table_args__ = (
        Index(
            "ix_event_user_id_pos",
            "user_id",
            "pos",
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "ix_event_channel_id_pos",
            "channel_id",
            "pos",
            sqlite_where=text("channel_id IS NOT NULL"),
            postgresql_where=text("channel_id IS NOT NULL"),
        ),
    )

    pos: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)
    """The event payload as one-line JSON, exactly as it goes on the wire."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class EventLogState(Base):
    """The log's one row: ``head``, the last position handed out (committed), and ``floor``,
    the position up to which events may have been pruned (a client behind it must resync)."""

    __tablename__ = "event_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    head: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    floor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ChannelSpan(Base):
    """A user's membership of a channel between two positions: the channel's events at
    ``joined_pos <= pos < left_pos`` (``left_pos`` null: still a member) are theirs."""

    __tablename__ = "channel_span"
    __table_args__ = (
        Index("ix_channel_span_user_id_channel_id", "user_id", "channel_id"),
        Index("ix_channel_span_channel_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    joined_pos: Mapped[int] = mapped_column(BigInteger)
    left_pos: Mapped[int | None] = mapped_column(BigInteger)
