"""Request and response bodies for conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints

from tidings.accounts.schemas import UserView
from tidings.attachments.schemas import AttachmentView
from tidings.conversations.models import ConversationType, MemberRole
from tidings.schemas import DbId, JsonBool, Schema, Trimmed, ViewSchema

Id = DbId


def _json_datetime(value: object) -> object:
    # Lax mode would take a number for a Unix time, which the schema ("date-time": a string)
    # refuses.
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a date-time string, such as 2030-01-31T18:00:00Z")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        # ... and a string of digits ("1893456000") for one too.
        raise ValueError("must be a date-time string, such as 2030-01-31T18:00:00Z")
    return value


class DirectConversationCreate(Schema):
    type: Literal["direct"]
    user_id: Id


class GroupConversationCreate(Schema):
    type: Literal["group"]
    name: Annotated[str, Trimmed(100, name=True)]
    member_ids: Annotated[list[Id], Field(max_length=1000)]


ConversationCreate = Annotated[
    DirectConversationCreate | GroupConversationCreate, Field(discriminator="type")
]


class MemberAdd(Schema):
    user_id: Id


class GroupUpdate(Schema):
    """The group settings to change (admins); fields left out stay as they are."""

    name: Annotated[str, Trimmed(100, name=True)] | None = None
    description: Annotated[str, Trimmed(500, allow_empty=True)] | None = None
    members_can_add: Annotated[
        JsonBool | None, Field(description="Whether plain members may add their friends.")
    ] = None


class RoleChange(Schema):
    role: MemberRole


class OwnershipTransfer(Schema):
    user_id: Annotated[Id, Field(description="The member who becomes the owner (you: admin).")]


SystemAction = Literal[
    "created",
    "added",
    "removed",
    "left",
    "renamed",
    "role_changed",
    "ownership_transferred",
    "description_changed",
    "avatar_changed",
    "settings_changed",
]


class SystemLine(ViewSchema):
    """What a system line in the timeline says: ``actor`` did ``action`` (to ``target``)."""

    action: SystemAction
    actor: UserView
    target: UserView | None = None
    """Who was added, removed, promoted or demoted, or became the owner."""
    name: str | None = None
    """The group's new name (``renamed``)."""
    role: MemberRole | None = None
    """The target's new role (``role_changed``)."""
    members_can_add: bool | None = None
    """The new setting (``settings_changed``)."""
    removed: bool | None = None
    """Whether the picture was removed rather than changed (``avatar_changed``)."""


ClientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(
        description="The send's idempotency key: an id the client generates for the message "
        "(a UUID, say), unique among your messages. Sending again with it (a retry after a "
        "lost answer, an offline outbox flushed twice, the same request reaching two "
        "processes) answers with the message it named instead of storing another; with "
        "other content it is 409 client_id_reused. Echoed on the message."
    ),
]


class MessageCreate(Schema):
    content: Annotated[
        str,
        Trimmed(4000, allow_empty=True),
        Field(description="The text; may be empty when the message carries attachments."),
    ] = ""
    client_id: ClientId | None = None
    reply_to_id: Annotated[
        Id | None, Field(description="The message this one answers: one of this conversation's.")
    ] = None
    attachment_ids: Annotated[
        list[Id],
        Field(
            max_length=10,
            default_factory=list,
            description="Your uploads (``POST /api/attachments``) to send with it, in order.",
        ),
    ]


class MessageEdit(Schema):
    content: Annotated[str, Trimmed(4000)]


class EditView(ViewSchema):
    """A message's earlier version: its content from ``written_at`` until ``replaced_at``."""

    content: str
    written_at: datetime
    replaced_at: datetime


class EditHistory(ViewSchema):
    message_id: int
    edits: list[EditView]
    """Oldest first; the current content is the message's own."""


class MessageReactions(ViewSchema):
    conversation_id: int
    message_id: int
    reactions: list[ReactionGroup]


class MuteUpdate(Schema):
    until: Annotated[
        AwareDatetime | None,
        BeforeValidator(_json_datetime),
        Field(
            description="When the mute ends (with its UTC offset; within a year from now), or "
            "null: until you unmute it."
        ),
    ] = None


