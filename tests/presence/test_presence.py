"""Presence on a real server: streams opening and closing make people online, away and offline
for those who may see it, live and on request; a reconnect within the grace period is seen by
nobody; presence is never logged or replayed.

"Nothing else arrived" is proven with a barrier: a durable message sent after the moment under
test; a stream delivers in order, so whatever came before it came before the barrier.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.api_helpers import friends
from tests.conftest import MakeUser
from tests.support.api import PASSWORD, ApiUser
from tests.support.sse import EventStreamReader, SSEFrame, open_stream


async def next_attention(stream: EventStreamReader, timeout: float = 10) -> SSEFrame:
    """The next frame that is an event (presence, typing and receipts included), past the
    stream's opening ``connected``."""
    while True:
        frame = await stream.next(timeout, attention=True)
        if frame.event != "connected":
            return frame


async def presence_of(viewer: ApiUser, *users: ApiUser) -> dict[int, dict[str, object]]:
    query = "&".join(f"user_id={u.id}" for u in users)
    body = await viewer.ok("GET", f"/api/presence?{query}")
    return {p["user_id"]: p for p in body["presence"]}


async def barrier(sender: ApiUser, stream: EventStreamReader, dm: int) -> list[SSEFrame]:
    """Send a message and return every event ``stream`` got before it (ephemeral included)."""
    sent = await sender.send(dm, "barrier")
    before = []
    while True:
        frame = await next_attention(stream)
        if frame.event == "message" and frame.json["message"]["id"] == sent["id"]:
            return before
        before.append(frame)


