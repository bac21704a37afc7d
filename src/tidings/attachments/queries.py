"""Reads: which attachment (and blob) a user may fetch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from tidings.attachments.images import THUMBNAIL_TYPE
from tidings.attachments.models import Attachment, AttachmentBlob
from tidings.conversations.models import ConversationMember


@dataclass(frozen=True, slots=True)
class ServedBlob:
    """What a file response needs: which bytes, how many, and how to present them."""

    sha256: str
    size: int
    content_type: str
    kind: str
    filename: str


def visible_to(user_id: int) -> ColumnElement[bool]:
    """Who may fetch an attachment: its uploader while it is unsent; once sent, the current
    members of its message's conversation (its uploader too while a member)."""
    member = exists().where(
        ConversationMember.conversation_id == Attachment.conversation_id,
        ConversationMember.user_id == user_id,
    )
    return or_(
        and_(Attachment.message_id.is_(None), Attachment.uploader_id == user_id),
        and_(Attachment.message_id.is_not(None), member),
    )


def served_blob(
    session: Session, attachment_id: int, user_id: int, thumbnail: bool = False
) -> ServedBlob | None:
    """The attachment's file (or its thumbnail) if ``user_id`` may fetch it, else None (the
    same for an attachment that does not exist)."""
    sha256 = Attachment.thumbnail_sha256 if thumbnail else Attachment.blob_sha256
    row = session.execute(
        select(
            AttachmentBlob.sha256,
            AttachmentBlob.size,
            Attachment.content_type,
            Attachment.kind,
            Attachment.filename,
        )
        .join(AttachmentBlob, AttachmentBlob.sha256 == sha256)
        .where(Attachment.id == attachment_id, visible_to(user_id))
    ).first()
    if row is None:
        return None
    if thumbnail:
        name = f"{PurePosixPath(row.filename).stem}.webp"
        return ServedBlob(row.sha256, row.size, THUMBNAIL_TYPE, "image", name)
    return ServedBlob(*row)
