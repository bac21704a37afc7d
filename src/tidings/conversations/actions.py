"""Writes for conversations: create, add and remove members, send messages, mark read.

Each action writes in one transaction and emits, to an explicit list of members, the events
described in the README's event table.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.conversations import queries
from tidings.conversations.events import (
    ConversationUpdateEvent,
    ConversationUpdateReason,
    MessageEvent,
)
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    ConversationType,
    Message,
)
from tidings.conversations.schemas import (
    ConversationChange,
    ConversationRead,
    MessageRead,
    ReadResult,
)
from tidings.db import utcnow, writes_are_serialized
from tidings.errors import ApiError, Conflict, Forbidden, NotFound
from tidings.friends import queries as friend_queries
from tidings.notifications import actions as notification_actions
from tidings.notifications import queries as notification_queries
from tidings.notifications.models import Notification, NotificationType
from tidings.realtime.transaction import Outcome, Transaction, write_transaction

_MEMBERSHIP_REASONS = frozenset({"created", "member_added", "member_removed"})
ReadState = tuple[int, int]
"""A member's (unread_count, last_read_message_id)."""


async def _emit_conversation_update(
    tx: Transaction,
    conversation_id: int,
    reason: ConversationUpdateReason,
    user_ids: Sequence[int],
    *,
    known: tuple[Conversation, MessageRead | None, dict[int, ReadState]] | None = None,
) -> None:
    """Send each user their own view of the conversation (members only if they changed).

    ``known`` spares the queries when the caller has the conversation, its last message and
    each user's read state at hand (sending a message does).
    """
    if not user_ids:
        return
    if known is not None:
        conversation, last_message, read_states = known
    else:
        rows = (
            await tx.session.execute(
                select(Conversation, ConversationMember)
                .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
                .where(Conversation.id == conversation_id, ConversationMember.user_id.in_(user_ids))
            )
        ).all()
        conversation = rows[0][0]
        read_states = {m.user_id: (m.unread_count, m.last_read_message_id) for _, m in rows}
        last_message = None
        if conversation.last_message_id is not None:
            last = await queries.messages_by_ids(tx.session, [conversation.last_message_id])
            last_message = last[conversation.last_message_id]
    members = None
    if reason in _MEMBERSHIP_REASONS:
        members = (await queries.members_of(tx.session, [conversation_id]))[conversation_id]
    # Members whose view is the same share one event object, serialized once.
    events: dict[ReadState, ConversationUpdateEvent] = {}
    for user_id in user_ids:
        key = unread_count, last_read_message_id = read_states[user_id]
        event = events.get(key)
        if event is None:
            view = ConversationChange(
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
            event = events[key] = ConversationUpdateEvent(
                conversation_id=conversation_id, reason=reason, conversation=view
            )
        tx.emit(user_id, event)


async def _lock_for_member(
    tx: Transaction, conversation_id: int, user: User, *also: int
) -> tuple[Conversation, ConversationMember]:
    """Lock the members (and ``also``), then return the conversation as ``user``'s (404 if not)."""
    if not writes_are_serialized(tx.session):
        members = await queries.member_ids(tx.session, conversation_id)
        if user.id not in members:
            raise NotFound(f"Conversation {conversation_id} not found.")
        await account_queries.lock_users(tx.session, [*members, *also])
    return await queries.conversation_for_member(tx.session, conversation_id, user.id)


async def _require_friends(tx: Transaction, user: User, other_ids: Sequence[int]) -> None:
    unknown = set(other_ids) - set(
        (await tx.session.scalars(select(User.id).where(User.id.in_(set(other_ids))))).all()
    )
    if unknown:
        raise NotFound(f"No user with id {min(unknown)}.", code="unknown_user")
    friends = await friend_queries.friend_ids_among(tx.session, user.id, other_ids)
    strangers = sorted(set(other_ids) - friends)
    if strangers:
        raise Forbidden(
            f"User {strangers[0]} is not your friend: only friends can be added.",
            code="not_friends",
        )


async def _create(
    tx: Transaction,
    creator: User,
    others: Sequence[int],
    *,
    kind: ConversationType,
    name: str | None = None,
    direct_key: str | None = None,
) -> Conversation:
    """Insert a conversation of ``creator`` and ``others``; each of them is sent ``created``."""
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
    await tx.session.flush()
    member_ids = [creator.id, *others]
    tx.session.add_all(
        [ConversationMember(conversation_id=conversation.id, user_id=uid) for uid in member_ids]
    )
    await tx.session.flush()
    await _emit_conversation_update(tx, conversation.id, "created", member_ids)
    return conversation


async def open_direct(
    ctx: AppContext, user: User, other_id: int
) -> Outcome[tuple[ConversationRead, bool]]:
    """The DM between ``user`` and a friend, created if needed (value: it and whether it is new)."""
    if other_id == user.id:
        raise ApiError("A direct conversation needs another person.", code="self_conversation")
    low, high = sorted((user.id, other_id))
    key = f"{low}:{high}"
    try:
        async with write_transaction(ctx) as tx:
            await account_queries.lock_users(tx.session, [user.id, other_id])
            existing = await tx.session.scalar(
                select(Conversation).where(Conversation.direct_key == key)
            )
            if existing is not None:
                return Outcome(
                    (await queries.conversation_read(tx.session, existing.id, user.id), False)
                )
            await _require_friends(tx, user, [other_id])
            conversation = await _create(
                tx, user, [other_id], kind=ConversationType.direct, direct_key=key
            )
            read = await queries.conversation_read(tx.session, conversation.id, user.id)
    except IntegrityError:
        # Two first messages at once on PostgreSQL: the unique direct_key let one through.
        async with ctx.db.read() as session:
            existing_id = await session.scalar(
                select(Conversation.id).where(Conversation.direct_key == key)
            )
            assert existing_id is not None
            return Outcome((await queries.conversation_read(session, existing_id, user.id), False))
    return tx.outcome((read, True))


async def create_group(
    ctx: AppContext, user: User, name: str, member_ids: Sequence[int]
) -> Outcome[ConversationRead]:
    """A group of ``user`` and some of their friends."""
    others = sorted(set(member_ids) - {user.id})
    if not others:
        raise ApiError("A group needs at least one other member.", code="empty_group")
    async with write_transaction(ctx) as tx:
        await account_queries.lock_users(tx.session, [user.id, *others])
        await _require_friends(tx, user, others)
        conversation = await _create(tx, user, others, kind=ConversationType.group, name=name)
        read = await queries.conversation_read(tx.session, conversation.id, user.id)
        await notification_actions.notify(
            tx, others, NotificationType.added_to_group, user, conversation_id=conversation.id
        )
    return tx.outcome(read)


async def add_member(
    ctx: AppContext, user: User, conversation_id: int, new_id: int
) -> Outcome[ConversationRead]:
    """Add a friend of ``user`` to a group ``user`` belongs to."""
    async with write_transaction(ctx) as tx:
        conversation, _ = await _lock_for_member(tx, conversation_id, user, new_id)
        if conversation.type != ConversationType.group:
            raise ApiError("Members can only be added to groups.", code="not_a_group")
        existing = await queries.member_ids(tx.session, conversation_id)
        if new_id in existing:
            raise Conflict(f"User {new_id} is already a member.", code="already_member")
        await _require_friends(tx, user, [new_id])
        tx.session.add(ConversationMember(conversation_id=conversation_id, user_id=new_id))
        conversation.updated_at = utcnow()
        await tx.session.flush()
        await _emit_conversation_update(tx, conversation_id, "member_added", [*existing, new_id])
        await notification_actions.notify(
            tx, [new_id], NotificationType.added_to_group, user, conversation_id=conversation_id
        )
        read = await queries.conversation_read(tx.session, conversation_id, user.id)
    return tx.outcome(read)


async def remove_member(
    ctx: AppContext, user: User, conversation_id: int, member_id: int
) -> Outcome[None]:
    """Leave a group (``member_id`` is you), or remove someone from a group you created."""
    async with write_transaction(ctx) as tx:
        conversation, _ = await _lock_for_member(tx, conversation_id, user)
        if conversation.type != ConversationType.group:
            raise ApiError(
                "Nobody can leave or be removed from a direct conversation.", code="not_a_group"
            )
        if member_id != user.id and conversation.created_by_id != user.id:
            raise Forbidden(
                "Only the group's creator can remove other members.", code="not_creator"
            )
        membership = await tx.session.get(ConversationMember, (conversation_id, member_id))
        if membership is None:
            raise NotFound(f"User {member_id} is not a member of this conversation.")
        await tx.session.delete(membership)
        conversation.updated_at = utcnow()
        await tx.session.flush()
        tx.emit(
            member_id,
            ConversationUpdateEvent(
                conversation_id=conversation_id, reason="removed", conversation=None
            ),
        )
        remaining = await queries.member_ids(tx.session, conversation_id)
        await _emit_conversation_update(tx, conversation_id, "member_removed", remaining)
    return tx.outcome(None)


async def send_message(
    ctx: AppContext, user: User, conversation_id: int, content: str
) -> Outcome[MessageRead]:
    """Store a message: others get `message` + `notification`, all get `conversation_update`.

    Limited per sender and conversation (``RATE_LIMIT_SEND``), before any database work.
    """
    await ctx.limiter.hit(
        ctx.limiter.limits.send,
        str(user.id),
        str(conversation_id),
        detail="You are sending messages too fast. Wait a moment.",
    )
    async with write_transaction(ctx) as tx:
        conversation, membership = await _lock_for_member(tx, conversation_id, user)
        now = utcnow()
        message = Message(
            conversation_id=conversation_id, sender_id=user.id, content=content, created_at=now
        )
        tx.session.add(message)
        await tx.session.flush()
        conversation.last_message_id = message.id
        conversation.updated_at = now
        updated = await tx.session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation_id,
                ConversationMember.user_id != user.id,
            )
            .values(unread_count=ConversationMember.unread_count + 1)
            .returning(
                ConversationMember.user_id,
                ConversationMember.unread_count,
                ConversationMember.last_read_message_id,
            )
        )
        read_states = {uid: (unread, last_read) for uid, unread, last_read in updated}
        others = sorted(read_states)
        read_states[user.id] = (membership.unread_count, membership.last_read_message_id)
        await tx.session.flush()
        read = queries.message_read(message, user)
        tx.emit_to(others, MessageEvent(message=read))
        await notification_actions.notify(
            tx,
            others,
            NotificationType.message,
            user,
            conversation_id=conversation_id,
            message_id=message.id,
        )
        await _emit_conversation_update(
            tx,
            conversation_id,
            "message",
            [user.id, *others],
            known=(conversation, read, read_states),
        )
    return tx.outcome(read)


