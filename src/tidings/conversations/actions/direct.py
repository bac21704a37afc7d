"""The direct conversation of two friends: opened once, found every time after."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidings.accounts import queries as account_queries
from tidings.accounts.models import User
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import views
from tidings.conversations.actions.common import create_conversation, require_friends
from tidings.conversations.models import Conversation, ConversationType
from tidings.conversations.schemas import ConversationView
from tidings.errors import Unprocessable
from tidings.realtime.transaction import Transaction


async def open_direct(ctx: AppContext, user: User, other_id: int) -> tuple[ConversationView, bool]:
    """The DM between ``user`` and a friend, created if needed: it, and whether it is new."""
    if other_id == user.id:
        raise Unprocessable("A direct conversation needs another person.", code="self_conversation")
    try:
        return await ctx.writer.run(_open_direct, user, other_id)
    except IntegrityError:
        # Two first messages at once on PostgreSQL: the unique direct_key let one through.
        return await ctx.db.run_query(_existing_direct, user.id, other_id), False


def _direct_key(user_id: int, other_id: int) -> str:
    low, high = sorted((user_id, other_id))
    return f"{low}:{high}"


def _existing_direct(session: Session, user_id: int, other_id: int) -> ConversationView:
    existing_id = session.scalar(
        select(Conversation.id).where(Conversation.direct_key == _direct_key(user_id, other_id))
    )
    assert existing_id is not None
    return views.conversation_view(session, existing_id, user_id)


def _open_direct(tx: Transaction, user: User, other_id: int) -> tuple[ConversationView, bool]:
    account_queries.lock_users(tx.session, [user.id, other_id])
    key = _direct_key(user.id, other_id)
    existing = tx.session.scalar(select(Conversation).where(Conversation.direct_key == key))
    if existing is not None:
        return views.conversation_view(tx.session, existing.id, user.id), False
    require_friends(tx, user, [other_id], purpose=block_rules.MESSAGES)
    conversation = create_conversation(
        tx, user, [other_id], kind=ConversationType.direct, direct_key=key
    )
    return views.conversation_view(tx.session, conversation.id, user.id), True
