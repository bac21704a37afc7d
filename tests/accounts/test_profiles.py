"""Profiles over HTTP: reading one, changing your name, bio and avatar, and ``user_updated``
reaching exactly those who show you (live and on a replay), on every process's session cache."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api_helpers import EventLog, assert_error
from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tests.support.sse import open_stream
from tidings.accounts.deps import Principal
from tidings.accounts.models import User
from tidings.accounts.sessions import SessionCache
from tidings.attachments import actions as attachment_actions
from tidings.db import utcnow


async def _circle(make_user: Any) -> dict[str, ApiUser]:
    """alice; bob her friend; carol in a group with alice (bob's group) but not her friend;
    dave a friend of bob's only; erin nobody's."""
    alice, bob, carol, dave, erin = [
        await make_user(n) for n in ("alice", "bob", "carol", "dave", "erin")
    ]
    await bob.befriend(alice)
    await bob.befriend(carol)
    await bob.befriend(dave)
    await bob.group("club", alice, carol)
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}


def _jpeg(width: int, height: int, *, orientation: int | None = None, **extra: Any) -> bytes:
    """A JPEG: left half red, right half blue (with an EXIF orientation and GPS if asked)."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    exif[0x010F] = "Camera maker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95, **extra)
    return out.getvalue()


def _close_to(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))


async def test_a_new_display_name_reaches_self_friends_and_co_members_once_not_others(
    server, make_user
):
    people = await _circle(make_user)
    alice = people["alice"]
    events = await EventLog.start(server)
    start = (await alice.ok("GET", "/api/conversations"))["last_event_id"]
    streams = {name: await open_stream(user.client) for name, user in people.items()}
    try:
        for stream in streams.values():
            assert (await stream.next()).event == "connected"
        body = await alice.ok("PATCH", "/api/users/me", {"display_name": "  Alice L.  "})
        assert body["user"]["display_name"] == "Alice L."
        assert body["bio"] == ""
        # Once each, though bob is both a friend and a co-member.
        audience = {"alice", "bob", "carol"}
        assert await events.new() == {name: ["user_updated"] for name in audience}
        for name in sorted(audience):
            frame = await streams[name].next()
            assert frame.event == "user_updated"
            assert frame.json["user"] == body["user"]
        # dave and erin got nothing: their next frames come from later writes for them.
        await people["bob"].dm(people["dave"])
        assert (await streams["dave"].next()).event == "conversation_update"
        await people["bob"].befriend(people["erin"])
        assert (await streams["erin"].next()).event == "friend_request"
    finally:
        for stream in streams.values():
            await stream.close()
    # A replay from before the change carries it, with the same id.
    replay = await open_stream(people["carol"].client, last_event_id=start)
    try:
        assert (await replay.next()).event == "connected"
        frame = await replay.next()
        assert frame.event == "user_updated"
        assert frame.json["user"]["display_name"] == "Alice L."
    finally:
        await replay.close()


async def test_the_bio_is_on_the_profile_only_and_announces_nothing(server, make_user):
    alice = await make_user("alice")
    events = await EventLog.start(server)
    body = await alice.ok("PATCH", "/api/users/me", {"bio": "  Hello\nthere  "})
    assert body == {"user": alice.user, "bio": "Hello\nthere"}
    assert await events.new() == {}
    profile = await alice.ok("GET", f"/api/users/{alice.id}")
    assert profile["bio"] == "Hello\nthere"
    assert (await alice.ok("PATCH", "/api/users/me", {"bio": ""}))["bio"] == ""
    # Nothing given: nothing changes.
    assert (await alice.ok("PATCH", "/api/users/me", {}))["user"] == alice.user


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"display_name": "   "}, id="blank-name"),
        pytest.param({"display_name": "x" * 65}, id="long-name"),
        # A right-to-left override would show "alice added bob" backwards around it.
        pytest.param({"display_name": "bob\u202e"}, id="bidi-override"),
        pytest.param({"display_name": "\u2067evil\u2069 me"}, id="bidi-isolate"),
        pytest.param({"bio": "x" * 301}, id="long-bio"),
        pytest.param({"bio": 5}, id="bio-not-text"),
        pytest.param({"avatar_key": "x"}, id="unknown-field"),
    ],
)
async def test_bad_profile_input_is_422(make_user, body):
    alice = await make_user("alice")
    response = await alice.client.patch("/api/users/me", json=body)
    assert_error(response, 422, "validation_error")


async def test_names_in_right_to_left_scripts_are_kept_as_written(make_user):
    alice = await make_user("alice")
    for name in ("שלום עולם", "مرحبا alice", "Zoë (she/her)"):
        body = await alice.ok("PATCH", "/api/users/me", {"display_name": name})
        assert body["user"]["display_name"] == name
    detail = (await alice.client.patch("/api/users/me", json={"display_name": "a\u202eb"})).text
    assert "directional control characters" in detail


