"""Attachments and the messages they are sent with (provisional: the attachments work replaces
this with the real claim/for_messages/release)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tidings.attachments.schemas import AttachmentView
from tidings.errors import Unprocessable


def claim(
    session: Session,
    uploader_id: int,
    conversation_id: int,
    message_id: int,
    attachment_ids: list[int],
) -> list[AttachmentView]:
    if attachment_ids:
        raise Unprocessable(f"Attachment {attachment_ids[0]} not found.")
    return []


def for_messages(session: Session, message_ids: Sequence[int]) -> dict[int, list[AttachmentView]]:
    return {}


def release(session: Session, message_id: int) -> None:
    return None
