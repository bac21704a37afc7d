"""Images as stored: decodes wait without holding threads; animated images keep their frames
and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os

import httpx
import pytest
from PIL import Image

from tests.api_helpers import assert_error
from tests.attachments import files
from tests.attachments.helpers import upload, upload_response
from tests.support.api import PASSWORD
from tidings.attachments import containers, images


@pytest.mark.settings(rate_limit_upload="1000/hour")
async def test_a_login_is_not_stuck_behind_uploads_waiting_to_decode(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    data = files.image("PNG", size=(600, 400))
    gate = images.decode_gate()
    # More uploads than the default thread pool has threads: had they waited for a decode
    # slot in threads, the login's password hashing would find none free.
    count = min(32, (os.cpu_count() or 1) + 4) + 2
    async with contextlib.AsyncExitStack() as held:
        for _ in range(images.CONCURRENT_DECODES):  # every slot busy, as with large images
            await held.enter_async_context(gate.slot())
        uploads = [
            asyncio.create_task(upload_response(alice, data, "image/png")) for _ in range(count)
        ]
        async with asyncio.timeout(30):
            while gate.waiting < count:  # noqa: ASYNC110 (a count with nothing to await)
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=server.url) as anonymous:
                login = await anonymous.post(
                    "/api/auth/login", json={"username": bob.username, "password": PASSWORD}
                )
        assert login.status_code == 200, login.text
        assert not any(task.done() for task in uploads)
        assert gate.waiting == count
    answers = await asyncio.gather(*uploads)
    assert [answer.status_code for answer in answers] == [201] * count
    assert gate.waiting == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (files.animated_gif_with_metadata(), "image/gif"),
        (files.animated_webp_with_metadata(), "image/webp"),
    ],
)
async def test_an_animated_image_keeps_its_frames_and_nothing_else(
    server, make_user, data, content_type
):
    original = Image.open(io.BytesIO(data))
    assert original.n_frames == 3
    for secret in (files.SECRET_COMMENT, files.SECRET_XMP, files.SMUGGLED):
        assert secret in data
    alice = await make_user("alice")
    view = await upload(alice, data, None, "x.html")
    assert view["content_type"] == content_type
    served = (await alice.get(view["url"])).content
    for secret in (b"GPS", b"secret comment", b"GPSLatitude", b"XMP", b"Exif", b"<script>"):
        assert secret not in served
    picture = Image.open(io.BytesIO(served))
    assert picture.n_frames == original.n_frames
    for frame in range(original.n_frames):
        original.seek(frame)
        picture.seek(frame)
        assert picture.convert("RGBA").tobytes() == original.convert("RGBA").tobytes()
    assert picture.info.get("loop") == original.info.get("loop")
    assert picture.info.get("duration") == original.info.get("duration")


def test_a_gif_keeps_no_plain_text_block_nor_the_timing_meant_for_it():
    gif = files.animated_gif()
    screen_end = 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)
    timing = b"\x21\xf9\x04\x00\x2a\x00\x00\x00"  # a 420 ms delay, for the plain text block
    plain_text = b"\x21\x01\x0c" + b"\0" * 12 + b"\x05hello\x00"
    crafted = gif[:screen_end] + timing + plain_text + gif[screen_end:]
    cleaned = containers.clean_gif(crafted)
    assert b"hello" not in cleaned
    assert b"\x2a\x00" not in cleaned
    assert cleaned == containers.clean_gif(gif)
    assert Image.open(io.BytesIO(cleaned)).n_frames == 3


@pytest.mark.parametrize(
    "broken",
    [
        files.animated_gif()[:-20],  # cut inside an image
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x99",  # not a block
        files.animated_webp_with_metadata()[:100],  # shorter than its RIFF size
        b"RIFF\x0c\x00\x00\x00WEBPVP8X\xff\x00\x00\x00",  # a chunk past the RIFF's end
        b"RIFF\x04\x00\x00\x00WEBPVP8 \x00\x00\x00\x00",  # no picture within it
    ],
)
def test_a_broken_container_does_not_parse(broken):
    clean = containers.clean_gif if broken.startswith(b"GIF") else containers.clean_webp
    with pytest.raises(ValueError, match=r"truncated|unexpected|no picture"):
        clean(broken)


async def test_a_still_webp_keeps_its_picture_and_loses_the_rest(server, make_user):
    alice = await make_user("alice")
    exif = Image.Exif()
    exif[0x010F] = files.SECRET_COMMENT.decode()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(
        buffer, "WEBP", lossless=True, exif=exif.tobytes(), xmp=files.SECRET_XMP
    )
    original = buffer.getvalue()
    view = await upload(alice, original + files.SMUGGLED, "image/webp")
    served = (await alice.get(view["url"])).content
    for secret in (b"secret comment", b"GPSLatitude", b"<script>"):
        assert secret not in served
    assert Image.open(io.BytesIO(served)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    # Turned by its EXIF: decoded, turned and encoded again.
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buffer, "WEBP", exif=exif.tobytes())
    turned = await upload(alice, buffer.getvalue(), "image/webp")
    assert (turned["width"], turned["height"]) == (30, 40)
    served = (await alice.get(turned["url"])).content
    assert b"secret comment" not in served
    assert Image.open(io.BytesIO(served)).size == (30, 40)


@pytest.mark.settings(max_image_pixels=50_000)
async def test_a_webp_may_have_a_fifth_of_the_pixels(server, make_user):
    alice = await make_user("alice")
    too_many = files.image("WEBP", size=(101, 100))
    assert_error(await upload_response(alice, too_many, "image/webp"), 413, "image_too_large")
    assert (await upload_response(alice, files.image("WEBP", (100, 100)))).status_code == 201
    assert (await upload_response(alice, files.image("PNG", (500, 100)))).status_code == 201
