"""Editing and deleting a message: the message changes in place, for every member at once.

An edit keeps the text it replaces (``MessageEdit``: the history its members can read), and a
member it names for the first time gets a ``mention`` notification. A deletion leaves a
placeholder in the timeline (so replies still point somewhere and the conversation's order and
read positions keep their meaning) and removes everything the message said: its text, its
earlier versions, its reactions and its attachments; its mentions are marked read.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from tidings.accounts.models import User
from tidings.attachments import links as attachment_links
from tidings.blocks import rules as block_rules
from tidings.context import AppContext
from tidings.conversations import views
from tidings.conversations.actions.common import (
    conversation_lock,
    limit_conversation_writes,
    lock_for_member,
)
from tidings.conversations.actions.messages import mentioned_members
from tidings.conversations.events import MessageDeletedEvent, MessageUpdatedEvent
from tidings.conversations.models import (
    Conversation,
    ConversationMember,
    ConversationType,
    MemberRole,
    Message,
    MessageEdit,
    MessageReaction,
)
from tidings.conversations.schemas import MessageView
from tidings.db import utcnow
from tidings.errors import Conflict, Forbidden, NotFound
from tidings.notifications.actions import mark_read_where, notify
from tidings.notifications.models import Notification, NotificationType
from tidings.realtime import log
from tidings.realtime.transaction import Transaction


async def edit_message(
    ctx: AppContext, user: User, conversation_id: int, message_id: int, content: str
) -> MessageView:
    """Change the text of one of your messages; members get ``message_updated``. Refused in a
    DM with a block (409 ``blocked`` / ``you_blocked``); deleting stays allowed there."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(
        _edit_message,
        user,
        conversation_id,
        message_id,
        content,
        locks=conversation_lock(conversation_id),
    )


def _edit_message(
    tx: Transaction, user: User, conversation_id: int, message_id: int, content: str
) -> MessageView:
    conversation, _ = lock_for_member(tx, conversation_id, user)
    if conversation.blocked:  # an edit reaches the other person as a message does
        block_rules.refuse_in_blocked_direct(tx.session, user, conversation_id, block_rules.EDITS)
    message = message_in(tx, conversation_id, message_id)
    if message.sender_id != user.id:
        raise Forbidden("You can only edit your own messages.", code="not_your_message")
    if message.deleted_at is not None:
        raise Conflict(f"Message {message_id} was deleted.", code="message_deleted")
    if message.content == content:
        return views.messages_by_ids(tx.session, [message_id])[message_id]
    now = utcnow()
    tx.session.add(
        MessageEdit(
            message_id=message.id,
            content=message.content,
            written_at=message.edited_at or message.created_at,
            replaced_at=now,
        )
    )
    message.content = content
    message.edited_at = now
    tx.session.flush()
    view = views.messages_by_ids(tx.session, [message_id])[message_id]
    tx.emit_to_channel(conversation_id, MessageUpdatedEvent(message=view))
    if "@" in content:
        _notify_newly_mentioned(tx, user, conversation_id, message_id, content)
    return view


def _notify_newly_mentioned(
    tx: Transaction, user: User, conversation_id: int, message_id: int, content: str
) -> None:
    """A member the edited text names who has never been told of this message is told, as a
    send would have told them (once: a name taken out and put back tells them nothing new)."""
    told = set(
        tx.session.scalars(
            select(Notification.user_id).where(
                Notification.message_id == message_id,
                Notification.type == NotificationType.mention,
            )
        )
    )
    newly = [
        member_id
        for member_id in mentioned_members(tx, user, conversation_id, content)
        if member_id not in told
    ]
    notify(
        tx,
        newly,
        NotificationType.mention,
        user,
        conversation_id=conversation_id,
        message_id=message_id,
    )


async def delete_message(
    ctx: AppContext, user: User, conversation_id: int, message_id: int
) -> MessageView:
    """Delete one of your messages (or, in a group you administer, anyone's); members get
    ``message_deleted``. Deleting a deleted message changes nothing."""
    await limit_conversation_writes(ctx, user, conversation_id)
    return await ctx.writer.run(
        _delete_message, user, conversation_id, message_id, locks=conversation_lock(conversation_id)
    )


