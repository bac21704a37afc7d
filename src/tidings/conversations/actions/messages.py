"""Sending a message: the busiest write, on SQLAlchemy Core statements compiled once.

A send may carry the client's own id for the message (``client_id``): a send repeated with it
(a retry after a lost answer, a double submit, the same request reaching two processes) finds
the message the first one stored and answers with it, storing and announcing nothing more.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tidings.accounts.models import User
from tidings.context import AppContext
from tidings.conversations import views
from tidings.conversations.actions.common import conversation_lock, conversation_table
from tidings.conversations.events import MessageEvent
from tidings.conversations.models import ConversationMember, Message
from tidings.conversations.schemas import MessageView
from tidings.db import Prepared, utcnow, writes_are_serialized
from tidings.errors import Conflict, NotFound
from tidings.realtime.transaction import Transaction


async def send_message(
    ctx: AppContext,
    user: User,
    conversation_id: int,
    content: str,
    client_id: str | None = None,
) -> MessageView:
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
        _send_message,
        user,
        conversation_id,
        content,
        client_id,
        locks=conversation_lock(conversation_id),
    )


# The hot path: SQLAlchemy Core statements built and compiled once, run on the transaction's
# DBAPI cursor (``Prepared``), no ORM unit of work. (One message: these three statements, then
# the log's two, once per batch.)
_member_table = cast(Table, ConversationMember.__table__)
_message_table = cast(Table, Message.__table__)
_IS_MEMBER = Prepared(
    select(_member_table.c.user_id).where(
        _member_table.c.conversation_id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
)
_LOCK_IF_MEMBER = Prepared(
    select(conversation_table.c.id)
    .join(_member_table, _member_table.c.conversation_id == conversation_table.c.id)
    .where(
        conversation_table.c.id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
    .with_for_update(key_share=True, of=conversation_table)
)
_NEW_MESSAGE: dict[str, Any] = {
    "conversation_id": bindparam("conversation_id"),
    "sender_id": bindparam("user_id"),
    "content": bindparam("content"),
    "created_at": bindparam("now"),
    "client_id": bindparam("client_id"),
}
_INSERT_MESSAGE = Prepared(
    insert(_message_table).values(_NEW_MESSAGE).returning(_message_table.c.id),
    # A client id sent before: no row, and no error that would spoil the transaction.
    variants={
        name: dialect.insert(_message_table)
        .values(_NEW_MESSAGE)
        .on_conflict_do_nothing(index_elements=["sender_id", "client_id"])
        .returning(_message_table.c.id)
        for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
    },
)
_TOUCH_CONVERSATION = Prepared(
    update(conversation_table)
    .where(conversation_table.c.id == bindparam("conversation_id"))
    .values(last_message_id=bindparam("message_id"), updated_at=bindparam("now"))
)


def _send_message(
    tx: Transaction, user: User, conversation_id: int, content: str, client_id: str | None
) -> MessageView:
    session = tx.session
    ids = {"conversation_id": conversation_id, "user_id": user.id}
    # One statement: the member check, and on PostgreSQL the conversation's row lock (every
    # write to a conversation takes it first: see common.lock_for_member).
    check = _IS_MEMBER if writes_are_serialized(session) else _LOCK_IF_MEMBER
    if check.first(session, ids) is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    now = utcnow()
    inserted = _INSERT_MESSAGE.first(
        session, {**ids, "content": content, "now": now, "client_id": client_id}
    )
    if inserted is None:
        assert client_id is not None
        return _sent_before(tx, user, conversation_id, content, client_id)
    (message_id,) = inserted
    _TOUCH_CONVERSATION.run(
        session, {"conversation_id": conversation_id, "message_id": message_id, "now": now}
    )
    message = views.SentMessage(message_id, conversation_id, content, now, client_id)
    view = views.message_view(message, user)
    tx.emit_to_channel(conversation_id, MessageEvent(message=view))
    return view


def _sent_before(
    tx: Transaction, user: User, conversation_id: int, content: str, client_id: str
) -> MessageView:
    """The answer to a repeated send: the message its client id named (409 if the repeat is
    not the same message)."""
    message = tx.session.scalar(
        select(Message).where(Message.sender_id == user.id, Message.client_id == client_id)
    )
    if message is None or message.conversation_id != conversation_id or message.content != content:
        raise Conflict(
            "You sent a different message with this client_id: each message needs its own.",
            code="client_id_reused",
        )
    return views.message_view(message, user)
