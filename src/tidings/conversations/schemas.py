"""Request and response bodies for conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from tidings.accounts.schemas import UserView
from tidings.conversations.models import ConversationType
from tidings.schemas import DbId, Schema, Trimmed, ViewSchema

Id = DbId


class DirectConversationCreate(Schema):
    type: Literal["direct"]
    user_id: Id


class GroupConversationCreate(Schema):
    type: Literal["group"]
    name: Annotated[str, Trimmed(100)]
    member_ids: Annotated[list[Id], Field(max_length=1000)]


ConversationCreate = Annotated[
    DirectConversationCreate | GroupConversationCreate, Field(discriminator="type")
]


class MemberAdd(Schema):
    user_id: Id


ClientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(
        description="An id the client generates for the message (a UUID, say), unique among "
        "your messages: sending again with it (a retry) answers with the message it named "
        "instead of storing another. Echoed on the message."
    ),
]


class MessageCreate(Schema):
    content: Annotated[str, Trimmed(4000)]
    client_id: ClientId | None = None


class ReadMark(Schema):
    message_id: Id | None = None


class MessageView(ViewSchema):
    id: int
    conversation_id: int
    sender: UserView
    content: str
    created_at: datetime
    client_id: str | None = None
    """The id its sender's client gave it, if any (how that client recognises its own send)."""


class MessageEnvelope(ViewSchema):
    message: MessageView


class MessagePage(ViewSchema):
    messages: list[MessageView]
    has_more: bool


class ConversationView(ViewSchema):
    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    members: list[UserView]
    last_message: MessageView | None
    unread_count: int
    last_read_message_id: int
    updated_at: datetime


class ConversationChange(ViewSchema):
    """A conversation as a ``conversation_update`` event carries it.

    ``members`` is null unless the members changed (reason created, member_added,
    member_removed). Membership changes go to every member as one event, so they carry no
    per-member state; ``read`` goes to the reader alone and carries theirs.
    """

    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    members: list[UserView] | None
    last_message: MessageView | None
    unread_count: int | None
    """The addressee's own count (reason ``read``); null in events that go to every member."""
    last_read_message_id: int | None
    """The addressee's own read position (reason ``read``); null like ``unread_count``."""
    updated_at: datetime


class ConversationList(ViewSchema):
    conversations: list[ConversationView]
    last_event_id: str


class MarkReadResult(ViewSchema):
    conversation: ConversationView
    notifications_unread_count: int
