"""Names of uploaded files: made safe to store, show and offer for download."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from tidings.attachments.sniffing import MEDIA_EXTENSIONS, MediaType

MAX_FILENAME = 180
"""Characters kept of a name (its extension kept), well inside file systems' 255 bytes."""
DEFAULT_FILENAME = "file"


def safe_filename(raw: str | None, media: MediaType) -> str:
    """The name an upload is stored and offered under.

    Only the last path component; no control, format (bidi overrides that would show
    ``gpj.exe`` as ``exe.jpg``), private-use or unassigned characters; no leading dots (hidden
    files) or trailing dots and spaces (Windows drops them); NFC. An image or video gets its
    type's extension (replacing an extension that claims another media type), so the name
    never contradicts what the bytes are.
    """
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".").rstrip(". ")
    stem, extension = _split(name or DEFAULT_FILENAME)
    if media.extension and extension.lower() not in _extensions_of(media):
        if extension.lower() in MEDIA_EXTENSIONS:
            extension = ""
        stem, extension = stem + extension, media.extension
    stem = stem[: max(1, MAX_FILENAME - len(extension))].rstrip(". ") or DEFAULT_FILENAME
    return stem + extension


def _split(name: str) -> tuple[str, str]:
    suffix = PurePosixPath(name).suffix
    if not suffix or len(suffix) > 16 or suffix == name:
        return name, ""
    return name[: -len(suffix)], suffix


def _extensions_of(media: MediaType) -> set[str]:
    if media.extension == ".jpg":
        return {".jpg", ".jpeg", ".jpe"}
    if media.extension == ".mp4":
        return {".mp4", ".m4v"}
    return {media.extension}


def content_disposition(disposition: str, filename: str) -> str:
    """``inline`` or ``attachment``, with the name as RFC 6266 says: an ASCII ``filename`` for
    old clients and the exact one in ``filename*`` (RFC 5987, UTF-8, percent-encoded)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._()\[\] -]", "_", fallback).strip() or DEFAULT_FILENAME
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
