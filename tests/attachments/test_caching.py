"""Files are cached privately for good: a URL must never show other bytes, and a signed-out
browser must not keep showing the previous user's files."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, friends
from tests.attachments import files
from tests.attachments.helpers import upload
from tests.attachments.test_routes import assert_file_headers


async def test_an_id_is_never_reused_after_a_discard(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    first = await upload(alice, b"alice's private file", None, "one.txt")
    assert (await alice.delete(first["url"])).status_code == 204
    second = await upload(bob, b"bob's file", None, "two.txt")
    assert second["id"] > first["id"]
    assert second["url"] != first["url"]
    assert_error(await bob.get(first["url"]), 404, "not_found")


async def test_an_id_is_never_reused_after_its_message_is_deleted(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    red = await upload(alice, files.image("PNG", (10, 10)), "image/png", "red.png")
    sent = await alice.ok(
        "POST",
        f"/api/conversations/{group['id']}/messages",
        {"content": "", "attachment_ids": [red["id"]]},
        201,
    )
    served = await bob.get(red["url"])
    assert_file_headers(served, "image/png", "inline")
    deleted = await alice.delete(
        f"/api/conversations/{group['id']}/messages/{sent['message']['id']}"
    )
    assert deleted.status_code in (200, 204), deleted.text
    assert_error(await bob.get(red["url"]), 404, "not_found")
    # The next upload, by anyone, gets a new URL: bob's cached copy of the old one stays
    # the old file, never someone else's.
    dm = await carol.ok("POST", "/api/conversations", {"type": "direct", "user_id": alice.id}, 201)
    blue = await upload(carol, files.image("PNG", (12, 12)), "image/png", "blue.png")
    await carol.ok(
        "POST",
        f"/api/conversations/{dm['id']}/messages",
        {"content": "", "attachment_ids": [blue["id"]]},
        201,
    )
    assert blue["id"] > red["id"]


@pytest.mark.parametrize("path", ["/api/auth/logout", "/api/auth/logout-everywhere"])
async def test_signing_out_clears_the_browsers_cache(server, make_user, path):
    alice = await make_user("alice")
    response = await alice.post(path)
    assert response.status_code == 204
    assert response.headers["clear-site-data"] == '"cache"'
    assert_error(await alice.get("/api/auth/me"), 401)


async def test_head_answers_as_get_without_the_body(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    view = await upload(alice, files.image("PNG"), "image/png", "shot.png")
    for url in (view["url"], view["thumbnail_url"]):
        got = await alice.get(url)
        head = await alice.client.head(url)
        assert head.status_code == 200
        assert head.content == b""
        assert_file_headers(head, got.headers["content-type"], "inline")
        assert head.headers["content-length"] == got.headers["content-length"]
        part = await alice.client.head(url, headers={"Range": "bytes=0-9"})
        assert (part.status_code, part.headers["content-length"]) == (206, "10")
        assert (await bob.client.head(url)).status_code == 404


async def test_a_range_header_too_long_is_ignored(server, make_user):
    alice = await make_user("alice")
    data = bytes(range(256)) * 4
    view = await upload(alice, data, None, "data.bin")
    long_range = "bytes=" + "0" * 300 + "1-2"
    whole = await alice.get(view["url"], headers={"Range": long_range})
    assert (whole.status_code, whole.content) == (200, data)
    part = await alice.get(view["url"], headers={"Range": "bytes=0001-2"})
    assert (part.status_code, part.content) == (206, data[1:3])
