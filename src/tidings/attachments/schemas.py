"""Request and response bodies for attachments."""

from __future__ import annotations

from typing import Literal

from tidings.schemas import ViewSchema

AttachmentKind = Literal["image", "video", "file"]


class AttachmentView(ViewSchema):
    """A file as a message (or an upload's answer) shows it."""

    id: int
    filename: str
    content_type: str
    """Sniffed from the bytes, never taken from the client."""
    size: int
    kind: AttachmentKind
    width: int | None = None
    height: int | None = None
    url: str
    thumbnail_url: str | None = None
