"""The one builder of ``AttachmentView``."""

from __future__ import annotations

from typing import Protocol

from tidings.attachments.schemas import AttachmentKind, AttachmentView


class AttachmentRow(Protocol):
    """An ``Attachment``, or a row of its table's columns."""

    @property
    def id(self) -> int: ...
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def width(self) -> int | None: ...
    @property
    def height(self) -> int | None: ...
    @property
    def thumbnail_sha256(self) -> str | None: ...


def attachment_url(attachment_id: int) -> str:
    return f"/api/attachments/{attachment_id}"


def attachment_view(row: AttachmentRow) -> AttachmentView:
    url = attachment_url(row.id)
    kind: AttachmentKind = (
        "image" if row.kind == "image" else "video" if row.kind == "video" else "file"
    )
    return AttachmentView(
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        kind=kind,
        width=row.width,
        height=row.height,
        url=url,
        thumbnail_url=f"{url}/thumbnail" if row.thumbnail_sha256 else None,
    )
