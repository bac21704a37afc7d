"""Writes for conversations: create, add and remove members, send messages, mark read.

Each action writes in one transaction and emits the events described in the README's event
table. Everything that concerns all members (a message, a membership change) is one event for
the conversation's channel, stored once whatever the member count (``tx.emit_to_channel``);
only what concerns one member (their read position, their removal) is addressed to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.context import AppContext
from tidings.conversations import queries
from tidings.conversations.events import (
    ConversationUpdateEvent,
    ConversationUpdateReason,
    MessageEvent,
)
from tidings.conversations.models import Conversation, ConversationMember, ConversationType, Message
from tidings.conversations.schemas import (
    ConversationChange,
    ConversationView,
    MarkReadResult,
    MessageView,
)
from tidings.db import Prepared, utcnow, writes_are_serialized
from tidings.errors import ApiError, Conflict, Forbidden, NotFound
from tidings.friends import queries as friend_queries
from tidings.notifications import actions as notification_actions
from tidings.notifications import queries as notification_queries
from tidings.notifications.models import NotificationType
from tidings.realtime.transaction import Outcome, Transaction
from tidings.realtime.writer import RowLocks


def _conversation_change(
    tx: Transaction,
    conversation: Conversation,
    *,
    with_members: bool,
    read_state: tuple[int, int] | None = None,
) -> ConversationChange:
    """The conversation as an event carries it: members if they changed, and the addressee's
    own (unread count, read position) only in an event addressed to them alone."""
    members = None
    if with_members:
        members = (queries.members_of(tx.session, [conversation.id]))[conversation.id]
    last_message = None
    if conversation.last_message_id is not None:
        last = queries.messages_by_ids(tx.session, [conversation.last_message_id])
        last_message = last[conversation.last_message_id]
    unread_count, last_read_message_id = read_state if read_state is not None else (None, None)
    return ConversationChange(
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


def _announce_membership(
    tx: Transaction, conversation: Conversation, reason: ConversationUpdateReason
) -> None:
    """One event for every member (as of this transaction): the conversation and its members."""
    view = _conversation_change(tx, conversation, with_members=True)
    tx.emit_to_channel(
        conversation.id,
        ConversationUpdateEvent(conversation_id=conversation.id, reason=reason, conversation=view),
    )


def _lock_for_member(
    tx: Transaction, conversation_id: int, user: User
) -> tuple[Conversation, ConversationMember]:
    """Lock the conversation's row (PostgreSQL), then return it as ``user``'s (404 if not).

    Every write to a conversation (a message, a membership change) takes this one lock first,
    so they run one after another whatever the member count, and a message is stored for
    exactly the members its transaction saw.
    """
    if not writes_are_serialized(tx.session):
        tx.session.execute(
            select(Conversation.id)
            .where(Conversation.id == conversation_id)
            .with_for_update(key_share=True)
        )
    return queries.conversation_for_member(tx.session, conversation_id, user.id)


def _require_friends(tx: Transaction, user: User, other_ids: Sequence[int]) -> None:
    unknown = set(other_ids) - set(
        (tx.session.scalars(select(User.id).where(User.id.in_(set(other_ids))))).all()
    )
    if unknown:
        raise NotFound(f"No user with id {min(unknown)}.", code="unknown_user")
    friends = friend_queries.friend_ids_among(tx.session, user.id, other_ids)
    strangers = sorted(set(other_ids) - friends)
    if strangers:
        raise Forbidden(
            f"User {strangers[0]} is not your friend: only friends can be added.",
            code="not_friends",
        )


def _create(
    tx: Transaction,
    creator: User,
    others: Sequence[int],
    *,
    kind: ConversationType,
    name: str | None = None,
    direct_key: str | None = None,
) -> Conversation:
    """Insert a conversation of ``creator`` and ``others``; all of them are sent ``created``."""
    now = utcnow()
    conversation = Conversation(
        type=kind,
        name=name,
        direct_key=direct_key,
        created_by_id=creator.id,
        created_at=now,
        updated_at=now,
    )
    tx.session.add(conversation)
    tx.session.flush()
    member_ids = [creator.id, *others]
    tx.session.add_all(
        [ConversationMember(conversation_id=conversation.id, user_id=uid) for uid in member_ids]
    )
    tx.session.flush()
    tx.join(conversation.id, member_ids)
    _announce_membership(tx, conversation, "created")
    return conversation


async def open_direct(
    ctx: AppContext, user: User, other_id: int
) -> Outcome[tuple[ConversationView, bool]]:
    """The DM between ``user`` and a friend, created if needed (value: it and whether it is new)."""
    if other_id == user.id:
        raise ApiError("A direct conversation needs another person.", code="self_conversation")
    try:
        return await ctx.writer.run(_open_direct, user, other_id)
    except IntegrityError:
        # Two first messages at once on PostgreSQL: the unique direct_key let one through.
        read = await ctx.db.run_query(_existing_direct, user.id, other_id)
        return Outcome((read, False))


def _direct_key(user_id: int, other_id: int) -> str:
    low, high = sorted((user_id, other_id))
    return f"{low}:{high}"


def _existing_direct(session: Session, user_id: int, other_id: int) -> ConversationView:
    existing_id = session.scalar(
        select(Conversation.id).where(Conversation.direct_key == _direct_key(user_id, other_id))
    )
    assert existing_id is not None
    return queries.conversation_view(session, existing_id, user_id)


def _open_direct(tx: Transaction, user: User, other_id: int) -> tuple[ConversationView, bool]:
    account_queries.lock_users(tx.session, [user.id, other_id])
    key = _direct_key(user.id, other_id)
    existing = tx.session.scalar(select(Conversation).where(Conversation.direct_key == key))
    if existing is not None:
        return queries.conversation_view(tx.session, existing.id, user.id), False
    _require_friends(tx, user, [other_id])
    conversation = _create(tx, user, [other_id], kind=ConversationType.direct, direct_key=key)
    return queries.conversation_view(tx.session, conversation.id, user.id), True


async def create_group(
    ctx: AppContext, user: User, name: str, member_ids: Sequence[int]
) -> Outcome[ConversationView]:
    """A group of ``user`` and some of their friends."""
    others = sorted(set(member_ids) - {user.id})
    if not others:
        raise ApiError("A group needs at least one other member.", code="empty_group")
    return await ctx.writer.run(_create_group, user, name, others)


def _create_group(tx: Transaction, user: User, name: str, others: list[int]) -> ConversationView:
    account_queries.lock_users(tx.session, [user.id, *others])
    _require_friends(tx, user, others)
    conversation = _create(tx, user, others, kind=ConversationType.group, name=name)
    read = queries.conversation_view(tx.session, conversation.id, user.id)
    notification_actions.notify(
        tx, others, NotificationType.added_to_group, user, conversation_id=conversation.id
    )
    return read


async def add_member(
    ctx: AppContext, user: User, conversation_id: int, new_id: int
) -> Outcome[ConversationView]:
    """Add a friend of ``user`` to a group ``user`` belongs to.

    The new member has read everything before they joined (their unread count starts at 0) and
    gets the group's events from this write on: none from before.
    """
    return await ctx.writer.run(_add_member, user, conversation_id, new_id)


def _add_member(tx: Transaction, user: User, conversation_id: int, new_id: int) -> ConversationView:
    # The two people first, then the conversation: the order every write here keeps.
    account_queries.lock_users(tx.session, [user.id, new_id])
    conversation, _ = _lock_for_member(tx, conversation_id, user)
    if conversation.type != ConversationType.group:
        raise ApiError("Members can only be added to groups.", code="not_a_group")
    existing = queries.member_ids(tx.session, conversation_id)
    if new_id in existing:
        raise Conflict(f"User {new_id} is already a member.", code="already_member")
    _require_friends(tx, user, [new_id])
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
    _announce_membership(tx, conversation, "member_added")
    notification_actions.notify(
        tx, [new_id], NotificationType.added_to_group, user, conversation_id=conversation_id
    )
    read = queries.conversation_view(tx.session, conversation_id, user.id)
    return read


async def remove_member(
    ctx: AppContext, user: User, conversation_id: int, member_id: int
) -> Outcome[None]:
    """Leave a group (``member_id`` is you), or remove someone from a group you created.

    The removed member is told (``removed``) and gets none of the group's events after this
    write; the others get ``member_removed``.
    """
    return await ctx.writer.run(_remove_member, user, conversation_id, member_id)


def _remove_member(tx: Transaction, user: User, conversation_id: int, member_id: int) -> None:
    conversation, _ = _lock_for_member(tx, conversation_id, user)
    if conversation.type != ConversationType.group:
        raise ApiError(
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
    _announce_membership(tx, conversation, "member_removed")
    return None


async def send_message(
    ctx: AppContext, user: User, conversation_id: int, content: str
) -> Outcome[MessageView]:
    """Store a message: one ``message`` event for the conversation, which every member's
    streams get (the sender's other tabs too).

    The same rows and statements for 2 members or 10,000: the message, the conversation's
    last message, the event. Unread counts and the bell's "new messages" are derived from it.
    Limited per sender and conversation (``RATE_LIMIT_SEND``), before any database work.
    """
    await ctx.limiter.hit(
        ctx.limiter.limits.send,
        str(user.id),
        str(conversation_id),
        detail="You are sending messages too fast. Wait a moment.",
    )
    return await ctx.writer.run(
        _send_message, user, conversation_id, content, locks=_conversation_lock(conversation_id)
    )


# The hot path: SQLAlchemy Core statements built and compiled once, run on the transaction's
# DBAPI cursor (``Prepared``), no ORM unit of work. (One message: these three statements, then
# the log's two, once per batch.)
_conversation_table = cast(Table, Conversation.__table__)
_member_table = cast(Table, ConversationMember.__table__)
_message_table = cast(Table, Message.__table__)
_IS_MEMBER = Prepared(
    select(_member_table.c.user_id).where(
        _member_table.c.conversation_id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
)
_LOCK_IF_MEMBER = Prepared(
    select(_conversation_table.c.id)
    .join(_member_table, _member_table.c.conversation_id == _conversation_table.c.id)
    .where(
        _conversation_table.c.id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
    .with_for_update(key_share=True, of=_conversation_table)
)
_INSERT_MESSAGE = Prepared(
    insert(_message_table)
    .values(
        conversation_id=bindparam("conversation_id"),
        sender_id=bindparam("user_id"),
        content=bindparam("content"),
        created_at=bindparam("now"),
    )
    .returning(_message_table.c.id)
)
_TOUCH_CONVERSATION = Prepared(
    update(_conversation_table)
    .where(_conversation_table.c.id == bindparam("conversation_id"))
    .values(last_message_id=bindparam("message_id"), updated_at=bindparam("now"))
)


def _conversation_lock(conversation_id: int) -> RowLocks:
    """What sending and marking read lock, and nothing else: the conversation's row (so on
    PostgreSQL they may share a transaction: ``Writer.run``)."""
    return RowLocks(_conversation_table, (conversation_id,))


def _send_message(tx: Transaction, user: User, conversation_id: int, content: str) -> MessageView:
    session = tx.session
    ids = {"conversation_id": conversation_id, "user_id": user.id}
    # One statement: the member check, and on PostgreSQL the conversation's row lock (every
    # write to a conversation takes it first: see _lock_for_member).
    check = _IS_MEMBER if writes_are_serialized(session) else _LOCK_IF_MEMBER
    if check.first(session, ids) is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    now = utcnow()
    (message_id,) = _INSERT_MESSAGE.first(session, {**ids, "content": content, "now": now})
    _TOUCH_CONVERSATION.run(
        session, {"conversation_id": conversation_id, "message_id": message_id, "now": now}
    )
    read = MessageView(
        id=message_id,
        conversation_id=conversation_id,
        sender=UserView.model_validate(user),
        content=content,
        created_at=now,
    )
    tx.emit_to_channel(conversation_id, MessageEvent(message=read))
    return read


async def mark_read(
    ctx: AppContext, user: User, conversation_id: int, message_id: int | None
) -> Outcome[MarkReadResult]:
    """Mark the conversation read up to ``message_id`` (default: its latest message)."""
    return await ctx.writer.run(
        _mark_read, user, conversation_id, message_id, locks=_conversation_lock(conversation_id)
    )


def _mark_read(
    tx: Transaction, user: User, conversation_id: int, message_id: int | None
) -> MarkReadResult:
    # The conversation's lock, as a send takes it: the read event's unread count and last
    # message are those of its place in the log, never older than a message before it.
    conversation, member = _lock_for_member(tx, conversation_id, user)
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
    if member.last_read_message_id != before:
        unread = queries.unread_count(tx.session, member)
        view = _conversation_change(
            tx, conversation, with_members=False, read_state=(unread, member.last_read_message_id)
        )
        tx.emit(
            user.id,
            ConversationUpdateEvent(
                conversation_id=conversation_id, reason="read", conversation=view
            ),
        )
    view_now = queries.conversation_view(tx.session, conversation_id, user.id)
    count = notification_queries.unread_count(tx.session, user.id)
    return MarkReadResult(conversation=view_now, notifications_unread_count=count)
