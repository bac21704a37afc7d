"""Attachments and messages: what the send, the message views and deletion call, inside their
own transactions (a synchronous ``Session``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, case, delete, select, update
from sqlalchemy.orm import Session

from tidings.attachments.models import Attachment
from tidings.attachments.schemas import AttachmentView
from tidings.attachments.views import attachment_view
from tidings.errors import Unprocessable

_table = cast(Table, Attachment.__table__)


def claim(
    session: Session,
    uploader_id: int,
    conversation_id: int,
    message_id: int,
    attachment_ids: list[int],
) -> list[AttachmentView]:
    """Attach the uploader's own unsent uploads to a message, in the order listed; their views.

    Raises ``Unprocessable`` (422, code ``attachment_unavailable``) naming the first id that is
    unknown, someone else's, already sent (or swept as an orphan), or listed twice; nothing is
    changed then. On PostgreSQL the rows are locked in id order, so two sends claiming the same
    upload run one after the other (the second is refused) and never deadlock.
    """
    if not attachment_ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            select(_table.c.id, _table.c.uploader_id, _table.c.message_id)
            .where(_table.c.id.in_(attachment_ids))
            .order_by(_table.c.id)
            .with_for_update()
        )
    }
    seen: set[int] = set()
    for attachment_id in attachment_ids:
        row = rows.get(attachment_id)
        if (
            row is None
            or row.uploader_id != uploader_id
            or row.message_id is not None
            or attachment_id in seen
        ):
            raise Unprocessable(
                f"Attachment {attachment_id} cannot be sent: it is not an unsent upload of "
                "yours, or it is listed twice.",
                code="attachment_unavailable",
            )
        seen.add(attachment_id)
    positions = {attachment_id: n for n, attachment_id in enumerate(attachment_ids)}
    claimed = session.execute(
        update(_table)
        .where(_table.c.id.in_(attachment_ids))
        .values(
            message_id=message_id,
            conversation_id=conversation_id,
            position=case(positions, value=_table.c.id),
        )
        .returning(*_table.c)
    ).all()
    by_id = {row.id: row for row in claimed}
    return [attachment_view(by_id[attachment_id]) for attachment_id in attachment_ids]


def for_messages(session: Session, message_ids: Sequence[int]) -> dict[int, list[AttachmentView]]:
    """Each message's attachments in their order, by message id (every id asked for is a key;
    a message without attachments has an empty list). One query."""
    found: dict[int, list[AttachmentView]] = {message_id: [] for message_id in message_ids}
    if not message_ids:
        return found
    rows = session.execute(
        select(_table)
        .where(_table.c.message_id.in_(list(message_ids)))
        .order_by(_table.c.message_id, _table.c.position)
    )
    for row in rows:
        found[row.message_id].append(attachment_view(row))
    return found


def release(session: Session, message_id: int) -> None:
    """A deleted message's attachments: no longer served to anyone (their rows are deleted;
    their blobs, once no other attachment uses them, by the next sweep)."""
    session.execute(delete(_table).where(_table.c.message_id == message_id))
