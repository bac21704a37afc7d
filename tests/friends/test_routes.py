"""Friends over HTTP: the request state machine, friend lists, and the events of each write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api_helpers import EventLog, assert_error, db_user, recorded, validate_event
from tidings.friends import actions


async def _request(user, username: str, status: int = 201) -> dict[str, Any]:
    body = await user.ok("POST", "/api/friends/request", {"username": username}, status)
    return dict(body["request"])


async def _friend_names(user) -> list[str]:
    return [u["username"] for u in await user.ok("GET", "/api/friends")]


async def test_request_then_accept_makes_friends(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    events = await EventLog.start(server)

    request = await _request(alice, "BOB")
    assert request["status"] == "pending"
    assert request["requester"] == alice.user
    assert request["addressee"] == bob.user
    assert await events.new() == {"bob": ["friend_request", "notification"]}
    event, notification = events.payloads["bob"]
    assert event.request.id == request["id"]
    assert notification.notification.type == "friend_request"
    assert notification.notification.actor.id == alice.id
    assert notification.unread_count == 1

    assert await bob.ok("GET", "/api/friends/requests") == {"incoming": [request], "outgoing": []}
    assert await alice.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": [request]}

    accepted = await bob.ok("POST", f"/api/friends/requests/{request['id']}/accept")
    assert accepted["request"]["id"] == request["id"]
    assert accepted["request"]["status"] == "accepted"
    assert await events.new() == {
        "alice": ["friend_update", "notification"],
        "bob": ["friend_update"],
    }
    alice_update, alice_notification = events.payloads["alice"]
    assert (alice_update.friend.id, alice_update.status) == (bob.id, "added")
    assert alice_notification.notification.type == "friend_accepted"
    [bob_update] = events.payloads["bob"]
    assert (bob_update.friend.id, bob_update.status) == (alice.id, "added")

    assert await _friend_names(alice) == ["bob"]
    assert await _friend_names(bob) == ["alice"]
    for user in (alice, bob):
        assert await user.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}


async def test_a_request_to_someone_who_asked_you_accepts_theirs(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    theirs = await _request(bob, "alice")
    events = await EventLog.start(server)

    accepted = await _request(alice, "bob", status=200)
    assert accepted["id"] == theirs["id"]
    assert accepted["status"] == "accepted"
    assert accepted["requester"]["id"] == bob.id
    assert await events.new() == {
        "bob": ["friend_update", "notification"],
        "alice": ["friend_update"],
    }
    assert await _friend_names(alice) == ["bob"]
    assert await _friend_names(bob) == ["alice"]


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("alice", 422, "self_request"),
        ("ALICE", 422, "self_request"),
        ("nobody", 404, "unknown_user"),
        ("bo", 404, "unknown_user"),
        ("bob", 409, "request_pending"),
        ("carol", 409, "already_friends"),
    ],
)
async def test_requests_that_cannot_be_made_are_refused_clearly(
    server, make_user, target, status, code
):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await _request(alice, "bob")
    await alice.befriend(carol)
    events = await EventLog.start(server)
    before = await alice.ok("GET", "/api/friends/requests")

    assert_error(await alice.post("/api/friends/request", {"username": target}), status, code)
    assert await events.new() == {}
    assert await alice.ok("GET", "/api/friends/requests") == before
    assert await bob.ok("GET", "/api/friends/requests") == {
        "incoming": before["outgoing"],
        "outgoing": [],
    }


async def test_a_friend_request_to_a_friend_from_their_side_is_refused_too(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    assert_error(await bob.post("/api/friends/request", {"username": "alice"}), 409)


@pytest.mark.parametrize(
    "body",
    [{}, {"username": 7}, {"username": ""}, {"username": "x" * 65}, {"username": "bob", "x": 1}],
    ids=["missing", "wrong-type", "empty", "too-long", "extra-field"],
)
async def test_friend_request_refuses_bad_input(make_user, body):
    alice = await make_user("alice")
    assert_error(await alice.post("/api/friends/request", body), 422, "validation_error")


async def test_friend_request_refuses_malformed_json(make_user):
    alice = await make_user("alice")
    response = await alice.client.post(
        "/api/friends/request",
        content=b'{"username": ',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 422, "invalid_json")


async def test_only_the_addressee_can_accept_or_decline(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    request = await _request(alice, "bob")
    events = await EventLog.start(server)
    for user in (alice, carol):
        for verb in ("accept", "decline"):
            response = await user.post(f"/api/friends/requests/{request['id']}/{verb}")
            assert_error(response, 404, "not_found")
    assert await events.new() == {}

    declined = await bob.ok("POST", f"/api/friends/requests/{request['id']}/decline")
    assert declined["request"]["status"] == "declined"
    assert await events.new() == {"bob": ["friend_request"]}
    assert events.payloads["bob"][0].request.status == "declined"
    assert await bob.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    assert await alice.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    assert await _friend_names(bob) == []

    for verb in ("accept", "decline"):
        response = await bob.post(f"/api/friends/requests/{request['id']}/{verb}")
        assert_error(response, 409, "request_closed")
    # After a decline, asking again is a new request.
    again = await _request(alice, "bob")
    assert again["id"] != request["id"]


async def test_only_the_requester_can_cancel(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    request = await _request(alice, "bob")
    events = await EventLog.start(server)

    assert_error(await bob.post(f"/api/friends/requests/{request['id']}/cancel"), 404)
    cancelled = await alice.ok("POST", f"/api/friends/requests/{request['id']}/cancel")
    assert cancelled["request"]["status"] == "cancelled"
    assert await events.new() == {"alice": ["friend_request"], "bob": ["friend_request"]}
    assert await bob.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    assert_error(await bob.post(f"/api/friends/requests/{request['id']}/accept"), 409)
    assert_error(await alice.post(f"/api/friends/requests/{request['id']}/cancel"), 409)


async def test_unknown_or_invalid_request_ids(make_user):
    alice = await make_user("alice")
    for verb in ("accept", "decline", "cancel"):
        for request_id, status in [("999", 404), ("0", 422), ("-1", 422), ("abc", 422)]:
            response = await alice.post(f"/api/friends/requests/{request_id}/{verb}")
            assert_error(response, status)
        response = await alice.post(f"/api/friends/requests/2147483648/{verb}")
        assert_error(response, 422, "validation_error")


async def test_unfriend_ends_the_friendship_for_both_and_keeps_the_dm(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    events = await EventLog.start(server)

    response = await alice.delete(f"/api/friends/{bob.id}")
    assert response.status_code == 204
    assert response.content == b""
    assert await events.new() == {"alice": ["friend_update"], "bob": ["friend_update"]}
    assert events.payloads["alice"][0].friend.id == bob.id
    assert events.payloads["alice"][0].status == "removed"
    assert events.payloads["bob"][0].friend.id == alice.id
    assert await _friend_names(alice) == []
    assert await _friend_names(bob) == []
    await bob.ok("GET", f"/api/conversations/{dm['id']}")

    for user_id in (bob.id, carol.id, alice.id, 999):
        assert_error(await alice.delete(f"/api/friends/{user_id}"), 404, "not_found")
    assert_error(await alice.delete("/api/friends/0"), 422, "validation_error")
    # Not an id at all: no route (only digits are a user id here, beside /api/friends/request).
    assert_error(await alice.delete("/api/friends/abc"), 404, "not_found")
    assert await events.new() == {}
    # They can become friends again.
    await bob.befriend(alice)
    assert await _friend_names(alice) == ["bob"]


async def test_friend_lists_are_sorted_by_username(make_user):
    alice = await make_user("alice")
    for name in ("zoe", "bob", "mia"):
        await alice.befriend(await make_user(name))
    friends = await alice.ok("GET", "/api/friends")
    assert [f["username"] for f in friends] == ["bob", "mia", "zoe"]
    assert all(
        set(f) == {"id", "username", "display_name", "avatar_url", "deleted", "bot"}
        for f in friends
    )


async def test_concurrent_requests_and_answers_make_one_friendship(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    events = await EventLog.start(server)
    responses = await asyncio.gather(
        *[a.post("/api/friends/request", {"username": b.username}) for a, b in [(alice, bob)] * 3],
        *[b.post("/api/friends/request", {"username": a.username}) for a, b in [(alice, bob)] * 3],
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 201, 409, 409, 409, 409], [r.text for r in responses]
    assert await _friend_names(alice) == ["bob"]
    assert await _friend_names(bob) == ["alice"]

    request = await _request(carol, "alice")
    path = f"/api/friends/requests/{request['id']}"
    responses = await asyncio.gather(
        *[alice.post(f"{path}/accept") for _ in range(3)],
        alice.post(f"{path}/decline"),
        carol.post(f"{path}/cancel"),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409], [r.text for r in responses]
    accepted = any(r.status_code == 200 for r in responses[:3])
    assert await _friend_names(carol) == (["alice"] if accepted else [])
    assert set(await events.new()) <= {"alice", "bob", "carol"}  # and no gaps in anyone's log


async def test_the_actions_record_their_events(server, make_user, published):
    alice, bob = await make_user("alice"), await make_user("bob")
    names = {alice.id: "alice", bob.id: "bob"}
    me, them = await db_user(server, alice), await db_user(server, bob)

    with published.during() as sent:
        request, created = await actions.send_request(server.ctx, me, "bob")
    assert created
    assert [(names[e.user_id], e.type) for e in sent] == [
        ("bob", "friend_request"),
        ("bob", "notification"),
    ]
    assert await recorded(server, sent) == sent

    with published.during() as accepted:
        await actions.accept_request(server.ctx, them, request.id)
    assert [(names[e.user_id], e.type) for e in accepted] == [
        ("alice", "friend_update"),
        ("bob", "friend_update"),
        ("alice", "notification"),
    ]
    assert await recorded(server, accepted) == accepted

    with published.during() as removed:
        await actions.remove_friend(server.ctx, me, bob.id)
    assert [(names[e.user_id], e.type) for e in removed] == [
        ("alice", "friend_update"),
        ("bob", "friend_update"),
    ]
    for event in sent + accepted + removed:
        validate_event(event)
