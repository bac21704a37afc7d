"""Attachments, and the blobs (files named by their SHA-256) that they point at.

A blob is stored once whatever the number of attachments showing it: ``attachment_blob`` is
the registry of stored blobs, whichever backend holds their bytes (a directory, or
``attachment_blob_chunk`` rows in the database). An attachment is an upload by one person:
unsent (``message_id`` NULL, visible to its uploader only) until a send claims it for a
message, then visible to the members of that message's conversation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from tidings.db import Base, UTCDateTime, utcnow

SHA256_LENGTH = 64
"""A blob's name: its SHA-256 in lower-case hex."""


class AttachmentBlob(Base):
    """A stored blob (its bytes are in the storage backend)."""

    __tablename__ = "attachment_blob"

    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When an upload last stored or reused it. An upload touches its blobs before it writes
    their bytes and records its attachment; the sweep deletes only blobs untouched for a while
    (``actions.BLOB_GRACE``), so it never takes the bytes from under an upload in progress."""


class AttachmentBlobChunk(Base):
    """The bytes of a blob, in the database backend: consecutive chunks of ``CHUNK_BYTES``
    (so that no single value is 25 MB, and a range is read without the rest). They go with their
    registry row (ON DELETE CASCADE), in the sweep's transaction."""

    __tablename__ = "attachment_blob_chunk"
    __table_args__ = (PrimaryKeyConstraint("sha256", "seq"),)

    sha256: Mapped[str] = mapped_column(
        String(SHA256_LENGTH), ForeignKey("attachment_blob.sha256", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    """One upload: a blob, its sniffed type, and (once sent) the message it belongs to."""

    __tablename__ = "attachment"
    __table_args__ = (
        Index("ix_attachment_message_id_position", "message_id", "position"),
        Index("ix_attachment_uploader_id_created_at", "uploader_id", "created_at"),
        Index("ix_attachment_created_at", "created_at"),
        # Its URL names its id and is cached for good (``serving.CACHE_CONTROL``): an id is
        # never reused. SQLite reuses the highest deleted rowid unless AUTOINCREMENT; a
        # PostgreSQL sequence never goes back.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE")
    )
    """Set with ``message_id`` when sent: who may fetch it (that conversation's members)."""
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Its place among its message's attachments (the order the send listed them)."""
    blob_sha256: Mapped[str] = mapped_column(
        String(SHA256_LENGTH), ForeignKey("attachment_blob.sha256"), index=True
    )
    thumbnail_sha256: Mapped[str | None] = mapped_column(
        String(SHA256_LENGTH), ForeignKey("attachment_blob.sha256"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    """Sniffed from the bytes; ``application/octet-stream`` for anything but the allowed
    image and video types."""
    kind: Mapped[str] = mapped_column(String(16))
    """``image``, ``video`` or ``file`` (``schemas.AttachmentKind``)."""
    filename: Mapped[str] = mapped_column(String(255))
    """Sanitised: no path, no control or format characters, an extension matching its type."""
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
