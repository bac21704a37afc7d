"""Marking a conversation read: the reader's position moves, their other tabs are told, and
the other members get a read receipt (``attention.announce_read``: ephemeral, after commit)."""

from __future__ import annotations

from sqlalchemy import select

from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.conversations import queries, views
from tidings.conversations.actions import attention
from tidings.conversations.actions.common import conversation_lock, lock_for_member
from tidings.conversations.events import ConversationUpdateEvent
from tidings.conversations.models import Message
from tidings.conversations.schemas import MarkReadResult
from tidings.errors import NotFound
from tidings.notifications import actions as notification_actions
from tidings.notifications import queries as notification_queries
from tidings.notifications.models import Notification, NotificationType
from tidings.realtime.transaction import Transaction


async def mark_read(
    ctx: AppContext, user: User, conversation_id: int, message_id: int | None
) -> MarkReadResult:
    """Mark the conversation read up to ``message_id`` (default: its latest message)."""
    result, moved = await ctx.writer.run(
        _mark_read, user, conversation_id, message_id, locks=conversation_lock(conversation_id)
    )
    ctx.presence.note_activity(user.id)
    if moved:
        position = result.conversation.last_read_message_id
        await attention.announce_read(ctx, user, conversation_id, position)
    return result


def _mark_read(
    tx: Transaction, user: User, conversation_id: int, message_id: int | None
) -> tuple[MarkReadResult, bool]:
    # The conversation's lock, as a send takes it: the read event's unread count and last
    # message are those of its place in the log, never older than a message before it.
    conversation, member = lock_for_member(tx, conversation_id, user)
    target = message_id if message_id is not None else (conversation.last_message_id or 0)
    if message_id is not None:
        found = tx.session.scalar(
            select(Message.id).where(
                Message.id == message_id, Message.conversation_id == conversation_id
            )
        )
        if found is None:
            raise NotFound(f"Message {message_id} is not in conversation {conversation_id}.")
    before = member.last_read_message_id
    member.last_read_message_id = max(before, target)
    tx.session.flush()
    # Mentions of the reader in what they have now read are read too (their tabs are told).
    notification_actions.mark_read_where(
        tx,
        user.id,
        Notification.type == NotificationType.mention,
        Notification.conversation_id == conversation_id,
        Notification.message_id <= member.last_read_message_id,
    )
    unread = queries.unread_count(tx.session, member)
    [view] = views.conversation_views(tx.session, [(conversation, member, unread)])
    if member.last_read_message_id != before:
        tx.emit(
            user.id,
            ConversationUpdateEvent(
                conversation_id=conversation_id, reason="read", conversation=views.own_change(view)
            ),
        )
    result = MarkReadResult(
        conversation=view,
        notifications_unread_count=notification_queries.unread_count(tx.session, user.id),
    )
    return result, member.last_read_message_id != before
