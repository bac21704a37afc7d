"""Muting a conversation over HTTP: for a time or until unmuted, for its member alone; the
limits of ``until``; the event to the member's own tabs (a real stream); a mention still
notifies; a timed mute ends by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import update

from tests.api_helpers import EventLog, assert_error, friends
from tests.support.sse import open_stream
from tidings.conversations.models import ConversationMember
from tidings.realtime.transaction import Transaction

FOREVER = "9999-12-31T00:00:00Z"


def _mute_path(conversation: dict[str, Any]) -> str:
    return f"/api/conversations/{conversation['id']}/mute"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_mute_until_unmuted_then_unmute(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    assert dm["muted_until"] is None
    events = await EventLog.start(server)

    muted = await alice.ok("PUT", _mute_path(dm), {"until": None})
    assert _parse(muted["muted_until"]) == _parse(FOREVER)
    assert muted["id"] == dm["id"] and muted["members"]
    assert await events.new() == {"alice": ["conversation_update"]}  # bob is not told
    [event] = events.payloads["alice"]
    assert event.reason == "muted"
    assert event.conversation.muted_until == _parse(FOREVER)
    assert event.conversation.members is None
    assert event.conversation.unread_count == 0  # the member's own state, as "read" carries
    assert (await alice.ok("GET", f"/api/conversations/{dm['id']}"))["muted_until"] == (
        muted["muted_until"]
    )
    assert (await bob.ok("GET", f"/api/conversations/{dm['id']}"))["muted_until"] is None

    # Muted, it still counts unread messages.
    await bob.send(dm["id"], "still counted")
    listed = (await alice.ok("GET", "/api/conversations"))["conversations"]
    assert [(c["unread_count"], c["muted_until"]) for c in listed] == [(1, muted["muted_until"])]
    await events.new()

    await alice.ok("PUT", _mute_path(dm), {})  # no body field: until unmuted, unchanged
    assert await events.new() == {}
    unmuted = await alice.ok("DELETE", _mute_path(dm))
    assert unmuted["muted_until"] is None
    assert await events.new() == {"alice": ["conversation_update"]}
    assert events.payloads["alice"][0].conversation.muted_until is None
    await alice.ok("DELETE", _mute_path(dm))  # not muted: nothing
    assert await events.new() == {}


async def test_a_timed_mute(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    group = await alice.group("g", bob)
    until = (datetime.now(UTC) + timedelta(hours=8)).replace(microsecond=0)
    events = await EventLog.start(server)
    muted = await bob.ok("PUT", _mute_path(group), {"until": until.isoformat()})
    assert _parse(muted["muted_until"]) == until
    assert await events.new() == {"bob": ["conversation_update"]}
    assert events.payloads["bob"][0].conversation.muted_until == until
    # Another offset, the same instant: nothing changes.
    same = until.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    await bob.ok("PUT", _mute_path(group), {"until": same})
    assert await events.new() == {}
    # Until unmuted instead of timed.
    await bob.ok("PUT", _mute_path(group), {"until": None})
    assert await events.new() == {"bob": ["conversation_update"]}


async def test_a_mute_given_with_an_offset_is_answered_and_announced_in_utc(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    group = await alice.group("g", bob)
    until = (datetime.now(UTC) + timedelta(hours=8)).replace(microsecond=0)
    far_east = until.astimezone(timezone(timedelta(hours=14))).isoformat()
    events = await EventLog.start(server)
    muted = await bob.ok("PUT", _mute_path(group), {"until": far_east})
    listed = await bob.ok("GET", f"/api/conversations/{group['id']}")
    # The answer and the stored event say it as the snapshot does (not in the asker's offset).
    assert muted["muted_until"] == listed["muted_until"] == until.isoformat().replace("+00:00", "Z")
    assert await events.new() == {"bob": ["conversation_update"]}
    assert events.payloads["bob"][0].conversation.muted_until.utcoffset() == timedelta(0)


async def test_the_limits_of_until(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    now = datetime.now(UTC)
    for until, code in [
        ((now - timedelta(minutes=1)).isoformat(), "mute_until_invalid"),
        ((now + timedelta(days=400)).isoformat(), "mute_until_invalid"),
        ("2030-01-01T10:00:00", "validation_error"),  # no offset: whose 10:00?
        (1893456000, "validation_error"),  # a number is not a date-time
        ("1893456000", "validation_error"),  # nor a string of digits
        ("next week", "validation_error"),
    ]:
        response = await alice.client.put(_mute_path(dm), json={"until": until})
        body = assert_error(response, 422, code)
        assert body["detail"], body
    past = await alice.client.put(_mute_path(dm), json={"until": "2001-01-01T00:00:00Z"})
    assert "past" in assert_error(past, 422)["detail"]
    assert (await alice.ok("GET", f"/api/conversations/{dm['id']}"))["muted_until"] is None


async def test_only_members_mute(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    carol = await make_user("carol")
    dm = await alice.dm(bob)
    assert_error(await carol.client.put(_mute_path(dm), json={"until": None}), 404)
    assert_error(await carol.delete(_mute_path(dm)), 404)
    assert_error(await carol.client.put("/api/conversations/99999/mute", json={}), 404)


async def test_a_mention_in_a_muted_conversation_still_notifies(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = await alice.group("g", bob, carol)
    await bob.ok("PUT", _mute_path(group), {"until": None})
    events = await EventLog.start(server)
    await carol.send(group["id"], "nothing for bob's bell")
    assert "notification" not in (await events.new()).get("bob", [])
    await alice.send(group["id"], "@bob see this")
    assert (await events.new())["bob"] == ["message", "notification"]
    [_, notification] = events.payloads["bob"]
    assert notification.notification.type == "mention"


async def test_a_timed_mute_that_has_passed_shows_as_none(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    await alice.ok("PUT", _mute_path(dm), {"until": soon.isoformat()})

    def end_it(tx: Transaction) -> None:  # as if five minutes had passed
        tx.session.execute(
            update(ConversationMember)
            .where(ConversationMember.user_id == alice.id)
            .values(muted_until=datetime.now(UTC) - timedelta(seconds=1))
        )

    await server.ctx.writer.run(end_it)
    assert (await alice.ok("GET", f"/api/conversations/{dm['id']}"))["muted_until"] is None
    listed = (await alice.ok("GET", "/api/conversations"))["conversations"]
    assert listed[0]["muted_until"] is None
    # Muting again is a change: the view said it was not muted.
    events = await EventLog.start(server)
    await alice.ok("PUT", _mute_path(dm), {"until": soon.isoformat()})
    assert await events.new() == {"alice": ["conversation_update"]}


async def test_the_mute_event_reaches_the_member_s_tabs_only(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    group = await alice.group("g", bob)
    tabs = {
        "alice 1": await open_stream(alice.client),
        "alice 2": await open_stream(alice.client),
        "bob": await open_stream(bob.client),
    }
    try:
        for tab in tabs.values():
            assert (await tab.next()).event == "connected"
        await alice.ok("PUT", _mute_path(group), {"until": None})
        await bob.send(group["id"], "a marker")
        for name in ("alice 1", "alice 2"):
            muted, message = await tabs[name].next_events(2)
            assert (muted.event, muted.json["reason"]) == ("conversation_update", "muted")
            assert _parse(muted.json["conversation"]["muted_until"]) == _parse(FOREVER)
            assert message.event == "message"
        assert (await tabs["bob"].next()).event == "message"  # nothing before it
    finally:
        for tab in tabs.values():
            await tab.close()