async def mark_read(
    ctx: AppContext, user: User, conversation_id: int, message_id: int | None
) -> Outcome[ReadResult]:
    """Mark the conversation read up to ``message_id`` (default: its latest message)."""
    async with write_transaction(ctx) as tx:
        await account_queries.lock_users(tx.session, [user.id])
        conversation, member = await queries.conversation_for_member(
            tx.session, conversation_id, user.id
        )
        target = message_id if message_id is not None else (conversation.last_message_id or 0)
        if message_id is not None:
            found = await tx.session.scalar(
                select(Message.id).where(
                    Message.id == message_id, Message.conversation_id == conversation_id
                )
            )
            if found is None:
                raise NotFound(f"Message {message_id} is not in conversation {conversation_id}.")
        new_last_read = max(member.last_read_message_id, target)
        unread = await tx.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.id > new_last_read,
                Message.sender_id != user.id,
            )
        )
        changed = (new_last_read, unread) != (member.last_read_message_id, member.unread_count)
        member.last_read_message_id = new_last_read
        member.unread_count = int(unread or 0)
        await tx.session.flush()
        await notification_actions.mark_read_where(
            tx,
            user.id,
            and_(
                Notification.type == NotificationType.message,
                Notification.conversation_id == conversation_id,
                Notification.message_id <= new_last_read,
            ),
        )
        if changed:
            await _emit_conversation_update(tx, conversation_id, "read", [user.id])
        view = await queries.conversation_read(tx.session, conversation_id, user.id)
        count = await notification_queries.unread_count(tx.session, user.id)
    return tx.outcome(ReadResult(conversation=view, notifications_unread_count=count))