class ReadMark(Schema):
    message_id: Id | None = None


class ReplyQuote(ViewSchema):
    """The message a reply answers, as the reply shows it: as that message is now."""

    id: int
    sender: UserView
    excerpt: str
    """The start of its content (empty once deleted)."""
    deleted: bool
    attachment_count: int = 0


class ReactionGroup(ViewSchema):
    """Everyone who reacted to a message with one emoji, in the order they did."""

    emoji: str
    count: int
    user_ids: list[int]
    """Who reacted (whether you did: your id is here)."""


class MessageView(ViewSchema):
    id: int
    conversation_id: int
    sender: UserView
    content: str
    """Empty once the message is deleted."""
    created_at: datetime
    client_id: str | None = None
    """The id its sender's client gave it, if any (how that client recognises its own send)."""
    reply_to: ReplyQuote | None = None
    edited_at: datetime | None = None
    deleted: bool = False
    reactions: list[ReactionGroup] = Field(default_factory=list)
    """Grouped by emoji, in the order each emoji was first used."""
    attachments: list[AttachmentView] = Field(default_factory=list)
    system: SystemLine | None = None
    """Set for a line the server wrote about the group ("alice added bob"), whose ``sender``
    is the actor and ``content`` empty; null for messages people wrote."""


class MessageEnvelope(ViewSchema):
    message: MessageView


class MessagePage(ViewSchema):
    messages: list[MessageView]
    has_more: bool
    """Older messages exist before this run."""
    has_newer: bool = False
    """Newer messages exist after this run (pages asked with ``after`` or ``around``)."""


class MemberView(UserView):
    """A member as a conversation lists them: the person and their role there."""

    role: MemberRole
    joined_at: datetime


class ConversationView(ViewSchema):
    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    description: str
    avatar_url: str | None
    members_can_add: bool
    members: list[MemberView]
    last_message: MessageView | None
    unread_count: int
    last_read_message_id: int
    muted_until: datetime | None
    """Until when you muted it (no bell entry, sound or system notification, except for a
    mention of you; unread still counts): null if not muted (or the mute has ended),
    9999-12-31T00:00:00Z until you unmute it."""
    blocked: bool
    """A DM whose two members are in a block (either way): it takes no messages."""
    updated_at: datetime


class ConversationChange(ViewSchema):
    """A conversation as a ``conversation_update`` event carries it.

    ``members`` is null unless the members changed (reason created, member_added,
    member_removed, role_changed); ``deleted`` carries none of it (the event's
    ``conversation`` is null). Membership changes go to every member as one event, so they carry no
    per-member state; ``read`` goes to the reader alone and carries theirs.
    """

    id: int
    type: ConversationType
    name: str | None
    created_by_id: int | None
    description: str
    avatar_url: str | None
    members_can_add: bool
    members: list[MemberView] | None
    last_message: MessageView | None
    unread_count: int | None
    """The addressee's own count (reason ``read``); null in events that go to every member."""
    last_read_message_id: int | None
    """The addressee's own read position (reason ``read``); null like ``unread_count``."""
    muted_until: datetime | None
    """The addressee's own mute (reasons ``muted`` and ``read``: null there means not muted);
    null, and to be ignored, in events that go to every member."""
    blocked: bool
    """A DM whose two members are in a block (either way): it takes no messages."""
    updated_at: datetime


class ConversationList(ViewSchema):
    conversations: list[ConversationView]
    last_event_id: str


class MarkReadResult(ViewSchema):
    conversation: ConversationView
    notifications_unread_count: int


class TypingSignal(Schema):
    """``POST /api/conversations/{id}/typing``: typing (the default) or stopped."""

    active: JsonBool = True


class Receipt(ViewSchema):
    """A member has read the conversation up to ``last_read_message_id``."""

    user_id: int
    last_read_message_id: int


class ReceiptList(ViewSchema):
    receipts: list[Receipt]
    """The members furthest ahead first, at most ``PRESENCE_GROUP_LIMIT`` of them."""
    complete: bool
    """False when more members send receipts than are listed (a group larger than
    ``PRESENCE_GROUP_LIMIT``, where receipts are not live either): a message all the listed
    members have read may have been read by more ("Seen by 100+")."""
