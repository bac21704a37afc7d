"""Writes for notifications: creating them (inside other actions) and marking them read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, true, update

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.context import AppContext
from tidings.db import Prepared, utcnow
from tidings.errors import NotFound
from tidings.notifications import queries, views
from tidings.notifications.events import NotificationEvent, NotificationReadEvent
from tidings.notifications.models import Notification, NotificationType
from tidings.notifications.schemas import NotificationEnvelope, UnreadCount
from tidings.realtime.transaction import Transaction


def notify(
    tx: Transaction,
    user_ids: Sequence[int],
    type_: NotificationType,
    actor: User,
    *,
    conversation_id: int | None = None,
    message_id: int | None = None,
    friend_request_id: int | None = None,
) -> None:
    """Create one notification per user and emit each with its addressee's new unread count."""
    if not user_ids:
        return
    now = utcnow()
    fields = {
        "type": type_,
        "actor_id": actor.id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "friend_request_id": friend_request_id,
        "read": False,
        "created_at": now,
    }
    rows = [{**fields, "user_id": uid} for uid in user_ids]
    table = cast(Table, Notification.__table__)
    # Core executemany rather than an ORM bulk insert: adding many people to a group inserts
    # one per person.
    created = (tx.session.execute(insert(table).returning(table.c.id, table.c.user_id), rows)).all()
    counts = queries.unread_counts(tx.session, list(user_ids))
    actor_view = UserView.model_validate(actor)
    for notification_id, user_id in created:
        notification = Notification(**fields, id=notification_id, user_id=user_id)
        tx.emit(
            user_id,
            NotificationEvent(
                notification=views.notification_view(notification, actor_view),
                unread_count=counts[user_id],
            ),
        )


def mark_read_where(
    tx: Transaction, user_id: int, *conditions: object, everything: bool = False
) -> None:
    """Mark the user's unread notifications matching ``conditions`` read, and tell their tabs.

    With ``everything`` the event says "all" (``notification_ids: null``) instead of listing ids.
    """
    ids = (
        tx.session.scalars(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.read.is_(False),
                *conditions,  # type: ignore[arg-type]
            )
            .values(read=True)
            .returning(Notification.id)
        )
    ).all()
    if ids:
        _announce_read(tx, user_id, None if everything else ids)


def _announce_read(tx: Transaction, user_id: int, ids: Sequence[int] | None) -> None:
    """Tell the user's tabs these notifications (None: all) are read, with the new count."""
    count = queries.unread_count(tx.session, user_id)
    listed = None if ids is None else sorted(ids)
    tx.emit(user_id, NotificationReadEvent(notification_ids=listed, unread_count=count))


_notification_table = cast(Table, Notification.__table__)
_READ_MENTIONS_IN = Prepared(
    update(_notification_table)
    .where(
        _notification_table.c.user_id == bindparam("user_id"),
        _notification_table.c.read.is_(False),
        _notification_table.c.type == bindparam("type"),
        _notification_table.c.conversation_id == bindparam("conversation_id"),
    )
    .values(read=true())
    .returning(_notification_table.c.id)
)


def read_mentions_in(tx: Transaction, user_id: int, conversation_id: int) -> None:
    """Mark read the user's mentions in the conversation (they wrote in it, so read it), and
    tell their tabs if there were any. On the send path: one compiled statement."""
    rows = _READ_MENTIONS_IN.all(
        tx.session,
        {"user_id": user_id, "type": NotificationType.mention, "conversation_id": conversation_id},
    )
    if rows:
        _announce_read(tx, user_id, [notification_id for (notification_id,) in rows])


async def mark_read(ctx: AppContext, user: User, notification_id: int) -> NotificationEnvelope:
    """Mark one of the user's notifications read (a no-op if it already is)."""
    return await ctx.writer.run(_mark_read, user, notification_id)


def _mark_read(tx: Transaction, user: User, notification_id: int) -> NotificationEnvelope:
    account_queries.lock_users(tx.session, [user.id])
    notification = tx.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if notification is None:
        raise NotFound(f"Notification {notification_id} not found.")
    mark_read_where(tx, user.id, Notification.id == notification_id)
    tx.session.refresh(notification)
    [view] = views.views_of(tx.session, [notification])
    count = queries.unread_count(tx.session, user.id)
    return NotificationEnvelope(notification=view, unread_count=count)


async def mark_all_read(ctx: AppContext, user: User) -> UnreadCount:
    return await ctx.writer.run(_mark_all_read, user)


def _mark_all_read(tx: Transaction, user: User) -> UnreadCount:
    account_queries.lock_users(tx.session, [user.id])
    mark_read_where(tx, user.id, everything=True)
    return UnreadCount(unread_count=0)
