"""Typing signals and read receipts: ephemeral, to the other members' open streams.

Where ``typing`` and ``read_receipt`` events are born. Neither is written to the database or
the event log: a typing signal is gone after a few seconds anyway, and read positions are
stored by the read mark itself (``read_marks.py``); a (re)connecting client asks for the
receipts of the conversation it shows (``receipts``). Both go only to members who are not in
a block with the sender (either way), and live only in conversations of at most
``PRESENCE_GROUP_LIMIT`` members (a larger group's receipts are asked for; its typing is not
sent: a hundred people's "is typing" is noise, and costs a message per member).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.accounts.schemas import UserView
from tidings.blocks import rules
from tidings.blocks.queries import blocked_either_way
from tidings.context import AppContext
from tidings.conversations.events import ReadReceiptEvent, TypingEvent
from tidings.conversations.models import Conversation, ConversationMember, ConversationType
from tidings.conversations.schemas import Receipt, ReceiptList
from tidings.errors import Conflict, NotFound

TYPING_EXPIRES_MS = 6000
"""A client forgets a typing signal after this unless another comes (the sender's tab sends
one every 3 s while its person types)."""


async def signal_typing(ctx: AppContext, user: User, conversation_id: int, *, active: bool) -> None:
    """Tell the conversation's other members that ``user`` is typing (or stopped). 404 if not
    a member; 409 where they could not send the message either (a closed or blocked DM)."""
    await ctx.limiter.hit(
        ctx.limiter.limits.attention,
        str(user.id),
        detail="You are sending typing signals too fast. Wait a moment.",
    )
    recipients = await ctx.db.run_query(
        _live_recipients, user.id, conversation_id, ctx.settings.presence_group_limit, True
    )
    ctx.presence.note_activity(user.id)
    event = TypingEvent(
        conversation_id=conversation_id,
        user=UserView.model_validate(user),
        active=active,
        expires_in_ms=TYPING_EXPIRES_MS if active else 0,
    )
    await ctx.hub.send_ephemeral(recipients, event)


async def announce_read(
    ctx: AppContext, user: User, conversation_id: int, last_read_message_id: int
) -> None:
    """After a read mark moved ``user``'s position: a receipt to the other members (unless
    ``user`` turned receipts off). Never raises: a receipt lost is fetched at the next open."""
    if not user.send_read_receipts:
        return
    try:
        recipients = await ctx.db.run_query(
            _live_recipients, user.id, conversation_id, ctx.settings.presence_group_limit, False
        )
    except (NotFound, Conflict):
        return  # left or deleted meanwhile
    event = ReadReceiptEvent(
        conversation_id=conversation_id,
        user_id=user.id,
        last_read_message_id=last_read_message_id,
    )
    await ctx.hub.send_ephemeral(recipients, event)


def _live_recipients(
    session: Session, user_id: int, conversation_id: int, group_limit: int, sending: bool
) -> list[int]:
    """The other members of the conversation who get ``user_id``'s typing and receipts live:
    not in a block with them; none in a conversation larger than ``group_limit``."""
    row = session.execute(
        select(Conversation.type, Conversation.closed_at, Conversation.blocked)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(Conversation.id == conversation_id, ConversationMember.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    kind, closed_at, blocked = row
    if sending and closed_at is not None:
        raise Conflict("The other person deleted their account.", code="user_deleted")
    if sending and blocked:
        # Which side blocked, in the words a send would get (409 blocked / you_blocked).
        typist = session.get(User, user_id)
        assert typist is not None
        rules.refuse_in_blocked_direct(session, typist, conversation_id, rules.MESSAGES)
    if kind == ConversationType.group:
        size = session.scalar(
            select(func.count()).where(ConversationMember.conversation_id == conversation_id)
        )
        if (size or 0) > group_limit:
            return []
    members = session.scalars(
        select(ConversationMember.user_id)
        .join(User, User.id == ConversationMember.user_id)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id != user_id,
            User.deleted_at.is_(None),
        )
    ).all()
    return sorted(set(members) - blocked_either_way(session, user_id))


def receipts(session: Session, viewer_id: int, conversation_id: int, limit: int) -> ReceiptList:
    """How far the conversation's other members have read, for those who send receipts and are
    not in a block with the viewer (404 unless the viewer is a member): the ``limit`` furthest
    ahead (a group of 10,000 is not listed to every member opening it)."""
    is_member = session.scalar(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == viewer_id,
        )
    )
    if is_member is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    hidden = blocked_either_way(session, viewer_id)
    rows = session.execute(
        select(ConversationMember.user_id, ConversationMember.last_read_message_id)
        .join(User, User.id == ConversationMember.user_id)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id != viewer_id,
            ConversationMember.user_id.not_in(hidden),
            ConversationMember.last_read_message_id > 0,
            User.deleted_at.is_(None),
            User.send_read_receipts,
        )
        .order_by(ConversationMember.last_read_message_id.desc(), ConversationMember.user_id)
        .limit(limit + 1)  # one more: are there more?
    ).all()
    return ReceiptList(
        receipts=[
            Receipt(user_id=member, last_read_message_id=position)
            for member, position in rows[:limit]
        ],
        complete=len(rows) <= limit,
    )
