"""Images as they are stored: re-encoded without metadata, and a thumbnail (Pillow).

A still image is decoded and encoded again in its own format: EXIF (camera, time, GPS), XMP,
comments and anything appended to the file are gone, its orientation applied to the pixels
(so it shows upright without its EXIF), its colour profile kept. JPEG is re-encoded at quality
90, PNG and GIF losslessly. An animated GIF or WebP, and a still WebP with no orientation to
apply, keep their pictures' bytes as they came (to re-encode every frame would cost more than it
is worth; a WebP re-encoded loses quality and costs much memory): ``containers`` rewrites them
with only the blocks that showing them needs.

Decompression bombs: the size in the header is checked before any pixel is decoded, against
``max_pixels`` (``MAX_IMAGE_PIXELS``; a WebP, ``max_pixels / WEBP_PIXEL_SHARE``); Pillow's own
limit is an error here too. Memory, per decode: the decoded pixels (4 bytes a pixel, 1 for a
palette or grey image), twice that for a moment while an EXIF orientation is applied, and no
other full-size copy (the thumbnail is reduced a strip at a time): at most ``8 * max_pixels``
bytes (a 49-megapixel RGBA PNG: ~200 MB). At most ``CONCURRENT_DECODES`` images are decoded at
once per process. The others wait for a slot in the event loop (``DecodeGate``), not in a
thread: waiting in a thread would fill the default thread pool that password hashing and file
work share, and stall every login behind a queue of uploads.
"""

from __future__ import annotations

import asyncio
import warnings
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import ExifTags, Image, ImageOps

from tidings.attachments import containers
from tidings.attachments.sniffing import GIF, JPEG, PNG, WEBP, MediaType
from tidings.errors import ApiError

THUMBNAIL_SIZE = (320, 320)
"""A thumbnail fits in this box (aspect kept; never larger than the image)."""
THUMBNAIL_TYPE = "image/webp"
CONCURRENT_DECODES = 2
WEBP_PIXEL_SHARE = 5
"""A WebP may have ``max_pixels / WEBP_PIXEL_SHARE`` pixels: Pillow's WebP decoder takes ~16
bytes a pixel (its canvases and copies), and its encoder (a turned WebP) ~17 more."""
_TURNING = range(2, 9)
"""EXIF orientations that ``ImageOps.exif_transpose`` applies."""
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP"}
_KEPT_INFO = ("icc_profile", "transparency")
"""What of an image's ``info`` its re-encoding keeps (the rest is metadata)."""


T = TypeVar("T")


class UnsupportedMedia(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class ImageTooLarge(ApiError):
    status_code = 413
    code = "image_too_large"


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    width: int
    height: int
    thumbnail: Path


class DecodeGate:
    """``CONCURRENT_DECODES`` slots for decoding images, waited for in the event loop."""

    def __init__(self, slots: int) -> None:
        self._semaphore = asyncio.Semaphore(slots)
        self.waiting = 0
        """Decodes waiting for a slot."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot while in the block (waiting for one in the event loop)."""
        await self._acquire()
        try:
            yield
        finally:
            self._semaphore.release()

    async def run(self, source: Path, media: MediaType, max_pixels: int) -> ProcessedImage:
        """``process_image`` in a thread once a slot is free."""
        return await self.call(process_image, source, media, max_pixels)

    async def call(self, decode: Callable[..., T], *args: Any) -> T:
        """``decode(*args)`` (a blocking decode: ``process_image``, an avatar's) in a thread
        once a slot is free. The slot is held until the thread ends, even if the request is
        cancelled meanwhile (a decode cannot be stopped)."""
        await self._acquire()
        decoding = asyncio.get_running_loop().run_in_executor(None, decode, *args)
        decoding.add_done_callback(lambda _: self._semaphore.release())
        return await asyncio.shield(decoding)

    async def _acquire(self) -> None:
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DecodeGate] = (
    weakref.WeakKeyDictionary()
)


