"""Request and response bodies for conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from tidings.accounts.schemas import UserRead
from tidings.conversations.models import ConversationType
from tidings.schemas import DbId, ReadSchema, Schema

Id = DbId


class DirectConversationCreate(Schema):
    type: Literal["direct"]
    user_id: Id


class GroupConversationCreate(Schema):
    type: Literal["group"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    member_ids: Annotated[list[Id], Field(max_length=1000)]


ConversationCreate = Annotated[
    DirectConversationCreate | GroupConversationCreate, Field(discriminator="type")
]


class MemberAdd(Schema):
    user_id: Id


class MessageCreate(Schema):
    content: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ReadMark(Schema):
    message_id: Id | None = None


class MessageRead(ReadSchema):
    id: int
    conversation_id: int
    sender: UserRead
    content: str
    created_at: datetime


class MessageEnvelope(ReadSchema):
    message: MessageRead


class MessagePage(ReadSchema):
    messages: list[MessageRead]
    has_more: bool


class ConversationRead(ReadSchema):
    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    members: list[UserRead]
    last_message: MessageRead | None
    unread_count: int
    last_read_message_id: int
    updated_at: datetime


class ConversationChange(ReadSchema):
    """A conversation as a ``conversation_update`` event carries it.

    ``members`` is null unless the members changed (reason created, member_added,
    member_removed). Membership changes go to every member as one event, so they carry no
    per-member state; ``read`` goes to the reader alone and carries theirs.
    """

    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    members: list[UserRead] | None
    last_message: MessageRead | None
    unread_count: int | None
    """The addressee's own count (reason ``read``); null in events that go to every member."""
    last_read_message_id: int | None
    """The addressee's own read position (reason ``read``); null like ``unread_count``."""
    updated_at: datetime


class ConversationList(ReadSchema):
    conversations: list[ConversationRead]
    last_event_id: str


class ReadResult(ReadSchema):
    conversation: ConversationRead
    notifications_unread_count: int
