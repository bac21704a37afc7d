"""Notifications."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow


class NotificationType(enum.StrEnum):
    """Stored notifications. New messages are not among them: they are derived, per
    conversation, from its unread count (see the README's event section)."""

    friend_request = "friend_request"
    friend_accepted = "friend_accepted"
    added_to_group = "added_to_group"
    mention = "mention"
    """Someone wrote ``@you`` in a message (``message_id``) of ``conversation_id``."""


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_id_read_id", "user_id", "read", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    type: Mapped[NotificationType] = mapped_column(
        Enum(NotificationType, native_enum=False, length=32)
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    friend_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("friend_request.id", ondelete="CASCADE")
    )
    read: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
