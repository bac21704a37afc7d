"""The event types a stream carries, as typed payloads.

Each model is what goes, as one-line JSON, in the ``data:`` field of an SSE frame whose
``event:`` field is its ``type``. Payloads carry everything a client needs to update its view
without a refetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tidings.accounts.schemas import UserRead
from tidings.conversations.schemas import ConversationChange, MessageRead
from tidings.friends.schemas import FriendRequestRead
from tidings.notifications.schemas import NotificationRead


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MessageEvent(EventData):
    """A new message in a conversation the addressee belongs to (not sent to its sender)."""

    type: Literal["message"] = "message"
    message: MessageRead


class NotificationEvent(EventData):
    """A new notification, with the addressee's new unread notification count."""

    type: Literal["notification"] = "notification"
    notification: NotificationRead
    unread_count: int


ConversationUpdateReason = Literal[
    "created", "message", "read", "member_added", "member_removed", "removed"
]


class ConversationUpdateEvent(EventData):
    """A conversation's sidebar entry changed, as the addressee sees it.

    ``conversation`` is null when the addressee is no longer a member (``reason="removed"``);
    its ``members`` are null when they did not change.
    """

    type: Literal["conversation_update"] = "conversation_update"
    conversation_id: int
    reason: ConversationUpdateReason
    conversation: ConversationChange | None


class FriendRequestEvent(EventData):
    """A friend request addressed to the user (``pending``) or answered by them."""

    type: Literal["friend_request"] = "friend_request"
    request: FriendRequestRead


class FriendUpdateEvent(EventData):
    """The user's friend list changed: ``friend`` was added or removed."""

    type: Literal["friend_update"] = "friend_update"
    friend: UserRead
    status: Literal["added", "removed"]
    request_id: int | None = None


class NotificationReadEvent(EventData):
    """Notifications were marked read (``notification_ids`` null: all of them)."""

    type: Literal["notification_read"] = "notification_read"
    notification_ids: list[int] | None
    unread_count: int


Event = Annotated[
    MessageEvent
    | NotificationEvent
    | ConversationUpdateEvent
    | FriendRequestEvent
    | FriendUpdateEvent
    | NotificationReadEvent,
    Field(discriminator="type"),
]
EventAdapter: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TYPES = (
    "message",
    "notification",
    "conversation_update",
    "friend_request",
    "friend_update",
    "notification_read",
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as recorded in the log and carried by the hub: addressed, numbered, serialized."""

    user_id: int
    seq: int
    type: str
    data: str

    @property
    def id(self) -> str:
        return str(self.seq)

    def frame(self) -> bytes:
        """The SSE frame for this event."""
        return f"id: {self.seq}\nevent: {self.type}\ndata: {self.data}\n\n".encode()
