"""What the conversation writes share: the conversation's lock, the friends (and blocks) check,
creating a conversation, and announcing a membership change to every member."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, select

from tidings.accounts.models import User
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import queries, views
from tidings.conversations.events import ConversationUpdateEvent, ConversationUpdateReason
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    ConversationType,
    MemberRole,
)
from tidings.db import utcnow, writes_are_serialized
from tidings.errors import Forbidden, NotFound
from tidings.friends import queries as friend_queries
from tidings.realtime.transaction import Transaction
from tidings.realtime.writer import RowLocks

conversation_table = cast(Table, Conversation.__table__)


def conversation_lock(conversation_id: int) -> RowLocks:
    """What sending and marking read lock, and nothing else: the conversation's row (so on
    PostgreSQL they may share a transaction: ``Writer.run``)."""
    return RowLocks(conversation_table, (conversation_id,))


async def limit_conversation_writes(ctx: AppContext, user: User, conversation_id: int) -> None:
    """429 when ``user`` writes to the conversation too fast (``RATE_LIMIT_SEND``): messages,
    edits, deletions and reactions share the budget, as each reaches every member."""
    await ctx.limiter.hit(
        ctx.limiter.limits.send,
        str(user.id),
        str(conversation_id),
        detail="You are sending messages too fast. Wait a moment.",
    )


def lock_for_member(
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


def require_friends(
    tx: Transaction, user: User, other_ids: Sequence[int], *, purpose: block_rules.Purpose
) -> None:
    """404 for an unknown user, 409 for one in a block with ``user`` (``you_blocked`` /
    ``blocked``: a block also ends the friendship, and this says why), 403 for one who is not
    ``user``'s friend."""
    unknown = set(other_ids) - set(
        (tx.session.scalars(select(User.id).where(User.id.in_(set(other_ids))))).all()
    )
    if unknown:
        raise NotFound(f"No user with id {min(unknown)}.", code="unknown_user")
    block_rules.refuse_blocked(tx.session, user, other_ids, purpose)
    friends = friend_queries.friend_ids_among(tx.session, user.id, other_ids)
    strangers = sorted(set(other_ids) - friends)
    if strangers:
        raise Forbidden(
            f"User {strangers[0]} is not your friend: only friends can be added.",
            code="not_friends",
        )


def announce_membership(
    tx: Transaction,
    conversation: Conversation,
    reason: ConversationUpdateReason,
    *,
    with_members: bool = True,
) -> None:
    """One event for every member (as of this transaction): the conversation, and its members
    unless they did not change (``with_members=False``: a group's name, description, picture or
    settings, whose event then costs the same for 3 members or 10,000)."""
    view = views.conversation_change(tx.session, conversation, with_members=with_members)
    tx.emit_to_channel(
        conversation.id,
        ConversationUpdateEvent(conversation_id=conversation.id, reason=reason, conversation=view),
    )


def create_conversation(
    tx: Transaction,
    creator: User,
    others: Sequence[int],
    *,
    kind: ConversationType,
    name: str | None = None,
    direct_key: str | None = None,
) -> Conversation:
    """Insert a conversation of ``creator`` and ``others``; all of them are sent ``created``.
    A group's creator is its owner."""
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
    creator_role = MemberRole.owner if kind == ConversationType.group else MemberRole.member
    tx.session.add_all(
        [
            ConversationMember(
                conversation_id=conversation.id,
                user_id=uid,
                role=creator_role if uid == creator.id else MemberRole.member,
                joined_at=now,
            )
            for uid in member_ids
        ]
    )
    tx.session.flush()
    tx.join(conversation.id, member_ids)
    announce_membership(tx, conversation, "created")
    return conversation
