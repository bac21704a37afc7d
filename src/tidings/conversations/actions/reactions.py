"""Reacting to a message: one emoji per person and reaction, any number of different ones."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tidings.accounts.models import User
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import views
from tidings.conversations.actions.common import (
    conversation_lock,
    limit_conversation_writes,
    lock_for_member,
)
from tidings.conversations.actions.editing import message_in
from tidings.conversations.events import MessageReactionsEvent
from tidings.conversations.models import MessageReaction
from tidings.conversations.schemas import MessageReactions
from tidings.db import utcnow
from tidings.errors import Conflict
from tidings.realtime.transaction import Transaction

MAX_EMOJI_PER_MESSAGE = 20
"""Different emoji one message may carry (a message is not a palette)."""


async def set_reaction(
    ctx: AppContext, user: User, conversation_id: int, message_id: int, emoji: str, *, on: bool
) -> MessageReactions:
    """Add (``on``) or remove your ``emoji`` reaction; members get ``message_reactions`` if
    that changed anything (adding twice, or removing what is not there, changes nothing)."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(
        _set_reaction,
        user,
        conversation_id,
        message_id,
        emoji,
        on,
        locks=conversation_lock(conversation_id),
    )


def _set_reaction(
    tx: Transaction, user: User, conversation_id: int, message_id: int, emoji: str, on: bool
) -> MessageReactions:
    conversation, _ = lock_for_member(tx, conversation_id, user)
    message = message_in(tx, conversation_id, message_id)
    session = tx.session
    mine = (
        MessageReaction.message_id == message_id,
        MessageReaction.emoji == emoji,
        MessageReaction.user_id == user.id,
    )
    there = session.scalar(select(MessageReaction.user_id).where(*mine)) is not None
    changed = on != there
    if changed and on:
        if conversation.blocked:  # taking a reaction back stays allowed
            block_rules.refuse_in_blocked_direct(session, user, conversation_id, block_rules.EDITS)
        if message.deleted_at is not None:
            raise Conflict(f"Message {message_id} was deleted.", code="message_deleted")
        used = session.scalar(
            select(func.count(func.distinct(MessageReaction.emoji))).where(
                MessageReaction.message_id == message_id, MessageReaction.emoji != emoji
            )
        )
        if (used or 0) >= MAX_EMOJI_PER_MESSAGE:
            raise Conflict(
                f"This message already has {MAX_EMOJI_PER_MESSAGE} different reactions: "
                "add one of them instead.",
                code="too_many_reactions",
            )
        session.add(
            MessageReaction(
                message_id=message_id, emoji=emoji, user_id=user.id, created_at=utcnow()
            )
        )
        session.flush()
    elif changed:
        session.execute(delete(MessageReaction).where(*mine))
    reactions = views.reaction_groups(session, [message_id]).get(message_id, [])
    if changed:
        tx.emit_to_channel(
            conversation_id,
            MessageReactionsEvent(
                conversation_id=conversation_id, message_id=message_id, reactions=reactions
            ),
        )
    return MessageReactions(
        conversation_id=conversation_id, message_id=message_id, reactions=reactions
    )
