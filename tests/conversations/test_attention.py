"""Typing signals, read receipts and settings on a real server: who gets what, live; what is
asked for after a reconnect; and that typing and receipts are never logged or replayed."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error, friends
from tests.conftest import MakeUser
from tests.presence.test_presence import barrier, next_attention
from tests.support.api import PASSWORD
from tests.support.sse import open_stream


async def test_typing_reaches_the_other_members_only_and_never_replays(
    make_user: MakeUser,
) -> None:
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = (await alice.group("Book club", bob, carol))["id"]
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    before = await bob.send(group, "before")
    mark = next(f for f in [await next_attention(bobs) for _ in range(2)] if f.event == "message")
    assert mark.json["message"]["id"] == before["id"]

    response = await alice.post(f"/api/conversations/{group}/typing")
    assert response.status_code == 204
    typing = await next_attention(bobs)
    assert typing.event == "typing" and typing.id is None
    assert typing.json["conversation_id"] == group
    assert typing.json["user"]["username"] == "alice"
    assert typing.json["active"] is True and typing.json["expires_in_ms"] > 0

    await alice.ok("POST", f"/api/conversations/{group}/typing", {"active": False}, 204)
    stopped = await next_attention(bobs)
    assert stopped.event == "typing"
    assert stopped.json["active"] is False and stopped.json["expires_in_ms"] == 0

    # Alice's own tabs get nothing of her typing (only the barrier's message).
    dm = (await bob.dm(alice))["id"]
    assert "typing" not in [f.event for f in await barrier(bob, alices, dm)]

    await bobs.close()
    resumed = await open_stream(bob.client, last_event_id=mark.id)
    replayed = []
    while (frame := await next_attention(resumed)).event != "message" or frame.json["message"][
        "conversation_id"
    ] != dm:
        replayed.append(frame.event)
    assert "typing" not in replayed
    await resumed.close()
    await alices.close()


async def test_typing_needs_membership_and_a_conversation_that_takes_messages(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    stranger = await make_user("mallory")
    dm = (await alice.dm(bob))["id"]
    assert_error(await stranger.post(f"/api/conversations/{dm}/typing"), 404)
    assert_error(await alice.post("/api/conversations/999999/typing"), 404)
    bad = await alice.post(f"/api/conversations/{dm}/typing", json={"active": "maybe"})
    assert_error(bad, 422)
    await bob.ok("DELETE", "/api/users/me", {"password": PASSWORD}, 204)
    assert_error(await alice.post(f"/api/conversations/{dm}/typing"), 409, "user_deleted")


@pytest.mark.settings(presence_group_limit=2)
async def test_no_typing_or_receipts_are_sent_live_in_a_large_group(make_user: MakeUser) -> None:
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = (await alice.group("Big", bob, carol))["id"]
    dm = (await alice.dm(bob))["id"]
    said = await bob.send(group, "hi")
    bobs = await open_stream(bob.client)
    await alice.ok("POST", f"/api/conversations/{group}/typing", None, 204)
    await alice.ok("POST", f"/api/conversations/{group}/read", None)
    assert [f.event for f in await barrier(alice, bobs, dm)] == []
    # The receipts are there to ask for.
    receipts = await bob.ok("GET", f"/api/conversations/{group}/receipts")
    assert {"user_id": alice.id, "last_read_message_id": said["id"]} in receipts["receipts"]
    await bobs.close()


@pytest.mark.settings(presence_group_limit=2)
async def test_a_large_groups_receipts_list_only_those_furthest_ahead(make_user: MakeUser) -> None:
    alice, bob, carol, dan = await friends(make_user, "alice", "bob", "carol", "dan")
    group = (await alice.group("Big", bob, carol, dan))["id"]
    path = f"/api/conversations/{group}/receipts"
    first = await alice.send(group, "one")
    last = await alice.send(group, "two")
    await carol.ok("POST", f"/api/conversations/{group}/read", {"message_id": first["id"]})
    await bob.ok("POST", f"/api/conversations/{group}/read", None)
    # Two of the others read: listed, complete.
    assert await alice.ok("GET", path) == {
        "receipts": [
            {"user_id": bob.id, "last_read_message_id": last["id"]},
            {"user_id": carol.id, "last_read_message_id": first["id"]},
        ],
        "complete": True,
    }
    # A third: the two furthest ahead, and the list says there are more.
    await dan.ok("POST", f"/api/conversations/{group}/read", None)
    receipts = await alice.ok("GET", path)
    assert receipts["complete"] is False
    assert [r["user_id"] for r in receipts["receipts"]] == sorted([bob.id, dan.id])
    # Blocked people are left out before counting, not after.
    await alice.ok("PUT", f"/api/blocks/{dan.id}")
    assert [r["user_id"] for r in (await alice.ok("GET", path))["receipts"]] == [bob.id, carol.id]


async def test_a_read_receipt_reaches_the_dm_partner_and_is_there_to_ask_for(
    make_user: MakeUser,
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    alices = await open_stream(alice.client)
    sent = await alice.send(dm, "hello")
    assert (await bob.ok("GET", f"/api/conversations/{dm}/receipts"))["receipts"] == [
        {"user_id": alice.id, "last_read_message_id": sent["id"]}
    ]
    assert (await alice.ok("GET", f"/api/conversations/{dm}/receipts"))["receipts"] == []

    await bob.ok("POST", f"/api/conversations/{dm}/read", None)
    receipt = None
    while receipt is None:
        frame = await next_attention(alices)
        if frame.event == "read_receipt":
            receipt = frame
    assert receipt.id is None
    assert receipt.json == {
        "type": "read_receipt",
        "conversation_id": dm,
        "user_id": bob.id,
        "last_read_message_id": sent["id"],
    }
    assert (await alice.ok("GET", f"/api/conversations/{dm}/receipts"))["receipts"] == [
        {"user_id": bob.id, "last_read_message_id": sent["id"]}
    ]
    # Reading again moves nothing: no second receipt.
    await bob.ok("POST", f"/api/conversations/{dm}/read", None)
    assert [f.event for f in await barrier(bob, alices, dm)] == []
    await alices.close()


async def test_turning_receipts_off_sends_none_and_shows_none(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    await bob.ok("PATCH", "/api/users/me/settings", {"send_read_receipts": False})
    alices = await open_stream(alice.client)
    await alice.send(dm, "hello")
    await bob.ok("POST", f"/api/conversations/{dm}/read", None)
    assert [f.event for f in await barrier(bob, alices, dm) if f.event != "message"] == []
    assert (await alice.ok("GET", f"/api/conversations/{dm}/receipts"))["receipts"] == []
    outsider = await make_user("outsider")
    assert_error(await outsider.get(f"/api/conversations/{dm}/receipts"), 404)
    await alices.close()


async def test_settings_are_read_changed_in_part_and_reach_every_tab(make_user: MakeUser) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    assert await alice.ok("GET", "/api/users/me/settings") == {
        "hide_presence": False,
        "send_read_receipts": True,
        "desktop_notifications": True,
        "notification_sound": True,
        "theme": "system",
    }
    tabs = [await open_stream(alice.client) for _ in range(2)]
    bobs = await open_stream(bob.client)
    changed = await alice.ok("PATCH", "/api/users/me/settings", {"notification_sound": False})
    assert changed["notification_sound"] is False and changed["desktop_notifications"] is True
    for tab in tabs:
        frame = await tab.next()
        frame = await tab.next() if frame.event == "connected" else frame
        assert frame.event == "settings_updated"
        assert frame.json["settings"] == changed
    # Changing nothing tells nobody; bad values are refused.
    await alice.ok("PATCH", "/api/users/me/settings", {"notification_sound": False})
    assert_error(await alice.client.patch("/api/users/me/settings", json={"hide_presence": 3}), 422)
    assert_error(await alice.client.patch("/api/users/me/settings", json={"volume": 3}), 422)
    assert_error(await alice.client.patch("/api/users/me/settings", json={"theme": "sepia"}), 422)
    dm = (await alice.dm(bob))["id"]
    before = [f.event for f in await barrier(alice, tabs[0], dm) if f.event != "presence"]
    assert before == ["conversation_update"]  # the DM's creation; no second settings_updated
    assert "settings_updated" not in [f.event for f in await barrier(alice, bobs, dm)]
    for tab in [*tabs, bobs]:
        await tab.close()


async def test_the_colour_scheme_is_kept_and_the_app_page_is_rendered_with_it(
    make_user: MakeUser,
) -> None:
    alice = await make_user("alice")
    page = await alice.client.get("/")
    assert '<html lang="en" data-theme="system">' in page.text
    changed = await alice.ok("PATCH", "/api/users/me/settings", {"theme": "dark"})
    assert changed["theme"] == "dark" and changed["notification_sound"] is True
    assert (await alice.ok("GET", "/api/users/me/settings"))["theme"] == "dark"
    page = await alice.client.get("/")
    assert '<html lang="en" data-theme="dark">' in page.text


@pytest.mark.settings(rate_limit_attention="3/minute")
async def test_settings_changes_are_rate_limited(make_user: MakeUser) -> None:
    """Hiding and showing your presence in a loop would send every friend (and member of a
    small shared group) a presence event each time, and log a settings_updated each time."""
    alice, bob = await friends(make_user, "alice", "bob")
    for hidden in (True, False, True):
        await alice.ok("PATCH", "/api/users/me/settings", {"hide_presence": hidden})
    response = await alice.client.patch("/api/users/me/settings", json={"hide_presence": False})
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    assert (await alice.ok("GET", "/api/users/me/settings"))["hide_presence"] is True
    # Bob's budget is his own.
    await bob.ok("PATCH", "/api/users/me/settings", {"notification_sound": False})
