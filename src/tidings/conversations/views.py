"""Views of conversations and messages: the one place each shape the API and the events show
is built.

A sidebar entry is built by ``_entry`` alone, whether it answers a request
(``ConversationView``: everything, for one member) or goes in a ``conversation_update`` event
(``ConversationChange``: the members only if they changed; the read state only in an event
addressed to its member alone, which is their ``ConversationView`` less the members).
A message is built by ``message_view`` alone, for a history
page, a sidebar entry's last message, a send's answer and its ``message`` event. So a fresh
fetch and the state a client rebuilds from events agree by construction
(``tests/test_views_agree.py`` checks it for every event type).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.conversations import queries
from tidings.conversations.models import Conversation, ConversationMember, Message
from tidings.conversations.schemas import (
    ConversationChange,
    ConversationView,
    MessagePage,
    MessageView,
)

Entry = TypeVar("Entry", ConversationView, ConversationChange)


class MessageFields(Protocol):
    """What a message view is built from: a ``Message`` row, or the values the send path just
    wrote (``SentMessage``: a transient ORM object costs ~10 µs to build, a dataclass ~1)."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def client_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: int
    conversation_id: int
    content: str
    created_at: datetime
    client_id: str | None


def message_view(message: MessageFields, sender: User | UserView) -> MessageView:
    """A message as every answer and event shows it."""
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        sender=sender if isinstance(sender, UserView) else UserView.model_validate(sender),
        content=message.content,
        created_at=message.created_at,
        client_id=message.client_id,
    )


def messages_by_ids(session: Session, ids: Sequence[int]) -> dict[int, MessageView]:
    if not ids:
        return {}
    rows = session.execute(
        select(Message, User).join(User, User.id == Message.sender_id).where(Message.id.in_(ids))
    )
    return {m.id: message_view(m, u) for m, u in rows}


def members_of(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[UserView]]:
    """Each conversation's members, by username."""
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


def _entry(
    model: type[Entry],
    conversation: Conversation,
    *,
    members: list[UserView] | None,
    last_message: MessageView | None,
    unread_count: int | None,
    last_read_message_id: int | None,
) -> Entry:
    """The sidebar entry: the one builder of both its shapes."""
    return model(
        id=conversation.id,
        type=conversation.type,
        name=conversation.name,
        created_by_id=conversation.created_by_id,
        members=members,
        last_message=last_message,
        unread_count=unread_count,
        last_read_message_id=last_read_message_id,
        updated_at=conversation.updated_at,
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
        _entry(
            ConversationView,
            c,
            members=members[c.id],
            last_message=last.get(c.last_message_id) if c.last_message_id else None,
            unread_count=unread,
            last_read_message_id=m.last_read_message_id,
        )
        for c, m, unread in rows
    ]


def conversation_view(session: Session, conversation_id: int, user_id: int) -> ConversationView:
    """One conversation's sidebar entry for one member (404 for anyone else)."""
    conversation, member = queries.conversation_for_member(session, conversation_id, user_id)
    unread = queries.unread_count(session, member)
    [view] = conversation_views(session, [(conversation, member, unread)])
    return view


def conversation_list(session: Session, user_id: int) -> list[ConversationView]:
    """The user's sidebar: their conversations, most recent activity first."""
    return conversation_views(session, queries.rows_for_member(session, user_id))


def conversation_change(
    session: Session, conversation: Conversation, *, with_members: bool
) -> ConversationChange:
    """The entry as a ``conversation_update`` event to every member carries it: the members if
    they changed (``with_members``), nobody's read state."""
    members = members_of(session, [conversation.id])[conversation.id] if with_members else None
    last_message = None
    if conversation.last_message_id is not None:
        last_message = messages_by_ids(session, [conversation.last_message_id]).get(
            conversation.last_message_id
        )
    return _entry(
        ConversationChange,
        conversation,
        members=members,
        last_message=last_message,
        unread_count=None,
        last_read_message_id=None,
    )


def own_change(view: ConversationView) -> ConversationChange:
    """A member's own entry as an event addressed to them alone carries it (``read``): their
    read state, without the members (unchanged)."""
    return ConversationChange(**{**dict(view), "members": None})


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
