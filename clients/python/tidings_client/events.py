"""The events ``client.events()`` yields: one frozen dataclass per type of the server's event
table (README "How an event travels"), with the same fields as the frame's ``data``.

Durable events carry ``id``, their position in the server's log (what a stream resumes after);
ephemeral ones (``Typing``, ``ReadReceipt``, ``Presence``) carry none. ``Connected`` comes each
time the stream (re)opens; ``Resync`` means the events since your last id are gone for good:
refetch your state, then carry on. A type this client does not know (or data it cannot read)
arrives as ``UnknownEvent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tidings_client.models import (
    ConversationChange,
    FriendRequest,
    Message,
    Notification,
    Reaction,
    Settings,
    User,
    from_json,
)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Any event: ``type`` is the SSE ``event:`` name."""

    type: str


@dataclass(frozen=True, kw_only=True)
class DurableEvent(Event):
    """An event kept in the server's log: ``id`` is its position."""

    id: int


@dataclass(frozen=True, kw_only=True)
class UserUpdated(DurableEvent):
    """Someone you show changed their name or avatar, or deleted their account."""

    user: User


@dataclass(frozen=True, kw_only=True)
class SettingsUpdated(DurableEvent):
    """You changed your settings."""

    settings: Settings


@dataclass(frozen=True, kw_only=True)
class BlockUpdate(DurableEvent):
    """You blocked or unblocked someone."""

    user: User
    blocked: bool


@dataclass(frozen=True, kw_only=True)
class MessageEvent(DurableEvent):
    """A new message in one of your conversations (yours too)."""

    message: Message


@dataclass(frozen=True, kw_only=True)
class MessageUpdated(DurableEvent):
    """A message was edited."""

    message: Message


@dataclass(frozen=True, kw_only=True)
class MessageDeleted(DurableEvent):
    """A message was deleted: ``message`` is its placeholder."""

    message: Message


@dataclass(frozen=True, kw_only=True)
class MessageReactions(DurableEvent):
    """A message's reactions as they now are."""

    conversation_id: int
    message_id: int
    reactions: tuple[Reaction, ...]


@dataclass(frozen=True, kw_only=True)
class ConversationUpdate(DurableEvent):
    """A conversation changed (``reason``); ``conversation`` is None when it is gone for you."""

    conversation_id: int
    reason: str
    conversation: ConversationChange | None


@dataclass(frozen=True, kw_only=True)
class FriendRequestEvent(DurableEvent):
    """A friend request arrived, was cancelled or declined."""

    request: FriendRequest


@dataclass(frozen=True, kw_only=True)
class FriendUpdate(DurableEvent):
    """A friendship began (``added``) or ended (``removed``)."""

    friend: User
    status: Literal["added", "removed"]
    request_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class NotificationEvent(DurableEvent):
    """A new notification, and your unread count."""

    notification: Notification
    unread_count: int


@dataclass(frozen=True, kw_only=True)
class NotificationRead(DurableEvent):
    """Notifications were marked read (``notification_ids`` None: all)."""

    notification_ids: tuple[int, ...] | None
    unread_count: int


@dataclass(frozen=True, kw_only=True)
class Typing(Event):
    """Someone is typing (ephemeral): forget it after ``expires_in_ms``."""

    conversation_id: int
    user: User
    active: bool
    expires_in_ms: int


@dataclass(frozen=True, kw_only=True)
class ReadReceipt(Event):
    """A member read further (ephemeral)."""

    conversation_id: int
    user_id: int
    last_read_message_id: int


@dataclass(frozen=True, kw_only=True)
class Presence(Event):
    """Someone's presence changed (ephemeral)."""

    user_id: int
    status: Literal["online", "away", "offline"]
    last_seen_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Connected(Event):
    """The stream (re)opened; ``last_event_id`` is the log's head at that moment."""

    user_id: int
    last_event_id: str


@dataclass(frozen=True, kw_only=True)
class Resync(DurableEvent):
    """Events since the id you resumed from are gone (pruned, or the id is unknown): refetch
    your state; the stream carries on after ``id``."""

    last_event_id: str


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """An event type this client does not know (a newer server): its raw data."""

    id: int | None
    data: dict[str, Any]


EVENT_CLASSES: dict[str, type[Event]] = {
    "user_updated": UserUpdated,
    "settings_updated": SettingsUpdated,
    "block_update": BlockUpdate,
    "message": MessageEvent,
    "message_updated": MessageUpdated,
    "message_deleted": MessageDeleted,
    "message_reactions": MessageReactions,
    "conversation_update": ConversationUpdate,
    "friend_request": FriendRequestEvent,
    "friend_update": FriendUpdate,
    "notification": NotificationEvent,
    "notification_read": NotificationRead,
    "typing": Typing,
    "read_receipt": ReadReceipt,
    "presence": Presence,
    "connected": Connected,
    "resync": Resync,
}
"""Each event type's class (``overloaded`` is the iterator's own business: it waits)."""


def parse_event(event_type: str, event_id: str | None, data: dict[str, Any]) -> Event:
    """The typed event of one SSE frame."""
    cls = EVENT_CLASSES.get(event_type)
    pos = int(event_id) if event_id else None
    if cls is None or (issubclass(cls, DurableEvent) and pos is None):
        return UnknownEvent(type=event_type, id=pos, data=data)
    fields = {**data, "type": event_type}
    if issubclass(cls, DurableEvent):
        fields["id"] = pos
    try:
        return from_json(cls, fields)
    except (TypeError, KeyError, ValueError):  # a shape this client cannot read: pass it on
        return UnknownEvent(type=event_type, id=pos, data=data)
