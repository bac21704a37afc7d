"""Views of notifications: the one builder of the shape the API and the events show."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.schemas import UserView
from tidings.notifications.models import Notification
from tidings.notifications.schemas import NotificationView


def notification_view(notification: Notification, actor: UserView) -> NotificationView:
    """A notification as the API and its ``notification`` event show it: the one builder."""
    return NotificationView(
        id=notification.id,
        type=notification.type,
        actor=actor,
        conversation_id=notification.conversation_id,
        message_id=notification.message_id,
        friend_request_id=notification.friend_request_id,
        read=notification.read,
        created_at=notification.created_at,
    )


def views_of(session: Session, notifications: Sequence[Notification]) -> list[NotificationView]:
    actors = account_queries.users_by_ids(session, [n.actor_id for n in notifications])
    return [
        notification_view(n, UserView.model_validate(actors[n.actor_id])) for n in notifications
    ]


def list_notifications(
    session: Session, user_id: int, *, unread_only: bool, limit: int
) -> list[NotificationView]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read.is_(False))
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit))
    return views_of(session, rows.all())
