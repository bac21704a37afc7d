"""Notifications over HTTP: what creates them, listing, marking read, and the events."""

from __future__ import annotations

from typing import Any

from tests.api_helpers import EventLog, assert_error, db_user, friends, recorded, validate_event
from tidings.notifications import actions

NOTIFICATION_FIELDS = {
    "id",
    "type",
    "actor",
    "conversation_id",
    "message_id",
    "friend_request_id",
    "read",
    "created_at",
}


async def _notifications(user, **params: object) -> dict[str, Any]:
    response = await user.get("/api/notifications", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"notifications", "unread_count", "last_event_id"}
    return body


async def test_what_creates_notifications_newest_first(make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    request = await alice.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    await bob.ok("POST", f"/api/friends/requests/{request['request']['id']}/accept")
    await alice.befriend(carol)
    group = await alice.ok(
        "POST",
        "/api/conversations",
        {"type": "group", "name": "g", "member_ids": [bob.id, carol.id]},
        201,
    )
    await carol.send(group["id"], "hi")

    bob_list = await _notifications(bob)
    # A message is not a stored notification: the bell derives "new messages" from unread
    # counts (one entry per conversation), so a message writes nothing per member.
    assert bob_list["unread_count"] == 2
    notifications = bob_list["notifications"]
    assert all(set(n) == NOTIFICATION_FIELDS for n in notifications)
    assert [(n["type"], n["actor"]["username"]) for n in notifications] == [
        ("added_to_group", "alice"),
        ("friend_request", "alice"),
    ]
    ids = [n["id"] for n in notifications]
    assert ids == sorted(ids, reverse=True)
    added, friend_request = notifications
    assert (added["conversation_id"], added["message_id"]) == (group["id"], None)
    assert friend_request["friend_request_id"] == request["request"]["id"]
    assert not any(n["read"] for n in notifications)

    alice_list = await _notifications(alice)
    # The requester hears of both acceptances.
    assert [(n["type"], n["actor"]["username"]) for n in alice_list["notifications"]] == [
        ("friend_accepted", "carol"),
        ("friend_accepted", "bob"),
    ]
    carol_list = await _notifications(carol)
    assert [n["type"] for n in carol_list["notifications"]] == ["added_to_group", "friend_request"]


async def _groups_with(alice, bob, count: int) -> list[dict[str, Any]]:
    """``count`` groups of alice with bob: each gives bob an ``added_to_group`` notification."""
    return [
        await alice.ok(
            "POST",
            "/api/conversations",
            {"type": "group", "name": f"g{i}", "member_ids": [bob.id]},
            201,
        )
        for i in range(count)
    ]


async def test_listing_filters_and_limits(make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    groups = await _groups_with(alice, bob, 4)
    first = (await _notifications(bob))["notifications"][-1]
    await bob.ok("POST", f"/api/notifications/{first['id']}")  # the friend request

    listed = (await _notifications(bob, limit=2))["notifications"]
    assert [n["conversation_id"] for n in listed] == [groups[3]["id"], groups[2]["id"]]
    unread = await _notifications(bob, unread_only="true")
    assert len(unread["notifications"]) == 4
    assert unread["unread_count"] == 4
    assert all(not n["read"] for n in unread["notifications"])
    everything = await _notifications(bob, unread_only="false", limit=100)
    assert len(everything["notifications"]) == 5
    assert everything["unread_count"] == 4
    # Empty values, as a form or the URL template `?unread_only=&limit=` sends, mean the defaults.
    assert await _notifications(bob, unread_only="", limit="") == everything
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"unread_only": "perhaps"}):
        response = await bob.get("/api/notifications", params=params)
        assert_error(response, 422, "validation_error")


