"""File responses: never a page of this origin, whatever the bytes.

The Content-Type is the sniffed one (``application/octet-stream`` for anything but the allowed
images and videos, which alone are ``inline``; everything else is an ``attachment`` to
download), with ``X-Content-Type-Options: nosniff`` (from ``SecurityHeadersMiddleware``) so a
browser never guesses HTML from the bytes, and ``Content-Security-Policy: sandbox;
default-src 'none'`` in case one is opened as a document anyway: no script, no same origin.
``Cross-Origin-Resource-Policy: same-origin`` keeps other sites from embedding them. Cached
privately for good: an attachment's URL names its id, its bytes never change, and an id is
never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so a cached URL never shows
another file; signing out sends ``Clear-Site-Data: "cache"`` for the next user of a shared
browser.

One range (``Range: bytes=a-b``, ``a-`` or ``-n``) is served as 206, for video seeking, on
either store; a malformed range, several ranges or a header longer than ``MAX_RANGE_LENGTH``
are ignored (200, the whole file, as RFC 9110 allows); a range starting past the end is 416.
``HEAD`` answers as ``GET`` does, without the body (and without reading the blob).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from tidings.attachments.filenames import content_disposition
from tidings.attachments.queries import ServedBlob
from tidings.attachments.storage import BlobMissing, BlobStore
from tidings.errors import NotFound, error_response

logger = logging.getLogger(__name__)

FILE_CSP = "sandbox; default-src 'none'"
CACHE_CONTROL = "private, max-age=31536000, immutable"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)
MAX_RANGE_LENGTH = 200
"""A longer ``Range`` header is ignored (no single range needs so many characters)."""


class RangeNotSatisfiable(Exception):
    pass


def requested_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The ``(start, end)`` (end exclusive) of a single-range ``Range`` header, or None to
    serve the whole file; raises ``RangeNotSatisfiable`` for one that starts past the end."""
    if not value or len(value) > MAX_RANGE_LENGTH:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:  # the last n bytes
        length = int(match[2])
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size
    start = int(match[1])
    if match[2] and int(match[2]) < start:
        return None  # invalid (last before first): ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(int(match[2]) + 1 if match[2] else size, size)


async def blob_response(
    store: BlobStore, blob: ServedBlob, range_header: str | None, *, head: bool = False
) -> Response:
    """The blob as a file response (200 or 206), or a JSON 416; only its headers if
    ``head``."""
    inline = blob.kind in ("image", "video")
    headers = {
        "Content-Disposition": content_disposition(
            "inline" if inline else "attachment", blob.filename
        ),
        "Content-Security-Policy": FILE_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": CACHE_CONTROL,
        "Accept-Ranges": "bytes",
    }
    try:
        span = requested_range(range_header, blob.size)
    except RangeNotSatisfiable:
        return error_response(
            416,
            f"The range is not within the file's {blob.size} bytes.",
            "range_not_satisfiable",
            headers={"Content-Range": f"bytes */{blob.size}"},
        )
    start, end = span or (0, blob.size)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
    headers["Content-Length"] = str(end - start)
    if head:
        return Response(None, status, headers=headers, media_type=blob.content_type)
    body = await _started(store.read(blob.sha256, start, end), blob.sha256)
    return StreamingResponse(body, status, headers=headers, media_type=blob.content_type)


async def _started(chunks: AsyncIterator[bytes], sha256: str) -> AsyncIterator[bytes]:
    """``chunks`` with the first one read already: a blob missing from the store is a 404
    before the response starts, not a connection cut after its headers."""
    try:
        first = await anext(chunks, b"")
    except BlobMissing:
        logger.error("blob %s is registered but missing from the store", sha256)
        raise NotFound("The file is not available.") from None

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()
