"""Typed models of what the Tidings API answers: frozen dataclasses, parsed from JSON.

Each mirrors a schema of the server's ``/openapi.json`` (named in its docstring) field for field;
a test compares them. Parsing is lenient the way a client must be: a field the server adds later
is ignored, a field it leaves out takes its default. Times are ``datetime`` (UTC), lists tuples.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

T = TypeVar("T")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(tp: Any, value: Any) -> Any:
    """``value`` (decoded JSON) as type ``tp``: dataclasses, tuples, optionals, datetimes."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        [inner] = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return _convert(inner, value)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v) for v in value)
    if origin is dict or tp is Any or origin is Literal:
        return value
    if tp is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return from_json(tp, value)
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """An instance of the dataclass ``cls`` from a JSON object (unknown keys ignored)."""
    hints = _hints(cls)  # type: ignore[arg-type]
    values = {
        f.name: _convert(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**values)


@dataclass(frozen=True, kw_only=True)
class User:
    """A person (``UserView``); ``bot`` marks a bot account, ``deleted`` a deleted one."""

    id: int
    username: str
    display_name: str
    avatar_url: str | None = None
    deleted: bool = False
    bot: bool = False


@dataclass(frozen=True, kw_only=True)
class UserMatch(User):
    """A search result (``UserMatch``): a person and whether they are your friend."""

    is_friend: bool


@dataclass(frozen=True, kw_only=True)
class Member(User):
    """A conversation's member (``MemberView``)."""

    role: Literal["owner", "admin", "member"]
    joined_at: datetime


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Your settings (``Settings``)."""

    hide_presence: bool
    send_read_receipts: bool
    desktop_notifications: bool
    notification_sound: bool
    theme: str
    """``system`` (the device's preference), ``light`` or ``dark``."""


@dataclass(frozen=True, kw_only=True)
class ReplyQuote:
    """The message a reply quotes (``ReplyQuote``)."""

    id: int
    sender: User
    excerpt: str
    deleted: bool
    attachment_count: int = 0


@dataclass(frozen=True, kw_only=True)
class Reaction:
    """One emoji's reactions to a message (``ReactionGroup``)."""

    emoji: str
    count: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file sent with a message (``AttachmentView``)."""

    id: int
    filename: str
    content_type: str
    size: int
    kind: Literal["image", "video", "file"]
    url: str
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class SystemLine:
    """What a system line in a group says happened (``SystemLine``)."""

    action: str
    actor: User
    target: User | None = None
    name: str | None = None
    role: Literal["owner", "admin", "member"] | None = None
    members_can_add: bool | None = None
    removed: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Message:
    """A message (``MessageView``); ``system`` is set on a group's system lines."""

    id: int
    conversation_id: int
    sender: User
    content: str
    created_at: datetime
    client_id: str | None = None
    reply_to: ReplyQuote | None = None
    edited_at: datetime | None = None
    deleted: bool = False
    reactions: tuple[Reaction, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    system: SystemLine | None = None


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """A conversation as your sidebar shows it (``ConversationView``)."""

    id: int
    type: Literal["direct", "group"]
    name: str | None
    created_by_id: int | None
    description: str
    avatar_url: str | None
    members_can_add: bool
    members: tuple[Member, ...]
    last_message: Message | None
    unread_count: int
    last_read_message_id: int
    muted_until: datetime | None
    blocked: bool
    updated_at: datetime

    def title(self, me: int | None = None) -> str:
        """The group's name, or a DM's other member's display name."""
        if self.name:
            return self.name
        others = [m.display_name for m in self.members if m.id != me] or ["(nobody)"]
        return ", ".join(others)


@dataclass(frozen=True, kw_only=True)
class ConversationChange:
    """A conversation as a ``conversation_update`` event carries it (``ConversationChange``):
    ``members``, ``unread_count`` and ``last_read_message_id`` are None when unchanged."""

    id: int
    type: Literal["direct", "group"]
    name: str | None
    created_by_id: int | None
    description: str
    avatar_url: str | None
    members_can_add: bool
    members: tuple[Member, ...] | None
    last_message: Message | None
    unread_count: int | None
    last_read_message_id: int | None
    muted_until: datetime | None
    blocked: bool
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Notification:
    """A stored notification (``NotificationView``)."""

    id: int
    type: Literal["friend_request", "friend_accepted", "added_to_group", "mention"]
    actor: User
    conversation_id: int | None
    message_id: int | None
    friend_request_id: int | None
    read: bool
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class FriendRequest:
    """A friend request (``FriendRequestView``)."""

    id: int
    requester: User
    addressee: User
    status: Literal["pending", "accepted", "declined", "cancelled"]
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ConversationList:
    """Your conversations and the stream position they reflect (``ConversationList``)."""

    conversations: tuple[Conversation, ...]
    last_event_id: str


@dataclass(frozen=True, kw_only=True)
class MessagePage:
    """A page of a conversation's history, oldest first (``MessagePage``)."""

    messages: tuple[Message, ...]
    has_more: bool
    has_newer: bool = False


@dataclass(frozen=True, kw_only=True)
class NotificationList:
    """Your notifications (``NotificationList``)."""

    notifications: tuple[Notification, ...]
    unread_count: int
    last_event_id: str


@dataclass(frozen=True, kw_only=True)
class FriendRequests:
    """Your pending friend requests (``FriendRequestLists``)."""

    incoming: tuple[FriendRequest, ...]
    outgoing: tuple[FriendRequest, ...]


@dataclass(frozen=True, kw_only=True)
class MarkReadResult:
    """What marking a conversation read answers (``MarkReadResult``)."""

    conversation: Conversation
    notifications_unread_count: int


SCHEMAS: dict[str, type] = {
    "UserView": User,
    "UserMatch": UserMatch,
    "MemberView": Member,
    "Settings": Settings,
    "ReplyQuote": ReplyQuote,
    "ReactionGroup": Reaction,
    "AttachmentView": Attachment,
    "SystemLine": SystemLine,
    "MessageView": Message,
    "ConversationView": Conversation,
    "NotificationView": Notification,
    "FriendRequestView": FriendRequest,
    "ConversationList": ConversationList,
    "MessagePage": MessagePage,
    "NotificationList": NotificationList,
    "FriendRequestLists": FriendRequests,
    "MarkReadResult": MarkReadResult,
}
"""The server's OpenAPI schema each model mirrors (``ConversationChange`` is not a component:
it only appears in the ``conversation_update`` event)."""
