"""GIF and WebP files rewritten block by block, keeping only what showing them needs.

An animated image keeps its frames' bytes as they came (to decode and encode every frame again
would cost more than it is worth), so what is not a frame has to be cut out here: comments,
XMP, colour-profile and other application extensions of a GIF; EXIF, XMP and unknown chunks of
a WebP; and anything after the end of the file (a GIF's trailer, a WebP's RIFF size), where a
file can hide a second one (an HTML page, a ZIP). A file that does not parse raises
``ValueError``.
"""

from __future__ import annotations

_GIF_EXTENSION = 0x21
_GIF_IMAGE = 0x2C
_GIF_TRAILER = 0x3B
_GIF_GRAPHIC_CONTROL = 0xF9
_GIF_APPLICATION = 0xFF
_GIF_LOOP_APPLICATION = b"NETSCAPE2.0"


def clean_gif(data: bytes) -> bytes:
    """The GIF with its header, logical screen and global colour table, its images (with
    their graphic control extensions) and the NETSCAPE loop extension: nothing else."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("not a GIF")
    at = 13 + _colour_table_size(data[10])
    out = [data[:at]]
    graphic_control = b""
    """Held until the image it applies to (dropped with a plain text block it would apply to)."""
    while at < len(data):
        introducer = data[at]
        if introducer == _GIF_TRAILER:
            break
        if introducer == _GIF_IMAGE:
            if at + 10 > len(data):
                raise ValueError("truncated image descriptor")
            start = at
            at += 10 + _colour_table_size(data[at + 9]) + 1  # descriptor, table, LZW code size
            at = _sub_blocks_end(data, at)
            out += [graphic_control, data[start:at]]
            graphic_control = b""
        elif introducer == _GIF_EXTENSION and at + 1 < len(data):
            start, label = at, data[at + 1]
            at = _sub_blocks_end(data, at + 2)
            block = data[start:at]
            if label == _GIF_GRAPHIC_CONTROL:
                graphic_control = block
            elif label == _GIF_APPLICATION and block[3:14] == _GIF_LOOP_APPLICATION:
                out.append(block)
            else:  # comment, plain text, any other application's (XMP, ICC...)
                graphic_control = b""
        else:
            raise ValueError(f"unexpected GIF block 0x{introducer:02x}")
    out.append(bytes([_GIF_TRAILER]))
    return b"".join(out)


def _colour_table_size(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _sub_blocks_end(data: bytes, at: int) -> int:
    """Where the data sub-blocks starting at ``at`` end (after their terminator)."""
    while True:
        if at >= len(data):
            raise ValueError("truncated GIF block")
        size = data[at]
        at += 1 + size
        if size == 0:
            return at


_WEBP_KEPT = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ANMF", b"ALPH", b"ICCP"})
_WEBP_FRAME_KEPT = frozenset({b"ALPH", b"VP8 ", b"VP8L"})
_ANMF_HEADER = 16
_VP8X_METADATA_FLAGS = 0x08 | 0x04
"""VP8X flags saying EXIF and XMP chunks are present."""


def clean_webp(data: bytes) -> bytes:
    """The WebP within its RIFF size, with only the chunks of its pictures and colour profile
    (the VP8X flags for EXIF and XMP cleared)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data) or end < 12:
        raise ValueError("truncated WebP")
    chunks = _webp_chunks(data, 12, end, _WEBP_KEPT)
    if not chunks:
        raise ValueError("no picture in the WebP")
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _webp_chunks(data: bytes, at: int, end: int, kept: frozenset[bytes]) -> list[bytes]:
    chunks = []
    while at < end:
        if at + 8 > end:
            raise ValueError("truncated WebP chunk")
        tag, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        payload_end = at + 8 + size
        if payload_end > end:
            raise ValueError("truncated WebP chunk")
        if tag in kept:
            payload = data[at + 8 : payload_end]
            if tag == b"VP8X" and payload:
                payload = bytes([payload[0] & ~_VP8X_METADATA_FLAGS & 0xFF]) + payload[1:]
            elif tag == b"ANMF":
                if size < _ANMF_HEADER:
                    raise ValueError("truncated WebP frame")
                frame = _webp_chunks(payload, _ANMF_HEADER, size, _WEBP_FRAME_KEPT)
                payload = payload[:_ANMF_HEADER] + b"".join(frame)
            chunks.append(tag + len(payload).to_bytes(4, "little") + payload)
            if len(payload) & 1:
                chunks.append(b"\0")
        at = payload_end + (size & 1)
    return chunks
