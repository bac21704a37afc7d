"""Avatars: a person's or a group's picture, stored once as a 256 px square WebP.

``store_avatar`` takes an uploaded image (JPEG, PNG, GIF or WebP, sniffed from its bytes; the
request's Content-Type decides nothing), applies its EXIF orientation, crops the centre square,
scales it to ``AVATAR_SIZE`` and encodes it as WebP with no metadata (EXIF, XMP, colour profile:
nothing but pixels). The result is stored as a blob in the attachments' store (``BlobStore``),
named by its SHA-256: that hash is the avatar's key, and its URL ``/api/avatars/{key}`` never
changes meaning, so browsers cache it for good. The same picture uploaded twice, by anyone, is
stored once.

Decoding reuses the attachments' guards: the pixel count from the header is checked before a
pixel is decoded (``MAX_IMAGE_PIXELS``, a fifth of it for a WebP), and decodes wait for one of
the process's decode slots in the event loop (``images.decode_gate``). A JPEG is decoded at the
smallest scale that still covers the avatar (``Image.draft``).

The columns that hold avatar keys are registered with ``attachments.holders``: the sweep keeps
what they name and deletes an avatar nobody shows any more (after ``BLOB_GRACE``, so an avatar
stored a moment before its row is written is safe), and ``GET /api/avatars/{key}`` serves only
keys such a column holds (not any blob of the store by its hash).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from tidings.accounts.models import User
from tidings.accounts.schemas import avatar_url
from tidings.attachments.actions import touch_blobs
from tidings.attachments.holders import blob_holders, hold_blobs_in
from tidings.attachments.images import WEBP_PIXEL_SHARE, ImageTooLarge, decode_gate
from tidings.attachments.models import AttachmentBlob
from tidings.attachments.sniffing import GIF, JPEG, PNG, SNIFF_BYTES, WEBP, MediaType, sniff
from tidings.context import AppContext
from tidings.conversations.models import Conversation
from tidings.errors import ApiError

__all__ = ["AVATAR_SIZE", "avatar_size", "avatar_url", "make_avatar", "store_avatar"]

AVATAR_SIZE = 256
"""An avatar is this many pixels square."""
AVATAR_TYPE = "image/webp"
AVATAR_QUALITY = 85
_KEY = re.compile(r"[0-9a-f]{64}")
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}

hold_blobs_in(User.avatar_key)
hold_blobs_in(Conversation.avatar_key)


class NotAnImage(ApiError):
    status_code = 415
    code = "not_an_image"


class AvatarTooLarge(ApiError):
    status_code = 413
    code = "body_too_large"


async def store_avatar(ctx: AppContext, body: bytes, content_type: str | None) -> str:
    """Make ``body`` an avatar, store it, and return its key (415 ``not_an_image`` if it is not
    a JPEG, PNG, GIF or WebP that decodes; 413 past ``MAX_AVATAR_BYTES`` or the pixel cap).

    ``content_type`` (the request's) is not trusted: the bytes say what they are. The caller
    writes the key into its row afterwards (the blob is touched first, so the sweep leaves it
    alone meanwhile)."""
    limit = ctx.settings.max_avatar_bytes
    if len(body) > limit:
        raise AvatarTooLarge(f"The image is larger than {limit} bytes.")
    media = sniff(body[:SNIFF_BYTES])
    if media.kind != "image":
        raise NotAnImage("An avatar must be a JPEG, PNG, GIF or WebP image.")
    webp = await decode_gate().call(make_avatar, body, media, ctx.settings.max_image_pixels)
    key = hashlib.sha256(webp).hexdigest()
    await ctx.writer.run(touch_blobs, [(key, len(webp))])
    store = ctx.attachment_store
    if not await store.contains(key):
        staged = _stage(store.staging_dir, webp)
        try:
            await store.store_file(key, staged)
        finally:
            _remove(staged)
    return key


def _stage(directory: Path, data: bytes) -> Path:
    """``data`` in a new file of ``directory`` (~10-30 kB: to the page cache, no thread)."""
    descriptor, name = tempfile.mkstemp(dir=directory, suffix=".avatar")
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return Path(name)


def _remove(path: Path) -> None:
    """Delete what was staged (a file stored by moving it is gone already)."""
    path.unlink(missing_ok=True)


def make_avatar(body: bytes, media: MediaType, max_pixels: int) -> bytes:
    """The avatar of an image (blocking: run it through ``decode_gate().call``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _make_avatar(body, media, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(f"The image has more than {max_pixels} pixels.") from None
        except ApiError:
            raise
        except Exception as error:
            # Whatever Pillow's parser raised for a malformed file: it is not this image.
            raise NotAnImage(f"The file is not a valid {media.content_type} image.") from error


def _make_avatar(body: bytes, media: MediaType, max_pixels: int) -> bytes:
    with Image.open(io.BytesIO(body), formats=[_PIL_FORMATS[media]]) as image:
        width, height = image.size
        limit = max_pixels // WEBP_PIXEL_SHARE if media is WEBP else max_pixels
        if width < 1 or height < 1 or width * height > limit:
            raise ImageTooLarge(f"The image has more than {limit} pixels.")
        image.seek(0)  # an animation's first frame
        if media is JPEG:
            # Decode at 1/2, 1/4 or 1/8 scale if that still covers the avatar's square.
            image.draft("RGB", (AVATAR_SIZE, AVATAR_SIZE))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = image.crop((left, top, left + side, top + side))
    mode = "RGBA" if square.has_transparency_data else "RGB"
    avatar = square.convert(mode).resize((AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
    avatar.info = {}
    out = io.BytesIO()
    avatar.save(out, "WEBP", quality=AVATAR_QUALITY, exif=b"", icc_profile=None)
    return out.getvalue()


def avatar_size(session: Session, key: str) -> int | None:
    """The stored size of the avatar ``key`` if a registered column holds it, else None."""
    if not _KEY.fullmatch(key):
        return None
    held = or_(*(exists().where(column == key) for column in blob_holders()))
    return session.scalar(select(AttachmentBlob.size).where(AttachmentBlob.sha256 == key, held))
