"""Response bodies for notifications."""

from __future__ import annotations

from datetime import datetime

from tidings.accounts.schemas import UserView
from tidings.notifications.models import NotificationType
from tidings.schemas import ViewSchema


class NotificationView(ViewSchema):
    id: int
    type: NotificationType
    actor: UserView
    conversation_id: int | None
    message_id: int | None
    friend_request_id: int | None
    read: bool
    created_at: datetime


class NotificationList(ViewSchema):
    notifications: list[NotificationView]
    unread_count: int
    last_event_id: str


class NotificationEnvelope(ViewSchema):
    notification: NotificationView
    unread_count: int


class UnreadCount(ViewSchema):
    unread_count: int
