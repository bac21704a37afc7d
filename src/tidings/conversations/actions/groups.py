"""Groups: creating one, adding a friend to it, leaving it or removing someone from it."""

from __future__ import annotations

from collections.abc import Sequence

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.conversations import queries, views
from tidings.conversations.actions.common import (
    announce_membership,
    create_conversation,
    lock_for_member,
    require_friends,
)
from tidings.conversations.events import ConversationUpdateEvent
from tidings.conversations.models import ConversationMember, ConversationType
from tidings.conversations.schemas import ConversationView
from tidings.db import utcnow
from tidings.errors import Conflict, Forbidden, NotFound, Unprocessable
from tidings.notifications import actions as notification_actions
from tidings.notifications.models import NotificationType
from tidings.realtime.transaction import Transaction


async def create_group(
    ctx: AppContext, user: User, name: str, member_ids: Sequence[int]
) -> ConversationView:
    """A group of ``user`` and some of their friends."""
    others = sorted(set(member_ids) - {user.id})
    if not others:
        raise Unprocessable("A group needs at least one other member.", code="empty_group")
    return await ctx.writer.run(_create_group, user, name, others)


def _create_group(tx: Transaction, user: User, name: str, others: list[int]) -> ConversationView:
    account_queries.lock_users(tx.session, [user.id, *others])
    require_friends(tx, user, others)
    conversation = create_conversation(tx, user, others, kind=ConversationType.group, name=name)
    view = views.conversation_view(tx.session, conversation.id, user.id)
    notification_actions.notify(
        tx, others, NotificationType.added_to_group, user, conversation_id=conversation.id
    )
    return view


async def add_member(
    ctx: AppContext, user: User, conversation_id: int, new_id: int
) -> ConversationView:
    """Add a friend of ``user`` to a group ``user`` belongs to.

    The new member has read everything before they joined (their unread count starts at 0) and
    gets the group's events from this write on: none from before.
    """
    return await ctx.writer.run(_add_member, user, conversation_id, new_id)


def _add_member(tx: Transaction, user: User, conversation_id: int, new_id: int) -> ConversationView:
    # The two people first, then the conversation: the order every write here keeps.
    account_queries.lock_users(tx.session, [user.id, new_id])
    conversation, _ = lock_for_member(tx, conversation_id, user)
    if conversation.type != ConversationType.group:
        raise Conflict("Members can only be added to groups.", code="not_a_group")
    existing = queries.member_ids(tx.session, conversation_id)
    if new_id in existing:
        raise Conflict(f"User {new_id} is already a member.", code="already_member")
    require_friends(tx, user, [new_id])
    tx.session.add(
        ConversationMember(
            conversation_id=conversation_id,
            user_id=new_id,
            last_read_message_id=conversation.last_message_id or 0,
        )
    )
    conversation.updated_at = utcnow()
    tx.session.flush()
    tx.join(conversation_id, [new_id])
    announce_membership(tx, conversation, "member_added")
    notification_actions.notify(
        tx, [new_id], NotificationType.added_to_group, user, conversation_id=conversation_id
    )
    return views.conversation_view(tx.session, conversation_id, user.id)


async def remove_member(ctx: AppContext, user: User, conversation_id: int, member_id: int) -> None:
    """Leave a group (``member_id`` is you), or remove someone from a group you created.

    The removed member is told (``removed``) and gets none of the group's events after this
    write; the others get ``member_removed``.
    """
    await ctx.writer.run(_remove_member, user, conversation_id, member_id)


def _remove_member(tx: Transaction, user: User, conversation_id: int, member_id: int) -> None:
    conversation, _ = lock_for_member(tx, conversation_id, user)
    if conversation.type != ConversationType.group:
        raise Conflict(
            "Nobody can leave or be removed from a direct conversation.", code="not_a_group"
        )
    if member_id != user.id and conversation.created_by_id != user.id:
        raise Forbidden("Only the group's creator can remove other members.", code="not_creator")
    membership = tx.session.get(ConversationMember, (conversation_id, member_id))
    if membership is None:
        raise NotFound(f"User {member_id} is not a member of this conversation.")
    tx.session.delete(membership)
    conversation.updated_at = utcnow()
    tx.session.flush()
    tx.leave(conversation_id, [member_id])
    tx.emit(
        member_id,
        ConversationUpdateEvent(
            conversation_id=conversation_id, reason="removed", conversation=None
        ),
    )
    announce_membership(tx, conversation, "member_removed")
