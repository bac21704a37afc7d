"""The events the conversations domain sends: messages (new, edited, deleted, reacted to) and
sidebar changes."""

from __future__ import annotations

from typing import Literal

from tidings.accounts.schemas import UserView
from tidings.conversations.schemas import ConversationChange, MessageView, ReactionGroup
from tidings.realtime.events import EventData, durable_event, ephemeral_event


@durable_event
class MessageEvent(EventData):
    """A new message: one event for the conversation, which every member's streams get (the
    sender's too). Clients derive the sidebar's last message and unread count from it."""

    type: Literal["message"] = "message"
    message: MessageView


@durable_event
class MessageUpdatedEvent(EventData):
    """A message was edited: the message as it now is, for the whole conversation. Clients
    replace it where they show it (the thread, the sidebar's last message, the quotes of its
    replies)."""

    type: Literal["message_updated"] = "message_updated"
    message: MessageView


@durable_event
class MessageDeletedEvent(EventData):
    """A message was deleted: its placeholder (``deleted`` true, no content, reactions or
    attachments), for the whole conversation. A reader for whom it was unread (after their
    read position, from someone else) counts one unread message fewer."""

    type: Literal["message_deleted"] = "message_deleted"
    message: MessageView


@durable_event
class MessageReactionsEvent(EventData):
    """A message's reactions changed: all of them as they now are, for the whole conversation."""

    type: Literal["message_reactions"] = "message_reactions"
    conversation_id: int
    message_id: int
    reactions: list[ReactionGroup]


ConversationUpdateReason = Literal[
    "created",
    "read",
    "member_added",
    "member_removed",
    "removed",
    "updated",
    "role_changed",
    "deleted",
    "blocked",
    "unblocked",
    "muted",
]


@durable_event
class ConversationUpdateEvent(EventData):
    """A conversation's sidebar entry changed.

    ``created``, ``member_added``, ``member_removed`` and ``role_changed`` go to every member as
    one event (with the members, without anyone's unread count), ``updated`` (the group's name,
    description, picture or settings) likewise but without the members (unchanged); ``read``
    goes to the reader alone (with their unread count and read position, without members);
    ``removed`` to the removed member alone, and ``deleted`` (the owner deleted the group) to
    every member, with ``conversation`` null. ``blocked`` and ``unblocked`` go to both members
    of a DM when a block between them starts or ends (its ``blocked`` flag; no members, no read
    state); ``muted`` to the member who muted or unmuted it alone, with their ``muted_until``
    (and their read state, as ``read``).
    """

    type: Literal["conversation_update"] = "conversation_update"
    conversation_id: int
    reason: ConversationUpdateReason
    conversation: ConversationChange | None


@ephemeral_event
class TypingEvent(EventData):
    """``user`` is typing in the conversation (``active``), or stopped (cleared their draft, or
    sent). Ephemeral: it goes to the other members' open streams only, and a client forgets it
    after ``expires_in_ms`` unless another one comes."""

    type: Literal["typing"] = "typing"
    conversation_id: int
    user: UserView
    active: bool
    expires_in_ms: int


@ephemeral_event
class ReadReceiptEvent(EventData):
    """``user_id`` has read the conversation up to ``last_read_message_id``. Ephemeral: to the
    other members' open streams (DMs and small groups); a (re)connecting client fetches the
    current receipts (``GET /api/conversations/{id}/receipts``)."""

    type: Literal["read_receipt"] = "read_receipt"
    conversation_id: int
    user_id: int
    last_read_message_id: int
