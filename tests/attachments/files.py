"""Small real files of each kind, made in the test."""

from __future__ import annotations

import io

from PIL import Image

CAMERA = "TidingsTestCam"


def jpeg_with_exif(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG whose EXIF names a camera and says "rotate 90° clockwise" (orientation 6)."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0112] = 6  # Orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return buffer.getvalue()


def image(format: str, size: tuple[int, int] = (500, 400), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format, **options)
    return buffer.getvalue()


def animated_gif() -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (40, 30), colour).convert("P") for colour in colours]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def mp4() -> bytes:
    """An ISO base media file: an ``ftyp`` box (brand isom) and a ``free`` box. Enough for
    sniffing, not a playable video (the server never decodes video)."""
    ftyp = b"ftyp" + b"isom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41"
    free = b"free" + b"\0" * 100
    return (8 + len(ftyp) - 4).to_bytes(4, "big") + ftyp + (len(free) + 4).to_bytes(4, "big") + free


def webm() -> bytes:
    """An EBML header whose DocType is ``webm``, then filler: enough for sniffing."""
    header = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        b"\x42\x82\x84webm"  # DocType "webm"
        b"\x42\x87\x81\x04"  # DocTypeVersion 4
        b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    return (
        b"\x1a\x45\xdf\xa3"
        + bytes([0x80 | len(header)])
        + header
        + b"\x18\x53\x80\x67"
        + b"\0" * 200
    )


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 120 + b"This program cannot be run in DOS mode."


SECRET_COMMENT = b"GPS 51.5,-0.12 secret comment"
SECRET_XMP = b"<x:xmpmeta>GPSLatitude 51.5 author=Alice</x:xmpmeta>"
SMUGGLED = b"<html><script>alert(document.domain)</script></html>"


def animated_gif_with_metadata() -> bytes:
    """Three frames, a comment, an XMP application extension before the trailer, and an HTML
    page after it (the reviewer's file)."""
    frames = [Image.new("RGB", (16, 16), (0, 0, 0)) for _ in range(3)]
    for i, frame in enumerate(frames):
        frame.paste((255, i * 80, 0), (i, i, i + 6, i + 6))
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        comment=SECRET_COMMENT,
        duration=100,
        loop=0,
    )
    xmp = b"\x21\xff\x0bXMP DataXMP" + bytes([len(SECRET_XMP)]) + SECRET_XMP + b"\x00"
    return buffer.getvalue()[:-1] + xmp + b";" + SMUGGLED


def animated_webp_with_metadata() -> bytes:
    """Three frames with EXIF and XMP chunks, and an HTML page after the RIFF's end."""
    frames = [Image.new("RGB", (8, 8), (i * 50, 0, 0)) for i in range(3)]
    exif = Image.Exif()
    exif[0x010F] = SECRET_COMMENT.decode()  # Make
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        exif=exif.tobytes(),
        xmp=SECRET_XMP,
    )
    return buffer.getvalue() + SMUGGLED