def decode_gate() -> DecodeGate:
    """The running event loop's gate (one loop per process serves; an asyncio semaphore
    belongs to one loop)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = DecodeGate(CONCURRENT_DECODES)
    return gate


def process_image(source: Path, media: MediaType, max_pixels: int) -> ProcessedImage:
    """Rewrite ``source`` (an image of type ``media``) in place as it will be stored, and
    write its thumbnail beside it. Raises ``UnsupportedMedia`` (415) if it does not decode as
    that type, ``ImageTooLarge`` (413) past ``max_pixels``. Blocking: run it through
    ``decode_gate().run``, which bounds the decodes at once."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _process(source, media, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(max_pixels) from None
        except ApiError:
            raise
        except Exception as error:
            # Pillow reports a malformed file with whatever its parser raised (OSError,
            # SyntaxError, ValueError, EOFError, struct.error...): all mean "not this image".
            raise UnsupportedMedia(
                f"The file is not a valid {media.content_type} image."
            ) from error


def _too_large(max_pixels: int) -> ImageTooLarge:
    return ImageTooLarge(f"The image has more than {max_pixels} pixels.")


def _process(source: Path, media: MediaType, max_pixels: int) -> ProcessedImage:
    thumbnail_path = source.with_name(source.name + ".thumbnail")
    with Image.open(source, formats=[_PIL_FORMATS[media]]) as image:
        width, height = image.size
        limit = max_pixels // WEBP_PIXEL_SHARE if media is WEBP else max_pixels
        if width < 1 or height < 1 or width * height > limit:
            raise _too_large(limit)
        # A JPEG with several pictures (MPO, from some cameras) is stored as its first.
        animated = media in (GIF, WEBP) and bool(getattr(image, "is_animated", False))
        image.seek(0)
        image.load()
        turned = image.getexif().get(ExifTags.Base.Orientation, 1) in _TURNING
        # In place: no copy unless there is an orientation to apply (then one, for a moment).
        ImageOps.exif_transpose(image, in_place=True)
        _thumbnail(image).save(thumbnail_path, "WEBP", quality=80)
        as_it_came = animated or (media is WEBP and not turned)
        if not as_it_came:
            image.info = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
            _save_clean(image, source, media)
            width, height = image.size
    if as_it_came:
        clean = containers.clean_gif if media is GIF else containers.clean_webp
        source.write_bytes(clean(source.read_bytes()))
    return ProcessedImage(width, height, thumbnail_path)


def _save_clean(image: Image.Image, target: Path, media: MediaType) -> None:
    options: dict[str, object] = {"exif": b""}
    if "icc_profile" in image.info:
        options["icc_profile"] = image.info["icc_profile"]
    if media is JPEG:
        options["quality"] = 90
    elif media is WEBP:
        options["quality"] = 90
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    elif media is GIF:
        options.pop("exif")
    image.save(target, _PIL_FORMATS[media], **options)


def _thumbnail(image: Image.Image) -> Image.Image:
    """The thumbnail, made without a full-size copy of ``image``: reduced a strip at a time
    (``Image.reduce`` and ``Image.convert`` of the whole would each copy it: Pillow premultiplies
    the alpha of the whole image before reducing it), to at least twice the thumbnail's size,
    then resized."""
    mode = "RGBA" if image.has_transparency_data else "RGB"
    width, height = image.size
    scale = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height)
    factor = max(1, int(1 / (2 * scale)))
    if factor == 1:  # at most 1280 px a side: a copy is small
        small = image.convert(mode)
    else:
        small = Image.new(mode, (-(-width // factor), -(-height // factor)))
        rows = factor * _STRIP_ROWS
        for top in range(0, height, rows):
            strip = image.crop((0, top, width, min(top + rows, height))).convert(mode)
            small.paste(strip.reduce(factor), (0, top // factor))
    small.thumbnail(THUMBNAIL_SIZE)
    small.info = {}
    return small


_STRIP_ROWS = 16
"""Rows of the thumbnail made per strip of the image."""
