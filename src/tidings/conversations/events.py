"""The events the conversations domain sends: new messages and sidebar changes."""

from __future__ import annotations

from typing import Literal

from tidings.conversations.schemas import ConversationChange, MessageView
from tidings.realtime.events import EventData, durable_event


@durable_event
class MessageEvent(EventData):
    """A new message: one event for the conversation, which every member's streams get (the
    sender's too). Clients derive the sidebar's last message and unread count from it."""

    type: Literal["message"] = "message"
    message: MessageView


ConversationUpdateReason = Literal["created", "read", "member_added", "member_removed", "removed"]


@durable_event
class ConversationUpdateEvent(EventData):
    """A conversation's sidebar entry changed.

    ``created``, ``member_added`` and ``member_removed`` go to every member as one event (with
    the members, without anyone's unread count); ``read`` goes to the reader alone (with their
    unread count and read position, without members); ``removed`` to the removed member alone,
    with ``conversation`` null.
    """

    type: Literal["conversation_update"] = "conversation_update"
    conversation_id: int
    reason: ConversationUpdateReason
    conversation: ConversationChange | None
