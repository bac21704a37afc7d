"""Response bodies for notifications."""

from __future__ import annotations

from datetime import datetime

from tidings.accounts.schemas import UserRead
from tidings.notifications.models import NotificationType
from tidings.schemas import ReadSchema


class NotificationRead(ReadSchema):
    id: int
    type: NotificationType
    actor: UserRead
    conversation_id: int | None
    message_id: int | None
    friend_request_id: int | None
    read: bool
    created_at: datetime


class NotificationList(ReadSchema):
    notifications: list[NotificationRead]
    unread_count: int
    last_event_id: str


class NotificationEnvelope(ReadSchema):
    notification: NotificationRead
    unread_count: int


class UnreadCount(ReadSchema):
    unread_count: int
