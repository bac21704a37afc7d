"""Conversations, memberships and messages."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow

MUTED_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
"""``muted_until`` of a conversation muted until its member unmutes it."""


class ConversationType(enum.StrEnum):
    direct = "direct"
    group = "group"


class MemberRole(enum.StrEnum):
    """What a group member may do: owners everything, admins manage the group and its members
    (not owners), members talk (and add friends if the group lets them). DM members are all
    ``member``."""

    owner = "owner"
    admin = "admin"
    member = "member"


class Conversation(Base):
    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[ConversationType] = mapped_column(
        Enum(ConversationType, native_enum=False, length=16)
    )
    name: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    direct_key: Mapped[str | None] = mapped_column(String(41), unique=True)
    """``"<low id>:<high id>"`` for a DM: its unique index rules out two DMs for one pair."""
    last_message_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """Time of the latest activity; the sidebar orders by it."""
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    avatar_key: Mapped[str | None] = mapped_column(String(64))
    """The group's picture (``tidings.avatars``), if it has one."""
    members_can_add: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """Whether plain members may add their friends (admins always may)."""
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the DM's other member deleted their account: it takes no more messages (the send
    path's member check reads it with the membership: no statement of its own)."""
    blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A DM whose two members are in a block (either way): it takes no messages. Kept by
    ``blocks/actions.py``; read by the send path's member check with the membership."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When its owner deleted the group: the row stays (its id is never reused), without
    members or messages."""


class ConversationMember(Base):
    __tablename__ = "conversation_member"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    role: Mapped[MemberRole] = mapped_column(
        Enum(MemberRole, native_enum=False, length=16),
        default=MemberRole.member,
        server_default=MemberRole.member.value,
    )
    last_read_message_id: Mapped[int] = mapped_column(default=0, server_default="0")
    """The member's read position; their unread count is derived from it (messages after it
    from others), never written per member per message."""
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Muted (null: not muted; ``MUTED_FOREVER``: until unmuted): unread still counts, but no
    bell entry, sound or system notification, except for a mention."""


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        Index("uq_message_sender_id_client_id", "sender_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_id: Mapped[str | None] = mapped_column(String(64))
    """The id the sending client gave the message (unique per sender): a send repeated with it
    is answered with this message instead of storing another."""
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    """The message this one answers (same conversation); its quote is built from that message
    as it is now (edited, or deleted)."""
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the content was last changed; the replaced versions are ``MessageEdit`` rows."""
    system: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """A system line ("alice added bob"), not a message anyone wrote: ``{"action", "target_id",
    "name", "role"}``, its sender the person who acted; its content is empty. System lines never
    count as unread and cannot be edited, deleted, reacted or replied to."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the message was deleted: it stays as a placeholder (its place in the timeline and
    in replies), its content, edits, reactions and attachments gone."""


class MessageEdit(Base):
    """A message's earlier content: one row per edit, holding the text it replaced."""

    __tablename__ = "message_edit"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(Text)
    """The content before this edit."""
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When that content was written (the send, or the edit before this one)."""
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageReaction(Base):
    """One person's reaction (one emoji) to a message."""

    __tablename__ = "message_reaction"
    __table_args__ = (PrimaryKeyConstraint("message_id", "emoji", "user_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
