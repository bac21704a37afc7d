"""Reads for conversations and messages. Every read here is scoped to a member."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.conversations.models import Conversation, ConversationMember, Message
from tidings.conversations.schemas import ConversationView, MessagePage, MessageView
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
    """A member's unread count, derived: messages after their read position, not theirs,
    counted up to the cap (an index range scan on ``message(conversation_id, id)``). The
    arguments are values, or the columns of a member row the query correlates with."""
    unread = (
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.id > last_read_message_id,
            Message.sender_id != user_id,
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


def members_of(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[UserView]]:
    members: dict[int, list[UserView]] = defaultdict(list)
    if not conversation_ids:
        return members
    rows = session.execute(
        select(ConversationMember.conversation_id, User)
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
        .order_by(ConversationMember.conversation_id, User.username)
    )
    for conversation_id, user in rows:
        members[conversation_id].append(UserView.model_validate(user))
    return members


def messages_by_ids(session: Session, ids: Sequence[int]) -> dict[int, MessageView]:
    if not ids:
        return {}
    rows = session.execute(
        select(Message, User).join(User, User.id == Message.sender_id).where(Message.id.in_(ids))
    )
    return {m.id: message_view(m, u) for m, u in rows}


def message_view(message: Message, sender: User) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        sender=UserView.model_validate(sender),
        content=message.content,
        created_at=message.created_at,
    )


def conversation_views(
    session: Session, rows: Sequence[tuple[Conversation, ConversationMember, int]]
) -> list[ConversationView]:
    """Sidebar entries for (conversation, the viewer's membership, their unread count) rows,
    in the given order."""
    ids = [c.id for c, _, _ in rows]
    members = members_of(session, ids)
    last = messages_by_ids(session, [c.last_message_id for c, _, _ in rows if c.last_message_id])
    return [
        ConversationView(
            id=c.id,
            type=c.type,
            name=c.name,
            created_by_id=c.created_by_id,
            members=members[c.id],
            last_message=last.get(c.last_message_id) if c.last_message_id else None,
            unread_count=unread,
            last_read_message_id=m.last_read_message_id,
            updated_at=c.updated_at,
        )
        for c, m, unread in rows
    ]


def conversation_view(session: Session, conversation_id: int, user_id: int) -> ConversationView:
    conversation, member = conversation_for_member(session, conversation_id, user_id)
    unread = unread_count(session, member)
    [read] = conversation_views(session, [(conversation, member, unread)])
    return read


def list_for_user(session: Session, user_id: int) -> list[ConversationView]:
    """The user's conversations, most recent activity first."""
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
    return conversation_views(session, [(c, m, int(n)) for c, m, n in rows])


def message_page(
    session: Session, conversation_id: int, *, before: int | None, limit: int
) -> MessagePage:
    """Up to ``limit`` messages older than ``before`` (newest if None), oldest first."""
    query = (
        select(Message, User)
        .join(User, User.id == Message.sender_id)
        .where(Message.conversation_id == conversation_id)
    )
    if before is not None:
        query = query.where(Message.id < before)
    rows = (session.execute(query.order_by(Message.id.desc()).limit(limit + 1))).all()
    has_more = len(rows) > limit
    page = [message_view(m, u) for m, u in rows[:limit]]
    page.reverse()
    return MessagePage(messages=page, has_more=has_more)