async def test_a_cached_session_shows_the_change_at_once(make_user):
    alice = await make_user("alice")
    assert (await alice.ok("GET", "/api/auth/me"))["user"]["display_name"] == "alice"  # cached
    await alice.ok("PATCH", "/api/users/me", {"display_name": "Alice"})
    assert (await alice.ok("GET", "/api/auth/me"))["user"]["display_name"] == "Alice"


def test_the_session_cache_forgets_a_changed_users_sessions_only():
    cache = SessionCache(ttl_seconds=300)
    far = utcnow().replace(year=utcnow().year + 1)
    alice = Principal(User(id=1, username="alice"), "a")
    bob = Principal(User(id=2, username="bob"), "b")
    for key, who in (("a1", alice), ("a2", alice), ("b1", bob)):
        cache.put(key, who, far, cache.generation)
    generation = cache.generation
    cache.users_changed({1})
    assert cache.get("a1") is None
    assert cache.get("a2") is None
    assert cache.get("b1") is bob
    # A lookup begun before the change does not cache its (maybe stale) answer.
    cache.put("a1", alice, far, generation)
    assert cache.get("a1") is None
    cache.users_changed(None)
    assert cache.get("b1") is None


async def test_a_change_drops_the_cached_session_on_another_process(server, make_user):
    """The control travels through the broker: a second server on the same database and Redis
    serves the new name at once, though it had cached the old."""
    if server.settings.redis_url is None:
        pytest.skip("one process without a broker (in-memory hub)")
    alice = await make_user("alice")
    other = LiveServer(server.settings)
    await other.start()
    heard = asyncio.Event()
    other.ctx.hub.users_changed_listeners.append(
        lambda ids: heard.set() if alice.id in ids else None
    )
    cookie = {"tidings_session": alice.client.cookies["tidings_session"]}
    try:
        async with httpx.AsyncClient(base_url=other.url, cookies=cookie, timeout=30) as there:
            first = await there.get("/api/auth/me")
            assert first.json()["user"]["display_name"] == "alice"  # now cached there
            await alice.ok("PATCH", "/api/users/me", {"display_name": "Alice"})
            async with asyncio.timeout(10):
                await heard.wait()
            again = await there.get("/api/auth/me")
            assert again.json()["user"]["display_name"] == "Alice"
    finally:
        await other.stop()


