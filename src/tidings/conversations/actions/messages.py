"""Sending a message: the busiest write, on SQLAlchemy Core statements compiled once.

A send may carry the client's own id for the message (``client_id``): a send repeated with it
(a retry after a lost answer, a double submit, an offline outbox flushed twice, the same request
reaching two processes) finds the message the first one stored and answers with it, storing and
announcing nothing more. It does so even when a new send would now be refused (the sender was
removed, the DM blocked, the replied-to message deleted, the rate limit reached) or the message
was edited since: the retry of a message that was stored is never told it was not sent.

A send may also answer another message (``reply_to_id``), carry the sender's uploads
(``attachment_ids``) and mention members (``@username``: each gets a ``mention``
notification, unless they blocked the sender). A plain text message pays for none of these.

A DM whose members are in a block (``conversation.blocked``, read by the member check with
``closed_at``: no statement of its own) takes no messages: 409 ``blocked`` or ``you_blocked``,
which only that refusal spends a read on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.attachments import links as attachment_links
from tidings.blocks import queries as block_queries
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import views
from tidings.conversations.actions.common import (
    conversation_lock,
    conversation_table,
    limit_conversation_writes,
)
from tidings.conversations.events import MessageEvent
from tidings.conversations.models import ConversationMember, Message, MessageEdit
from tidings.conversations.schemas import MessageView, ReplyQuote
from tidings.db import Prepared, utcnow, writes_are_serialized
from tidings.errors import ApiError, Conflict, NotFound, TooManyRequests, Unprocessable
from tidings.notifications import actions as notification_actions
from tidings.notifications.models import NotificationType
from tidings.realtime.transaction import Transaction

MENTION = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])")
"""``@username`` in a message's text (usernames are 3-32 of a-z, 0-9 and _, case-insensitive),
not inside a word or an e-mail address."""
NOT_TEXT = re.compile(r"```.*?```|`[^`\n]*`|\b(?:https?://|www\.)\S+", re.DOTALL)
"""Code (fenced blocks, inline spans) and links: an ``@name`` there is not a mention (the web
client, format.js, draws none there either)."""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """What a send asks for, beyond its conversation."""

    content: str
    client_id: str | None = None
    reply_to_id: int | None = None
    attachment_ids: tuple[int, ...] = ()


async def send_message(
    ctx: AppContext, user: User, conversation_id: int, new: NewMessage | str
) -> MessageView:
    """Store a message: one ``message`` event for the conversation, which every member's
    streams get (the sender's other tabs too).

    The same rows and statements for 2 members or 10,000: the message, the conversation's
    last message, the sender's read position (their own message is read), the event. Unread
    counts and the bell's "new messages" are derived from it. Limited per sender and
    conversation (``RATE_LIMIT_SEND``), before any database work.
    """
    if isinstance(new, str):
        new = NewMessage(new)
    if not new.content and not new.attachment_ids:
        raise Unprocessable(
            "A message needs text or at least one attachment.", code="empty_message"
        )
    try:
        await limit_conversation_writes(ctx, user, conversation_id)
    except TooManyRequests:
        if new.client_id is None:
            raise
        repeat = await ctx.db.run_query(_stored_before, user, conversation_id, new)
        if repeat is None:
            raise
        return repeat
    view = await ctx.writer.run(
        _send_message,
        user,
        conversation_id,
        new,
        locks=conversation_lock(conversation_id),
    )
    ctx.presence.note_activity(user.id)  # no I/O here: at most one report per 30 s, batched
    return view


# The hot path: SQLAlchemy Core statements built and compiled once, run on the transaction's
# DBAPI cursor (``Prepared``), no ORM unit of work. (One message: these three statements, then
# the log's two, once per batch.)
_member_table = cast(Table, ConversationMember.__table__)
_message_table = cast(Table, Message.__table__)
_IS_MEMBER = Prepared(
    select(conversation_table.c.closed_at, conversation_table.c.blocked)
    .join(_member_table, _member_table.c.conversation_id == conversation_table.c.id)
    .where(
        conversation_table.c.id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
)
_LOCK_IF_MEMBER = Prepared(
    select(conversation_table.c.closed_at, conversation_table.c.blocked)
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
    "reply_to_id": bindparam("reply_to_id"),
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
_READ_OWN_MESSAGE = Prepared(
    update(_member_table)
    .where(
        _member_table.c.conversation_id == bindparam("conversation_id"),
        _member_table.c.user_id == bindparam("user_id"),
    )
    .values(last_read_message_id=bindparam("message_id"))
)


def _send_message(
    tx: Transaction, user: User, conversation_id: int, new: NewMessage
) -> MessageView:
    session = tx.session
    ids = {"conversation_id": conversation_id, "user_id": user.id}
    # One statement: the member check, and on PostgreSQL the conversation's row lock (every
    # write to a conversation takes it first: see common.lock_for_member).
    check = _IS_MEMBER if writes_are_serialized(session) else _LOCK_IF_MEMBER
    try:
        member = check.first(session, ids)
        if member is None:
            raise NotFound(f"Conversation {conversation_id} not found.")
        closed_at, blocked = member
        if closed_at is not None:  # closed: a DM whose other member deleted their account
            raise Conflict("The other person deleted their account.", code="user_deleted")
        if blocked:  # a DM whose members are in a block: only now ask who blocked whom
            block_rules.refuse_in_blocked_direct(
                session, user, conversation_id, block_rules.MESSAGES
            )
        quote = _quote(tx, conversation_id, new.reply_to_id) if new.reply_to_id else None
    except ApiError:
        # Refused now, but perhaps stored before (a retry): then it was sent, and says so.
        repeat = _stored_before(session, user, conversation_id, new) if new.client_id else None
        if repeat is None:
            raise
        return repeat
    now = utcnow()
    inserted = _INSERT_MESSAGE.first(
        session,
        {
            **ids,
            "content": new.content,
            "now": now,
            "client_id": new.client_id,
            "reply_to_id": new.reply_to_id,
        },
    )
    if inserted is None:
        assert new.client_id is not None
        return _sent_before(tx, user, conversation_id, new)
    (message_id,) = inserted
    moved = {**ids, "message_id": message_id, "now": now}
    _TOUCH_CONVERSATION.run(session, moved)
    _READ_OWN_MESSAGE.run(session, moved)
    attachments = None
    if new.attachment_ids:
        attachments = attachment_links.claim(
            session, user.id, conversation_id, message_id, list(new.attachment_ids)
        )
    message = views.SentMessage(message_id, conversation_id, new.content, now, new.client_id)
    view = views.message_view(message, user, reply_to=quote, attachments=attachments)
    tx.emit_to_channel(conversation_id, MessageEvent(message=view))
    # The sender's read position moved to their message: any mention of them before it is
    # read too (their tabs are told).
    notification_actions.read_mentions_in(tx, user.id, conversation_id)
    if "@" in new.content:
        _notify_mentioned(tx, user, conversation_id, message_id, new.content)
    return view


def _quote(tx: Transaction, conversation_id: int, reply_to_id: int) -> ReplyQuote:
    """The quote of the message a reply answers (422 unless it is one of this conversation's
    messages, not deleted)."""
    row = tx.session.execute(
        select(Message, User)
        .join(User, User.id == Message.sender_id)
        .where(Message.id == reply_to_id, Message.conversation_id == conversation_id)
    ).first()
    if row is None:
        raise Unprocessable(
            f"Message {reply_to_id} is not in conversation {conversation_id}: a reply answers "
            "a message of its own conversation.",
            code="reply_to_unknown",
        )
    original, sender = row
    if original.system is not None:
        raise Unprocessable(
            f"Message {reply_to_id} is a system line: replies answer messages people wrote.",
            code="reply_to_system_line",
        )
    if original.deleted_at is not None:
        raise Unprocessable(f"Message {reply_to_id} was deleted.", code="reply_to_deleted")
    files = attachment_links.for_messages(tx.session, [original.id])
    return views.reply_quote(original, sender, len(files.get(original.id, ())))


def mentioned_members(tx: Transaction, user: User, conversation_id: int, content: str) -> list[int]:
    """The members other than ``user`` whose ``@username`` is in ``content`` (but those who
    blocked ``user``). A mention notifies even in a conversation its member muted."""
    names = {name.lower() for name in MENTION.findall(NOT_TEXT.sub(" ", content))}
    if not names:
        return []
    return list(
        tx.session.scalars(
            select(User.id)
            .join(ConversationMember, ConversationMember.user_id == User.id)
            .where(
                ConversationMember.conversation_id == conversation_id,
                User.username.in_(names),
                User.id != user.id,
                # Someone who blocked the sender is not told (in a group they share).
                block_queries.not_blocked_by(User.id, user.id),
            )
            .order_by(User.id)
        )
    )


def _notify_mentioned(
    tx: Transaction, user: User, conversation_id: int, message_id: int, content: str
) -> None:
    mentioned = mentioned_members(tx, user, conversation_id, content)
    notification_actions.notify(
        tx,
        mentioned,
        NotificationType.mention,
        user,
        conversation_id=conversation_id,
        message_id=message_id,
    )


def _sent_before(tx: Transaction, user: User, conversation_id: int, new: NewMessage) -> MessageView:
    """The answer to a repeated send: the message its client id named (409 if the repeat is
    not the same message)."""
    repeat = _stored_before(tx.session, user, conversation_id, new)
    if repeat is None:
        raise Conflict(
            "You sent a different message with this client_id: each message needs its own.",
            code="client_id_reused",
        )
    return repeat


def _stored_before(
    session: Session, user: User, conversation_id: int, new: NewMessage
) -> MessageView | None:
    """The message ``user`` stored under ``new.client_id``, if ``new`` repeats it: same
    conversation, reply and text (as first sent: an edit since does not make a retry of it a
    different message; a deleted message's text is gone, so any text repeats it)."""
    message = session.scalar(
        select(Message).where(Message.sender_id == user.id, Message.client_id == new.client_id)
    )
    if (
        message is None
        or message.conversation_id != conversation_id
        or message.reply_to_id != new.reply_to_id
    ):
        return None
    if message.deleted_at is None and new.content != _content_as_sent(session, message):
        return None
    return views.messages_by_ids(session, [message.id])[message.id]


def _content_as_sent(session: Session, message: Message) -> str:
    if message.edited_at is None:
        return message.content
    first = session.scalar(
        select(MessageEdit.content)
        .where(MessageEdit.message_id == message.id)
        .order_by(MessageEdit.id)
        .limit(1)
    )
    return message.content if first is None else first
