"""The events the conversations domain sends: new messages and sidebar changes."""

from __future__ import annotations

from typing import Literal

from tidings.conversations.schemas import ConversationChange, MessageRead
from tidings.realtime.events import EventData, durable_event


@durable_event
class MessageEvent(EventData):
    """A new message in a conversation the addressee belongs to (not sent to its sender)."""

    type: Literal["message"] = "message"
    message: MessageRead


ConversationUpdateReason = Literal[
    "created", "message", "read", "member_added", "member_removed", "removed"
]


@durable_event
class ConversationUpdateEvent(EventData):
    """A conversation's sidebar entry changed, as the addressee sees it.

    ``conversation`` is null when the addressee is no longer a member (``reason="removed"``);
    its ``members`` are null when they did not change.
    """

    type: Literal["conversation_update"] = "conversation_update"
    conversation_id: int
    reason: ConversationUpdateReason
    conversation: ConversationChange | None