def _delete_message(
    tx: Transaction, user: User, conversation_id: int, message_id: int
) -> MessageView:
    conversation, member = lock_for_member(tx, conversation_id, user)
    message = message_in(tx, conversation_id, message_id)
    if not may_delete(conversation, member, message):
        raise Forbidden(
            "You can only delete your own messages (and anyone's in a group you administer).",
            code="not_your_message",
        )
    if message.deleted_at is None:
        session = tx.session
        session.execute(delete(MessageEdit).where(MessageEdit.message_id == message_id))
        session.execute(delete(MessageReaction).where(MessageReaction.message_id == message_id))
        attachment_links.release(session, message_id)
        # The mentions it made point at nothing now: read for everyone it named.
        for member_id in session.scalars(
            select(Notification.user_id).where(
                Notification.message_id == message_id, Notification.read.is_(False)
            )
        ).all():
            mark_read_where(tx, member_id, Notification.message_id == message_id)
        message.content = ""
        message.deleted_at = utcnow()
        session.flush()
        view = views.messages_by_ids(session, [message_id])[message_id]
        _redact_logged_events(tx, message, view)
        tx.emit_to_channel(conversation_id, MessageDeletedEvent(message=view))
        return view
    return views.messages_by_ids(tx.session, [message_id])[message_id]


CLOCK_MARGIN = timedelta(minutes=5)
"""Events are stamped by the process that records them: allow for clocks a little apart."""


def _redact_logged_events(tx: Transaction, message: Message, placeholder: MessageView) -> None:
    """What the message said leaves the event log too: every logged event that shows it (its
    ``message`` and ``message_updated`` events, a sidebar entry with it as the last message, the
    quote of a reply to it) shows the placeholder instead, so a client replaying the log never
    sees the text again (and its unread count stays right: a deleted message is not unread)."""
    message_id, conversation_id = message.id, message.conversation_id
    shown = placeholder.model_dump(mode="json")
    quoted = views.reply_quote(message, placeholder.sender).model_dump(mode="json")

    def redact(node: Any) -> Any:
        if isinstance(node, list):
            return [redact(item) for item in node]
        if not isinstance(node, dict):
            return node
        if node.get("id") == message_id and node.get("conversation_id") == conversation_id:
            return shown
        return {
            key: quoted
            if key == "reply_to" and isinstance(value, dict) and value.get("id") == message_id
            else redact(value)
            for key, value in node.items()
        }

    def rewrite(data: str) -> str:
        return json.dumps(redact(json.loads(data)), ensure_ascii=False, separators=(",", ":"))

    log.rewrite_events(
        tx.session,
        channel_id=conversation_id,
        since=message.created_at - CLOCK_MARGIN,
        containing=[
            f'"id":{message_id},"conversation_id":{conversation_id},',
            f'"reply_to":{{"id":{message_id},',
        ],
        rewrite=rewrite,
    )


def may_delete(conversation: Conversation, member: ConversationMember, message: Message) -> bool:
    """Your own messages; in a group, its admins and owners may delete anyone's."""
    return message.sender_id == member.user_id or (
        conversation.type == ConversationType.group
        and member.role in (MemberRole.admin, MemberRole.owner)
    )


def message_in(tx: Transaction, conversation_id: int, message_id: int) -> Message:
    """The message, if it is one of this conversation's (404 otherwise)."""
    message = tx.session.scalar(
        select(Message)
        .where(Message.id == message_id, Message.conversation_id == conversation_id)
        .execution_options(populate_existing=True)
    )
    if message is None:
        raise NotFound(f"Message {message_id} is not in conversation {conversation_id}.")
    if message.system is not None:
        raise Conflict(
            f"Message {message_id} is a system line: it cannot be edited, deleted or reacted to.",
            code="system_line",
        )
    return message