async def test_an_avatar_is_a_square_256_px_webp_without_exif_upright(server, make_user):
    people = await _circle(make_user)
    alice, erin = people["alice"], people["erin"]
    events = await EventLog.start(server)
    # 400x200 stored, EXIF orientation 6: shown 200x400, red on top, blue below.
    photo = _jpeg(400, 200, orientation=6)
    response = await alice.client.put(
        "/api/users/me/avatar", content=photo, headers={"content-type": "image/jpeg"}
    )
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    key = user["avatar_url"].removeprefix("/api/avatars/")
    assert user["avatar_url"] == f"/api/avatars/{key}" and len(key) == 64
    assert await events.new() == {n: ["user_updated"] for n in ("alice", "bob", "carol")}
    # Anyone signed in may fetch it (erin shares nothing with alice).
    served = await erin.get(user["avatar_url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "private, max-age=31536000, immutable"
    with Image.open(io.BytesIO(served.content)) as avatar:
        assert avatar.format == "WEBP"
        assert avatar.size == (256, 256)
        assert "exif" not in avatar.info
        assert not avatar.getexif()
        rgb = avatar.convert("RGB")
        assert _close_to(rgb.getpixel((200, 30)), (255, 0, 0))  # upright: red on top
        assert _close_to(rgb.getpixel((56, 225)), (0, 0, 255))
    # The same picture again: the same key, nothing announced.
    again = await alice.client.put("/api/users/me/avatar", content=photo)
    assert again.json()["user"]["avatar_url"] == user["avatar_url"]
    assert await events.new() == {}
    # Removed: announced, and no longer served.
    removed = await alice.ok("DELETE", "/api/users/me/avatar")
    assert removed["user"]["avatar_url"] is None
    assert await events.new() == {n: ["user_updated"] for n in ("alice", "bob", "carol")}
    assert_error(await erin.get(user["avatar_url"]), 404, "not_found")


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
async def test_other_image_types_make_avatars_too(make_user, fmt):
    alice = await make_user("alice")
    image = Image.new("RGBA" if fmt != "GIF" else "P", (300, 500))
    out = io.BytesIO()
    image.save(out, fmt)
    response = await alice.client.put("/api/users/me/avatar", content=out.getvalue())
    assert response.status_code == 200, response.text
    served = await alice.get(response.json()["user"]["avatar_url"])
    with Image.open(io.BytesIO(served.content)) as avatar:
        assert (avatar.format, avatar.size) == ("WEBP", (256, 256))


async def test_not_an_image_is_415(make_user):
    alice = await make_user("alice")
    for body, content_type in [
        (b"%PDF-1.4 not an image", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png"),  # a PNG that does not decode
        (b"", "image/jpeg"),
    ]:
        response = await alice.client.put(
            "/api/users/me/avatar", content=body, headers={"content-type": content_type}
        )
        assert_error(response, 415, "not_an_image")
    assert (await alice.ok("GET", "/api/auth/me"))["user"]["avatar_url"] is None


@pytest.mark.settings(max_avatar_bytes=50_000, max_image_pixels=1_000_000)
async def test_too_large_avatars_are_413(make_user):
    alice = await make_user("alice")
    big = _jpeg(2000, 2000, subsampling=0)
    assert len(big) > 50_000
    response = await alice.client.put("/api/users/me/avatar", content=big)
    assert_error(response, 413, "body_too_large")
    # Small in bytes, too many pixels.
    many = io.BytesIO()
    Image.new("L", (1200, 1000)).save(many, "PNG")
    assert len(many.getvalue()) < 50_000
    response = await alice.client.put("/api/users/me/avatar", content=many.getvalue())
    assert_error(response, 413, "image_too_large")


async def test_avatars_need_a_session_and_a_held_key(server, make_user):
    alice = await make_user("alice")
    assert_error(await alice.get("/api/avatars/" + "0" * 64), 404, "not_found")
    assert_error(await alice.get("/api/avatars/nothex"), 404, "not_found")
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        assert_error(await anonymous.get("/api/avatars/" + "0" * 64), 401)


async def test_a_profile_as_others_see_it(make_user):
    people = await _circle(make_user)
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    await alice.ok("PATCH", "/api/users/me", {"bio": "hi"})
    dm = await bob.dm(alice)
    seen_by_bob = await bob.ok("GET", f"/api/users/{alice.id}")
    assert seen_by_bob["user"]["id"] == alice.id
    assert seen_by_bob["bio"] == "hi"
    assert seen_by_bob["is_friend"] is True
    assert seen_by_bob["friend_request"] is None
    assert [g["name"] for g in seen_by_bob["mutual_groups"]] == ["club"]
    assert seen_by_bob["direct_conversation_id"] == dm["id"]
    assert seen_by_bob["created_at"]
    seen_by_carol = await carol.ok("GET", f"/api/users/{alice.id}")
    assert seen_by_carol["is_friend"] is False
    assert seen_by_carol["direct_conversation_id"] is None
    assert [g["name"] for g in seen_by_carol["mutual_groups"]] == ["club"]
    request = await dave.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    by_dave = await dave.ok("GET", f"/api/users/{alice.id}")
    assert by_dave["friend_request"] == {"id": request["request"]["id"], "direction": "outgoing"}
    assert by_dave["mutual_groups"] == []
    by_alice = await alice.ok("GET", f"/api/users/{dave.id}")
    assert by_alice["friend_request"] == {"id": request["request"]["id"], "direction": "incoming"}
    assert_error(await alice.get("/api/users/99999"), 404, "unknown_user")
    assert_error(await alice.get("/api/users/0"), 422, "validation_error")


async def test_the_sweep_keeps_a_shown_avatar_and_takes_one_nobody_shows(server, make_user):
    alice = await make_user("alice")
    response = await alice.client.put("/api/users/me/avatar", content=_jpeg(64, 64))
    url = response.json()["user"]["avatar_url"]
    key = url.removeprefix("/api/avatars/")
    store = server.ctx.attachment_store

    async def sweep() -> None:
        # Long after the upload: only what an avatar column holds survives.
        later = utcnow() + timedelta(days=2)
        await attachment_actions.sweep(server.ctx.db, store, now=later, orphan_age=timedelta(0))

    await sweep()
    assert await store.contains(key)
    assert (await alice.get(url)).status_code == 200
    await alice.ok("DELETE", "/api/users/me/avatar")
    await sweep()
    assert not await store.contains(key)


async def test_a_new_display_name_is_found_by_search(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.ok("PATCH", "/api/users/me", {"display_name": "Wilhelmina Quux"})
    found = await bob.ok("GET", "/api/users?q=wilhelmina")
    assert [u["id"] for u in found] == [alice.id]
    assert found[0]["display_name"] == "Wilhelmina Quux"
