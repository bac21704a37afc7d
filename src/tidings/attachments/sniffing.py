"""What a file is, from its first bytes (never from the name or type the client gave).

Only the types served inline are recognised: JPEG, PNG, GIF and WebP images, MP4 and WebM
video. Everything else is a plain file, served as ``application/octet-stream`` for download.
The magic numbers are checked here rather than with a library because the list is this short;
images are then opened by Pillow restricted to the format found (``images.py``), so a file
passes as an image only if it decodes as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.attachments.schemas import AttachmentKind

SNIFF_BYTES = 64
"""How much of the start of a file ``sniff`` looks at."""
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class MediaType:
    kind: AttachmentKind
    content_type: str
    extension: str
    """The extension a file of this type is given (its name is made to end with it)."""


JPEG = MediaType("image", "image/jpeg", ".jpg")
PNG = MediaType("image", "image/png", ".png")
GIF = MediaType("image", "image/gif", ".gif")
WEBP = MediaType("image", "image/webp", ".webp")
MP4 = MediaType("video", "video/mp4", ".mp4")
WEBM = MediaType("video", "video/webm", ".webm")
FILE = MediaType("file", OCTET_STREAM, "")

MEDIA_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".mp4", ".m4v", ".webm"}
)
"""Extensions that claim one of the types above (a name with one of them that does not match
its bytes has it replaced)."""

_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash"}
    | {b"M4V ", b"mmp4", b"MSNV", b"f4v "}
)
"""ISO base media brands that browsers play as MP4. Others share the container but are not
MP4 video: QuickTime (``qt  ``), HEIF/AVIF images (``heic``, ``mif1``, ``avif``)."""
_NOT_MP4_BRANDS = frozenset({b"qt  ", b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"})


def sniff(head: bytes) -> MediaType:
    """The type of a file whose first bytes (at least ``SNIFF_BYTES`` if it has them) are
    ``head``: one of the allowed media types, or ``FILE``."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and _is_mp4(head):
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and _ebml_doc_type(head) == b"webm":
        return WEBM
    return FILE


def _is_mp4(head: bytes) -> bool:
    """An ``ftyp`` box whose major brand is MP4's, or (another, not excluded) that lists an
    MP4 brand among its compatible brands within the bytes seen."""
    major = head[8:12]
    if major in _MP4_BRANDS:
        return True
    if major in _NOT_MP4_BRANDS:
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    compatible = [head[i : i + 4] for i in range(16, box_end - 3, 4)]
    return any(brand in _MP4_BRANDS for brand in compatible)


def _ebml_doc_type(head: bytes) -> bytes | None:
    """The DocType of an EBML header (``webm``, ``matroska``), if within ``head``."""
    at = head.find(b"\x42\x82", 4)
    if at < 0 or at + 2 >= len(head):
        return None
    first = head[at + 2]
    width = 1
    while width <= 8 and not first & (0x80 >> (width - 1)):
        width += 1
    if width > 8:
        return None
    size = first & (0xFF >> width)
    for byte in head[at + 3 : at + 2 + width]:
        size = size << 8 | byte
    start = at + 2 + width
    return head[start : start + size] if start + size <= len(head) else None