@pytest.mark.settings(presence_grace_seconds=0.2)
async def test_a_friend_comes_online_and_goes_offline_after_the_grace_period(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bobs = await open_stream(bob.client)
    assert (await presence_of(bob, alice))[alice.id]["status"] == "offline"

    alices = await open_stream(alice.client)
    online = await next_attention(bobs)
    assert online.event == "presence"
    assert online.id is None  # ephemeral: no id, so the browser's Last-Event-ID stays
    assert online.json == {
        "type": "presence",
        "user_id": alice.id,
        "status": "online",
        "last_seen_at": None,
    }
    assert (await presence_of(bob, alice))[alice.id] == {
        "user_id": alice.id,
        "status": "online",
        "last_seen_at": None,
    }

    await alices.close()
    offline = await next_attention(bobs)
    assert offline.json["status"] == "offline"
    assert offline.json["last_seen_at"] is not None
    seen = await presence_of(bob, alice)
    assert seen[alice.id]["status"] == "offline"
    assert seen[alice.id]["last_seen_at"] == offline.json["last_seen_at"]
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=30)
async def test_a_reconnect_within_the_grace_period_announces_nothing(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert (await next_attention(bobs)).json["status"] == "online"

    for _ in range(3):  # a flapping network, a reload
        await alices.close()
        alices = await open_stream(alice.client)
    # A second tab, and its end, change nothing either.
    second = await open_stream(alice.client)
    await second.close()

    assert await barrier(alice, bobs, dm) == []
    assert (await presence_of(bob, alice))[alice.id]["status"] == "online"
    await alices.close()
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=0.2)
async def test_presence_is_never_replayed(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    bobs = await open_stream(bob.client)
    await bob.send(dm, "before")
    before = await next_attention(bobs)
    assert before.event == "message" and before.id is not None
    alices = await open_stream(alice.client)
    assert (await next_attention(bobs)).event == "presence"
    await alices.close()
    assert (await next_attention(bobs)).json["status"] == "offline"
    await alice.send(dm, "after")
    await bobs.close()

    # Bob resumes from before all of it: the message replays, the presence changes do not.
    resumed = await open_stream(bob.client, last_event_id=before.id)
    frames = []
    while True:
        frame = await next_attention(resumed)
        frames.append(frame)
        if frame.event == "message" and frame.json["message"]["content"] == "after":
            break
    assert "presence" not in [f.event for f in frames]
    await resumed.close()


async def test_strangers_see_nothing_and_learn_nothing(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    stranger = await make_user("mallory")
    await stranger.befriend(bob)
    dm = (await bob.dm(stranger))["id"]
    strangers = await open_stream(stranger.client)
    alices = await open_stream(alice.client)
    assert (await presence_of(bob, alice))[alice.id]["status"] == "online"
    assert (await presence_of(stranger, alice))[alice.id] == {
        "user_id": alice.id,
        "status": "offline",
        "last_seen_at": None,
    }
    assert await barrier(bob, strangers, dm) == []
    await alices.close()
    await strangers.close()


async def next_presence(stream: EventStreamReader) -> dict[str, object]:
    """The next ``presence`` event's data, past whatever durable events come before it."""
    while True:
        frame = await next_attention(stream)
        if frame.event == "presence":
            assert frame.id is None
            return dict(frame.json)


@pytest.mark.settings(presence_grace_seconds=30)
async def test_a_block_hides_each_one_s_presence_from_the_other_at_once(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]  # they keep showing each other (the DM stays listed)
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert (await next_presence(bobs))["status"] == "online"
    await barrier(bob, alices, dm)  # whether Alice's stream heard of Bob's coming or not

    # Blocking: each one's tabs are told the other is offline, no "last seen" (they would
    # otherwise show the status they last heard of, until their next connect).
    await alice.ok("PUT", f"/api/blocks/{bob.id}")
    offline = {"type": "presence", "status": "offline", "last_seen_at": None}
    assert await next_presence(bobs) == offline | {"user_id": alice.id}
    assert await next_presence(alices) == offline | {"user_id": bob.id}
    assert (await presence_of(bob, alice))[alice.id]["status"] == "offline"

    # Unblocking: each sees the other as they are again.
    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
    assert (await next_presence(bobs))["status"] == "online"
    assert await next_presence(alices) == {
        "type": "presence",
        "user_id": bob.id,
        "status": "online",
        "last_seen_at": None,
    }

    # Someone who hides their presence stays as the block showed them: nothing at the unblock.
    await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": True})
    assert (await next_presence(bobs))["status"] == "offline"
    await bob.ok("PUT", f"/api/blocks/{alice.id}")
    assert await next_presence(bobs) == offline | {"user_id": alice.id}
    assert await next_presence(alices) == offline | {"user_id": bob.id}
    await bob.ok("DELETE", f"/api/blocks/{alice.id}", status=204)
    assert await next_presence(alices) == {
        "type": "presence",
        "user_id": bob.id,
        "status": "online",
        "last_seen_at": None,
    }
    assert "presence" not in [f.event for f in await barrier(alice, bobs, dm)]
    await alices.close()
    await bobs.close()


@pytest.mark.settings(presence_away_seconds=0.3)
async def test_without_activity_a_user_is_away_until_they_use_the_app(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert (await next_attention(bobs)).json["status"] == "online"
    away = await next_attention(bobs)
    assert away.json == {
        "type": "presence",
        "user_id": alice.id,
        "status": "away",
        "last_seen_at": None,
    }
    response = await alice.post("/api/presence/active")
    assert response.status_code == 204
    assert (await next_attention(bobs)).json["status"] == "online"
    await alices.close()
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=30)
async def test_hiding_presence_shows_you_offline_at_once_and_showing_it_again_online(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert (await next_attention(bobs)).json["status"] == "online"

    settings = await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": True})
    assert settings["hide_presence"] is True
    hidden = await next_attention(bobs)
    assert hidden.json == {
        "type": "presence",
        "user_id": alice.id,
        "status": "offline",
        "last_seen_at": None,
    }
    assert (await presence_of(bob, alice))[alice.id]["status"] == "offline"
    # Alice's own tabs get her settings (durable, with an id); Bob's do not.
    changed = await alices.next()
    changed = await alices.next() if changed.event == "connected" else changed
    assert changed.event == "settings_updated" and changed.id is not None
    assert changed.json["settings"]["hide_presence"] is True

    await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": False})
    assert (await next_attention(bobs)).json["status"] == "online"
    await alices.close()
    await bobs.close()


async def test_presence_requests_are_bounded_and_validated(make_user: MakeUser) -> None:
    alice = await make_user("alice")
    too_many = "&".join(f"user_id={i}" for i in range(1, 202))
    assert (await alice.get(f"/api/presence?{too_many}")).status_code == 422
    assert (await alice.get("/api/presence")).status_code == 422
    assert (await alice.get("/api/presence?user_id=0")).status_code == 422
    unknown = await alice.ok("GET", "/api/presence?user_id=999999")
    assert unknown["presence"] == [{"user_id": 999999, "status": "offline", "last_seen_at": None}]
    anonymous = await alice.client.post("/api/auth/logout")
    assert anonymous.status_code in (200, 204)
    assert (await alice.get(f"/api/presence?user_id={alice.id}")).status_code == 401


@pytest.mark.settings(presence_grace_seconds=0.2)
async def test_what_happened_while_presence_was_hidden_stays_hidden(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    alices = await open_stream(alice.client)
    await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": True})
    await alices.close()  # she leaves while hidden: nobody may learn when
    # Nobody is told (she is hidden): there is no event to await. She sees herself, and
    # asks until she is offline.
    async with asyncio.timeout(10):
        while (await presence_of(alice, alice))[alice.id]["status"] != "offline":  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    bobs = await open_stream(bob.client)
    await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": False})
    assert (await presence_of(bob, alice))[alice.id] == {
        "user_id": alice.id,
        "status": "offline",
        "last_seen_at": None,
    }
    await bobs.close()


@pytest.mark.settings(presence_grace_seconds=0.2)
async def test_a_deleted_account_goes_offline_with_no_last_seen(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    await alice.dm(bob)  # their DM stays, with its history: Bob still shows her
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    assert (await next_presence(bobs))["status"] == "online"
    await alice.ok("DELETE", "/api/users/me", {"password": PASSWORD}, 204)
    assert await next_presence(bobs) == {
        "type": "presence",
        "user_id": alice.id,
        "status": "offline",
        "last_seen_at": None,
    }
    await alices.close()
    await bobs.close()
