"""Friend requests are limited: per sender, per sender and addressee, and after a decline."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error

REQUEST = "/api/friends/request"


@pytest.mark.settings(rate_limit_friend_request="2/hour")
async def test_a_sender_may_send_so_many_friend_requests_per_window(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    carol, dave = await make_user("carol"), await make_user("dave")
    await alice.ok("POST", REQUEST, {"username": "bob"}, 201)
    await alice.ok("POST", REQUEST, {"username": "carol"}, 201)
    response = await alice.post(REQUEST, {"username": "dave"})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 3600
    assert await dave.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    # Other senders have their own count.
    await bob.ok("POST", REQUEST, {"username": "dave"}, 201)
    await carol.ok("POST", REQUEST, {"username": "dave"}, 201)


@pytest.mark.settings(rate_limit_friend_request_target="2/day", friend_request_cooldown_seconds=0)
async def test_asking_one_person_again_and_again_is_limited(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    for _ in range(2):  # ask, withdraw, ask again...
        request = await alice.ok("POST", REQUEST, {"username": "bob"}, 201)
        await alice.ok("POST", f"/api/friends/requests/{request['request']['id']}/cancel")
    response = await alice.post(REQUEST, {"username": " BOB "})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 24 * 3600
    assert await bob.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    await alice.ok("POST", REQUEST, {"username": "carol"}, 201)
    await carol.ok("POST", REQUEST, {"username": "bob"}, 201)


@pytest.mark.settings(friend_request_cooldown_seconds=3600)
async def test_after_a_decline_the_sender_cannot_ask_again_during_the_cooldown(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    request = await alice.ok("POST", REQUEST, {"username": "bob"}, 201)
    await bob.ok("POST", f"/api/friends/requests/{request['request']['id']}/decline")

    for _ in range(2):  # request -> decline -> resend no longer repeats
        response = await alice.post(REQUEST, {"username": "bob"})
        assert_error(response, 429, "friend_request_cooldown")
        assert 1 <= int(response.headers["retry-after"]) <= 3600
    assert await bob.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}

    # The one who declined may still ask; then alice's "request" accepts theirs.
    theirs = await bob.ok("POST", REQUEST, {"username": "alice"}, 201)
    accepted = await alice.ok("POST", REQUEST, {"username": "bob"}, 200)
    assert accepted["request"]["id"] == theirs["request"]["id"]
    assert [u["username"] for u in await alice.ok("GET", "/api/friends")] == ["bob"]


@pytest.mark.settings(friend_request_cooldown_seconds=3600)
async def test_a_withdrawn_request_has_no_cooldown(server, make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    request = await alice.ok("POST", REQUEST, {"username": "bob"}, 201)
    await alice.ok("POST", f"/api/friends/requests/{request['request']['id']}/cancel")
    await alice.ok("POST", REQUEST, {"username": "bob"}, 201)