async def test_marking_one_read(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    await _groups_with(alice, bob, 1)
    [message, friend_request] = (await _notifications(bob))["notifications"]
    events = await EventLog.start(server)

    result = await bob.ok("POST", f"/api/notifications/{message['id']}")
    assert result == {"notification": {**message, "read": True}, "unread_count": 1}
    assert await events.new() == {"bob": ["notification_read"]}
    [read] = events.payloads["bob"]
    assert (read.notification_ids, read.unread_count) == ([message["id"]], 1)

    assert await bob.ok("POST", f"/api/notifications/{message['id']}") == result
    assert await events.new() == {}
    listed = await _notifications(bob)
    assert [n["read"] for n in listed["notifications"]] == [True, False]
    assert listed["unread_count"] == 1
    assert (await _notifications(bob, unread_only=True))["notifications"] == [friend_request]


async def test_another_users_notification_is_404_and_untouched(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    [bobs] = (await _notifications(bob))["notifications"]
    events = await EventLog.start(server)
    for notification_id in (bobs["id"], 999):
        response = await alice.post(f"/api/notifications/{notification_id}")
        assert_error(response, 404, "not_found")
    for notification_id in ("0", "-1", "abc", "2147483648"):
        response = await alice.post(f"/api/notifications/{notification_id}")
        assert_error(response, 422, "validation_error")
    assert await events.new() == {}
    assert (await _notifications(bob))["notifications"] == [bobs]


async def test_marking_all_read(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    await _groups_with(alice, bob, 2)
    events = await EventLog.start(server)

    assert await bob.ok("POST", "/api/notifications/read-all") == {"unread_count": 0}
    assert await events.new() == {"bob": ["notification_read"]}
    [read] = events.payloads["bob"]
    assert (read.notification_ids, read.unread_count) == (None, 0)
    listed = await _notifications(bob)
    assert listed["unread_count"] == 0
    assert all(n["read"] for n in listed["notifications"])
    # alice's notifications are hers.
    assert (await _notifications(alice))["unread_count"] == 1

    assert await bob.ok("POST", "/api/notifications/read-all") == {"unread_count": 0}
    assert await events.new() == {}
    # Reading a conversation whose notifications are read already leaves them so.
    await bob.ok("POST", f"/api/conversations/{dm['id']}/read")
    assert (await _notifications(bob))["unread_count"] == 0


async def test_messages_make_no_notifications_but_unread_counts(server, make_user):
    """New messages are derived, not stored: no notification row or event per member, and each
    conversation's unread count (what the bell's "new messages" entries show) follows reads."""
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    await bob.befriend(carol)
    dm = await alice.dm(bob)
    other = await carol.dm(bob)
    before = await _notifications(bob)
    events = await EventLog.start(server)
    await alice.send(dm["id"], "in dm")
    await alice.send(dm["id"], "again")
    await carol.send(other["id"], "in other")
    assert await events.new() == {
        "alice": ["message", "message"],
        "bob": ["message", "message", "message"],
        "carol": ["message"],
    }
    after = await _notifications(bob)
    assert (after["notifications"], after["unread_count"]) == (
        before["notifications"],
        before["unread_count"],
    )
    conversations = (await bob.ok("GET", "/api/conversations"))["conversations"]
    assert {c["id"]: c["unread_count"] for c in conversations} == {dm["id"]: 2, other["id"]: 1}
    await bob.ok("POST", f"/api/conversations/{dm['id']}/read")
    conversations = (await bob.ok("GET", "/api/conversations"))["conversations"]
    assert {c["id"]: c["unread_count"] for c in conversations} == {dm["id"]: 0, other["id"]: 1}
    # The sender's own messages are never unread for them.
    alices = (await alice.ok("GET", "/api/conversations"))["conversations"]
    assert {c["id"]: c["unread_count"] for c in alices} == {dm["id"]: 0}


async def test_the_actions_record_their_events(server, make_user, published):
    alice, bob = await friends(make_user, "alice", "bob")
    await _groups_with(alice, bob, 1)
    [message, _] = (await _notifications(bob))["notifications"]
    me = await db_user(server, bob)

    with published.during() as one:
        envelope = await actions.mark_read(server.ctx, me, message["id"])
    assert [(e.user_id, e.type) for e in one] == [(bob.id, "notification_read")]
    assert envelope.unread_count == 1
    with published.during() as everything:
        await actions.mark_all_read(server.ctx, me)
    assert [(e.user_id, e.type) for e in everything] == [(bob.id, "notification_read")]
    with published.during() as nothing:
        await actions.mark_all_read(server.ctx, me)
    assert nothing == []
    events = one + everything
    assert await recorded(server, events) == events
    assert [validate_event(e).unread_count for e in events] == [1, 0]
