"""The events the notifications domain sends: a new notification, and some marked read."""

from __future__ import annotations

from typing import Literal

from tidings.notifications.schemas import NotificationView
from tidings.realtime.events import EventData, durable_event


@durable_event
class NotificationEvent(EventData):
    """A new notification, with the addressee's new unread notification count."""

    type: Literal["notification"] = "notification"
    notification: NotificationView
    unread_count: int


@durable_event
class NotificationReadEvent(EventData):
    """Notifications were marked read (``notification_ids`` null: all of them)."""

    type: Literal["notification_read"] = "notification_read"
    notification_ids: list[int] | None
    unread_count: int
