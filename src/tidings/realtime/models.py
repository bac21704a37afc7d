"""The event log: every event recorded in the transaction that caused it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow


class EventRecord(Base):
    """One row per (user, event). ``seq`` counts up from 1 per user without gaps."""

    __tablename__ = "event"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)
    """The event payload as one-line JSON, exactly as it goes on the wire."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
