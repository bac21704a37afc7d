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
