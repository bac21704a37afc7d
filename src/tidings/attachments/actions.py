"""Uploading, discarding an unsent upload, and sweeping what nothing uses any more.

An upload, in order (the order is what makes blobs safe to share and to sweep):

1. the body is written to a file in the store's staging directory, hashed and counted as it
   arrives (413 once it passes ``MAX_UPLOAD_BYTES``; the request body middleware refuses it
   first, on its Content-Length or while counting);
2. its type is sniffed from its first bytes; if the request's Content-Type insists on an image
   or a video and the bytes are not one, 415; an image is re-encoded without metadata and
   given a thumbnail (``images.py``) and hashed again;
3. its blobs (file, thumbnail) are *touched* in the registry (``attachment_blob.touched_at``),
   which holds off the sweep (``BLOB_GRACE``);
4. their bytes are stored unless the store has them already (the same file uploaded again, by
   anyone, is stored once);
5. the attachment row is written, unsent: visible to its uploader alone until a send claims it
   (``links.claim``).

The sweep deletes unsent attachments older than ``ATTACHMENT_ORPHAN_SECONDS``, then the blobs
no attachment (nor any other holder, ``holders.py``: avatars) uses and no upload touched
within ``BLOB_GRACE``: their bytes are discarded and their rows deleted in one transaction,
which holds the rows' locks (PostgreSQL) or the write lock (SQLite) meanwhile, so an upload
touching the same blob waits for it and then stores the bytes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast

from limits import parse
from sqlalchemy import Table, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from tidings.accounts.models import User
from tidings.attachments import views
from tidings.attachments.filenames import safe_filename
from tidings.attachments.holders import blob_holders
from tidings.attachments.images import UnsupportedMedia, decode_gate
from tidings.attachments.models import Attachment, AttachmentBlob
from tidings.attachments.schemas import AttachmentView
from tidings.attachments.sniffing import SNIFF_BYTES, MediaType, sniff
from tidings.attachments.storage import BlobStore
from tidings.context import AppContext
from tidings.db import Database, utcnow
from tidings.errors import ApiError, NotFound
from tidings.ratelimit import Limit
from tidings.realtime.transaction import Transaction

logger = logging.getLogger(__name__)

BLOB_GRACE = timedelta(hours=1)
"""A blob touched by an upload this recently is never swept (an upload takes far less)."""
SWEEP_BATCH = 200
"""Blobs deleted per transaction of the sweep (which holds their locks meanwhile)."""
HASH_READ_BYTES = 1024 * 1024

_blob_table = cast(Table, AttachmentBlob.__table__)
_attachment_table = cast(Table, Attachment.__table__)


class FileTooLarge(ApiError):
    status_code = 413
    code = "file_too_large"


class UploadIncomplete(ApiError):
    """The client went away before the end of its upload (nobody reads this answer)."""

    code = "upload_incomplete"


@functools.cache
def upload_limit(rate: str) -> Limit:
    return Limit("upload", parse(rate))


@dataclass(frozen=True, slots=True)
class _Blob:
    sha256: str
    size: int
    path: Path


async def upload(
    ctx: AppContext,
    user: User,
    body: AsyncIterator[bytes],
    *,
    filename: str | None,
    declared_type: str | None,
) -> AttachmentView:
    """Store an upload (see the module's docstring) and return it as an unsent attachment.

    ``declared_type`` is the request's Content-Type: ``image/*`` or ``video/*`` insists that the
    bytes be an allowed image or video (415 otherwise); it never decides the type served."""
    await ctx.limiter.hit(
        upload_limit(ctx.settings.rate_limit_upload),
        str(user.id),
        detail="You are uploading too many files. Wait a while.",
    )
    store = ctx.attachment_store
    descriptor, name = tempfile.mkstemp(dir=store.staging_dir, suffix=".upload")
    staged = Path(name)
    thumbnail: Path | None = None
    try:
        with os.fdopen(descriptor, "wb") as file:
            sha256, size, head = await _receive(body, file, ctx.settings.max_upload_bytes)
        media = sniff(head)
        _check_declared_type(declared_type, media)
        width = height = None
        blobs: list[_Blob] = []
        if media.kind == "image":
            image = await decode_gate().run(staged, media, ctx.settings.max_image_pixels)
            width, height, thumbnail = image.width, image.height, image.thumbnail
            sha256, size = await asyncio.to_thread(hash_file, staged)
            blobs.append(_Blob(*await asyncio.to_thread(hash_file, thumbnail), thumbnail))
        blobs.insert(0, _Blob(sha256, size, staged))
        await ctx.writer.run(touch_blobs, [(blob.sha256, blob.size) for blob in blobs])
        for blob in blobs:
            if not await store.contains(blob.sha256):
                await store.store_file(blob.sha256, blob.path)
        return await ctx.writer.run(
            _record_attachment,
            Attachment(
                uploader_id=user.id,
                blob_sha256=sha256,
                thumbnail_sha256=blobs[1].sha256 if len(blobs) > 1 else None,
                size=size,
                content_type=media.content_type,
                kind=media.kind,
                filename=safe_filename(filename, media),
                width=width,
                height=height,
            ),
        )
    finally:
        _remove(staged, thumbnail)


async def _receive(
    body: AsyncIterator[bytes], file: BinaryIO, limit: int
) -> tuple[str, int, bytes]:
    """Write the body to ``file`` as it arrives (to the page cache: not worth a thread per
    chunk): its SHA-256, size and first bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    write = file.write
    try:
        async for chunk in body:
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(f"The file is larger than {limit} bytes.")
            digest.update(chunk)
            write(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
    except ClientDisconnect:
        raise UploadIncomplete("The upload ended before the file did.") from None
    return digest.hexdigest(), size, head


def _check_declared_type(declared_type: str | None, media: MediaType) -> None:
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    insisted = declared.split("/", 1)[0] if "/" in declared else ""
    if insisted in ("image", "video") and media.kind != insisted:
        raise UnsupportedMedia(
            f"The file is not an {insisted} of an allowed type "
            f"({'JPEG, PNG, GIF or WebP' if insisted == 'image' else 'MP4 or WebM'})."
        )


def _remove(*paths: Path | None) -> None:
    """Delete what an upload staged (a file stored by moving it is gone already)."""
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


def hash_file(path: Path) -> tuple[str, int]:
    """A file's SHA-256 (hex) and size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(HASH_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def touch_blobs(tx: Transaction, blobs: Sequence[tuple[str, int]]) -> None:
    """Register the blobs, or mark them used now if they are registered."""
    session = tx.session
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(_blob_table)
    now = utcnow()
    for sha256, size in blobs:
        session.execute(
            insert.values(sha256=sha256, size=size, touched_at=now).on_conflict_do_update(
                index_elements=["sha256"], set_={"touched_at": now}
            )
        )


def _record_attachment(tx: Transaction, attachment: Attachment) -> AttachmentView:
    attachment.created_at = utcnow()
    tx.session.add(attachment)
    tx.session.flush()
    return views.attachment_view(attachment)


async def discard_upload(ctx: AppContext, user: User, attachment_id: int) -> None:
    """Delete one of your uploads that was not sent (404 for anything else)."""
    await ctx.writer.run(_discard_upload, user.id, attachment_id)


def _discard_upload(tx: Transaction, user_id: int, attachment_id: int) -> None:
    deleted = tx.session.execute(
        delete(_attachment_table).where(
            _attachment_table.c.id == attachment_id,
            _attachment_table.c.uploader_id == user_id,
            _attachment_table.c.message_id.is_(None),
        )
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"Attachment {attachment_id} not found.")


@dataclass(frozen=True, slots=True)
class Swept:
    attachments: int
    blobs: int


async def sweep(
    db: Database,
    store: BlobStore,
    *,
    now: datetime,
    orphan_age: timedelta,
    blob_grace: timedelta = BLOB_GRACE,
) -> Swept:
    """Delete uploads unsent since before ``now - orphan_age``, then the blobs that nothing
    uses and no upload touched since ``now - blob_grace``, and staged files left behind by
    uploads that died (older than the grace too)."""
    async with db.write() as session:
        attachments = await session.run_sync(_delete_orphans, now - orphan_age)
    blobs = 0
    while True:
        async with db.write() as session:
            doomed = await session.run_sync(_lock_unused_blobs, now - blob_grace)
            if doomed:
                await store.discard(doomed)
                await session.run_sync(_delete_blobs, doomed)
        blobs += len(doomed)
        if len(doomed) < SWEEP_BATCH:
            break
    cutoff = (now - blob_grace).timestamp()
    await asyncio.to_thread(_clean_staging, store.staging_dir, cutoff)
    return Swept(attachments, blobs)


def _delete_orphans(session: Session, created_before: datetime) -> int:
    result = session.execute(
        delete(_attachment_table).where(
            _attachment_table.c.message_id.is_(None),
            _attachment_table.c.created_at < created_before,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _lock_unused_blobs(session: Session, touched_before: datetime) -> list[str]:
    attachment, sha256 = _attachment_table.c, _blob_table.c.sha256
    held_elsewhere = [~exists().where(column == sha256) for column in blob_holders()]
    query = (
        select(sha256)
        .where(
            _blob_table.c.touched_at < touched_before,
            ~exists().where(attachment.blob_sha256 == sha256),
            ~exists().where(attachment.thumbnail_sha256 == sha256),
            *held_elsewhere,
        )
        .limit(SWEEP_BATCH)
        # Other processes sweeping at the same time take other blobs.
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def _delete_blobs(session: Session, sha256s: list[str]) -> None:
    session.execute(delete(_blob_table).where(_blob_table.c.sha256.in_(sha256s)))


def _clean_staging(directory: Path, modified_before: float) -> None:
    for path in directory.iterdir():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < modified_before:
                path.unlink()


async def sweep_periodically(ctx: AppContext, *, every_seconds: float) -> None:
    """``sweep`` every ``every_seconds``, for ever (a task); a failure is logged and the next
    round tries again."""
    orphan_age = timedelta(seconds=ctx.settings.attachment_orphan_seconds)
    while True:
        await asyncio.sleep(every_seconds)
        try:
            swept = await sweep(ctx.db, ctx.attachment_store, now=utcnow(), orphan_age=orphan_age)
            if swept.attachments or swept.blobs:
                logger.info(
                    "swept %d unsent uploads and %d unused blobs", swept.attachments, swept.blobs
                )
        except Exception:
            logger.exception("sweeping attachments failed")
