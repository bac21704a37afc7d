"""Uploading and fetching over HTTP, on a real server, on both stores."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api_helpers import assert_error, friends
from tests.attachments import files
from tests.attachments.helpers import (
    count,
    send_with,
    stored_blobs,
    upload,
    upload_response,
)
from tests.support.raw_http import RawConnection, request_head
from tidings.attachments.models import Attachment

COOKIE = "tidings_session"
KINDS = [
    # (bytes, Content-Type sent, name sent, kind, type served, name served)
    (files.jpeg_with_exif(), "image/jpeg", "me.jpg", "image", "image/jpeg", "me.jpg"),
    (files.image("PNG"), "image/png", "shot.png", "image", "image/png", "shot.png"),
    (files.animated_gif(), "image/gif", "fun.gif", "image", "image/gif", "fun.gif"),
    (files.image("WEBP"), "image/webp", "pic", "image", "image/webp", "pic.webp"),
    (files.mp4(), "video/mp4", "clip.mp4", "video", "video/mp4", "clip.mp4"),
    (files.webm(), "video/webm", "clip.webm", "video", "video/webm", "clip.webm"),
    (
        b"%PDF-1.4 not really",
        "application/pdf",
        "a.pdf",
        "file",
        "application/octet-stream",
        "a.pdf",
    ),
    # Not insisting on a type: HTML is accepted as a file, and served as one.
    (files.HTML, "text/html", "page.html", "file", "application/octet-stream", "page.html"),
    (files.EXE, None, "setup.exe", "file", "application/octet-stream", "setup.exe"),
]


def assert_file_headers(response: httpx.Response, content_type: str, disposition: str) -> None:
    assert response.headers["content-type"] == content_type
    assert "html" not in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith(f"{disposition}; filename=")
    assert "sandbox; default-src 'none'" in response.headers.get_list("content-security-policy")
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert response.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(("data", "sent_type", "name", "kind", "served_type", "served_name"), KINDS)
async def test_each_kind_is_uploaded_and_served_as_sniffed(
    server, make_user, data, sent_type, name, kind, served_type, served_name
):
    alice = await make_user("alice")
    view = await upload(alice, data, sent_type, name)
    assert set(view) == {
        "id",
        "filename",
        "content_type",
        "size",
        "kind",
        "width",
        "height",
        "url",
        "thumbnail_url",
    }
    assert (view["kind"], view["content_type"], view["filename"]) == (
        kind,
        served_type,
        served_name,
    )
    assert view["url"] == f"/api/attachments/{view['id']}"

    served = await alice.get(view["url"])
    assert served.status_code == 200
    assert_file_headers(served, served_type, "inline" if kind != "file" else "attachment")
    assert f"filename*=UTF-8''{served_name}" in served.headers["content-disposition"]
    assert int(served.headers["content-length"]) == len(served.content) == view["size"]
    if kind == "image":
        picture = Image.open(io.BytesIO(served.content))
        assert picture.size == (view["width"], view["height"])
        assert view["thumbnail_url"] == f"{view['url']}/thumbnail"
        thumbnail = await alice.get(view["thumbnail_url"])
        assert thumbnail.status_code == 200
        assert_file_headers(thumbnail, "image/webp", "inline")
        small = Image.open(io.BytesIO(thumbnail.content))
        assert small.format == "WEBP"
        assert max(small.size) <= 320
        assert max(small.size) == min(320, max(picture.size))
    else:
        assert served.content == data  # videos and files are stored as they came
        assert (view["width"], view["height"], view["thumbnail_url"]) == (None, None, None)
        assert_error(await alice.get(f"{view['url']}/thumbnail"), 404, "not_found")


async def test_a_jpeg_loses_its_exif_and_is_turned_upright(server, make_user):
    alice = await make_user("alice")
    original = files.jpeg_with_exif(size=(64, 48))
    assert files.CAMERA.encode() in original
    view = await upload(alice, original, "image/jpeg", "me.jpg")
    served = (await alice.get(view["url"])).content
    assert files.CAMERA.encode() not in served
    assert b"secret comment" not in served
    picture = Image.open(io.BytesIO(served))
    assert dict(picture.getexif()) == {}
    assert "exif" not in picture.info
    assert picture.size == (48, 64) == (view["width"], view["height"])  # orientation 6 applied


async def test_an_animated_gif_keeps_its_frames(server, make_user):
    alice = await make_user("alice")
    view = await upload(alice, files.animated_gif(), "image/gif")
    served = Image.open(io.BytesIO((await alice.get(view["url"])).content))
    assert served.n_frames == 3


async def test_the_same_bytes_are_stored_once(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    data = files.image("PNG", size=(30, 30))
    first = await upload(alice, data, "image/png", "a.png")
    second = await upload(bob, data, "image/png", "b.png")
    third = await upload(alice, files.mp4(), "video/mp4")
    again = await upload(alice, files.mp4(), "application/octet-stream", "x.bin")
    assert len({first["id"], second["id"], third["id"], again["id"]}) == 4
    assert again["kind"] == "video"  # the type is the bytes', whatever the request said
    # One PNG and its thumbnail, one MP4.
    assert len(await stored_blobs(server)) == 3
    assert await count(server, Attachment.id) == 4
    assert (await bob.get(second["url"])).content == (await alice.get(first["url"])).content


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"\xab" * min(size, total - sent)
        sent += size


@pytest.mark.settings(max_upload_bytes=100_000)
async def test_a_file_over_the_limit_is_refused_while_it_streams(server, make_user):
    alice = await make_user("alice")
    # No Content-Length (chunked): counted as it arrives, refused once past the limit.
    cookie = f"{COOKIE}={alice.client.cookies[COOKIE]}"
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(
            request_head(
                "POST", "/api/attachments", f"Cookie: {cookie}", "Transfer-Encoding: chunked"
            )
        )
        chunk = b"x" * 8192
        for _ in range(100_000 // len(chunk) + 2):
            await connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = await connection.response()
        assert response.status == 413
        assert response.json()["code"] == "body_too_large"
        assert await connection.closed_within(10)
    finally:
        connection.close()
    # Declared too large: refused before the body is read.
    declared = await upload_response(alice, b"\0" * 100_001)
    assert_error(declared, 413, "body_too_large")
    # At the limit: accepted, declared or streamed (httpx sends a generator chunked).
    at_limit = await upload(alice, b"\0" * 100_000)
    assert at_limit["size"] == 100_000
    streamed = await upload_response(alice, _chunks(100_000, size=7_000))
    assert streamed.status_code == 201
    assert streamed.json()["size"] == 100_000
    assert await count(server, Attachment.id) == 2


@pytest.mark.parametrize(
    ("data", "sent_type", "name"),
    [
        (files.HTML, "image/png", "page.png"),
        (files.EXE, "image/png", "setup.png"),
        (b"just some text", "image/jpeg", "photo.jpg"),
        (files.image("PNG")[:40] + b"\0" * 200, "image/png", "broken.png"),  # PNG magic, no PNG
        (b"\xff\xd8\xff\xe0" + b"junk" * 50, "image/jpeg", "broken.jpg"),
        (files.jpeg_with_exif(), "video/mp4", "video.mp4"),
        (files.HTML, "video/webm", "v.webm"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>",
            "image/svg+xml",
            "a.svg",
        ),
    ],
)
async def test_a_disguised_upload_is_refused_when_sent_as_media(
    server, make_user, data, sent_type, name
):
    alice = await make_user("alice")
    assert_error(await upload_response(alice, data, sent_type, name), 415, "unsupported_media_type")
    assert await count(server, Attachment.id) == 0


@pytest.mark.settings(max_image_pixels=10_000)
async def test_an_image_with_too_many_pixels_is_refused_before_decoding(server, make_user):
    alice = await make_user("alice")
    big = files.image("PNG", size=(101, 100))
    assert_error(await upload_response(alice, big, "image/png"), 413, "image_too_large")
    assert (
        await upload_response(alice, files.image("PNG", (100, 100)), "image/png")
    ).status_code == 201


async def test_only_the_uploader_sees_an_unsent_upload(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    view = await upload(alice, files.image("PNG"), "image/png")
    missing = assert_error(await bob.get(view["url"]), 404, "not_found")
    unknown = assert_error(await bob.get("/api/attachments/999999"), 404, "not_found")
    assert missing["code"] == unknown["code"]
    assert_error(await bob.get(view["thumbnail_url"]), 404, "not_found")
    assert_error(await bob.delete(view["url"]), 404, "not_found")
    assert (await alice.get(view["url"])).status_code == 200


async def test_once_sent_the_members_see_it_and_nobody_else(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    view = await upload(alice, files.image("PNG"), "image/png")
    await send_with(server, alice, group["id"], [view["id"]])
    for member in (alice, bob):
        assert (await member.get(view["url"])).status_code == 200
        assert (await member.get(view["thumbnail_url"])).status_code == 200
    assert_error(await carol.get(view["url"]), 404, "not_found")
    assert_error(await carol.get(view["thumbnail_url"]), 404, "not_found")
    # Sent: it can no longer be discarded as an upload.
    assert_error(await alice.delete(view["url"]), 404, "not_found")
    # A member who leaves (is removed) no longer gets it.
    removed = await alice.delete(f"/api/conversations/{group['id']}/members/{bob.id}")
    assert removed.status_code in (200, 204), removed.text
    assert_error(await bob.get(view["url"]), 404, "not_found")


async def test_an_unsent_upload_can_be_discarded(server, make_user):
    alice = await make_user("alice")
    view = await upload(alice, b"some file")
    assert (await alice.delete(view["url"])).status_code == 204
    assert_error(await alice.get(view["url"]), 404, "not_found")
    assert_error(await alice.delete(view["url"]), 404, "not_found")


async def test_uploading_needs_a_session(server):
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        response = await anonymous.post("/api/attachments", content=b"x")
        assert_error(response, 401)
        assert_error(await anonymous.get("/api/attachments/1"), 401)


async def test_ranges_are_served(server, make_user):
    alice = await make_user("alice")
    data = bytes(range(256)) * 8000  # 2 MB: across the database store's 1 MiB chunks
    view = await upload(alice, data, "application/octet-stream", "data.bin")

    async def get(range_header: str) -> httpx.Response:
        return await alice.get(view["url"], headers={"Range": range_header})

    part = await get("bytes=1048570-1048585")
    assert part.status_code == 206
    assert part.content == data[1048570:1048586]
    assert part.headers["content-range"] == f"bytes 1048570-1048585/{len(data)}"
    tail = await get("bytes=-10")
    assert (tail.status_code, tail.content) == (206, data[-10:])
    rest = await get(f"bytes={len(data) - 3}-")
    assert (rest.status_code, rest.content) == (206, data[-3:])
    whole = await get("bytes=0-1,5-9")
    assert (whole.status_code, whole.content) == (200, data)
    past = await get(f"bytes={len(data)}-")
    assert_error(past, 416, "range_not_satisfiable")
    assert past.headers["content-range"] == f"bytes */{len(data)}"


@pytest.mark.settings(rate_limit_upload="2/hour")
async def test_uploads_are_rate_limited(server, make_user):
    alice = await make_user("alice")
    for _ in range(2):
        await upload(alice, b"x")
    refused = assert_error(await upload_response(alice, b"x"), 429, "rate_limited")
    assert refused["detail"]


async def test_an_empty_file_is_a_file(server, make_user):
    alice = await make_user("alice")
    view: dict[str, Any] = await upload(alice, b"", None, "empty.txt")
    assert (view["size"], view["kind"]) == (0, "file")
    served = await alice.get(view["url"])
    assert (served.status_code, served.content) == (200, b"")
