"""Queries for conversations: rows and numbers, scoped to a member (``views`` shapes them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from tidings.conversations.models import Conversation, ConversationMember, Message
from tidings.errors import NotFound


def conversation_for_member(
    session: Session, conversation_id: int, user_id: int
) -> tuple[Conversation, ConversationMember]:
    """The conversation and the user's membership; 404 for non-members as for unknown ids."""
    row = (
        session.execute(
            select(Conversation, ConversationMember)
            .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
            .where(Conversation.id == conversation_id, ConversationMember.user_id == user_id)
            # Fresh values even if the session holds the rows already (read again after a lock).
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    conversation, member = row
    return conversation, member


UNREAD_COUNT_CAP = 1000
"""Unread counts are counted up to here ("999+" in a list is as useful as the exact number)."""


def _unread_count(
    conversation_id: Any, last_read_message_id: Any, user_id: Any
) -> ScalarSelect[int]:
    """A member's unread count, derived: messages after their read position, not theirs, not
    deleted, not system lines, counted up to the cap (an index range scan on
    ``message(conversation_id, id)``). The arguments are values, or the columns of a member row
    the query correlates with."""
    unread = (
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.id > last_read_message_id,
            Message.sender_id != user_id,
            Message.deleted_at.is_(None),
            Message.system.is_(None),
        )
        .limit(UNREAD_COUNT_CAP)
        .correlate(ConversationMember)  # when given its columns: the outer query's member row
        .subquery()
    )
    return select(func.count()).select_from(unread).scalar_subquery()


def unread_count(session: Session, member: ConversationMember) -> int:
    """One member's unread count in one conversation."""
    count = session.scalar(
        select(_unread_count(member.conversation_id, member.last_read_message_id, member.user_id))
    )
    return int(count or 0)


def member_ids(session: Session, conversation_id: int) -> list[int]:
    rows = session.scalars(
        select(ConversationMember.user_id)
        .where(ConversationMember.conversation_id == conversation_id)
        .order_by(ConversationMember.user_id)
    )
    return list(rows.all())


def rows_for_member(
    session: Session, user_id: int
) -> list[tuple[Conversation, ConversationMember, int]]:
    """The user's conversations with their membership and unread count, most recent activity
    first (``views.conversation_list`` makes the sidebar of them)."""
    rows = session.execute(
        select(
            Conversation,
            ConversationMember,
            _unread_count(
                ConversationMember.conversation_id,
                ConversationMember.last_read_message_id,
                ConversationMember.user_id,
            ),
        )
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    return [(c, m, int(n)) for c, m, n in rows]
