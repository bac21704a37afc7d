"""Blocking over HTTP: the block itself, and every rule it puts on the two people (messages,
edits, DMs, friend requests, group adds, search, mentions, profiles, deletion, export), with the
events of each write and who gets them on a real stream."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api_helpers import EventLog, assert_error, friends
from tests.support.api import PASSWORD, ApiUser
from tests.support.sse import open_stream


async def _block(user: ApiUser, other: ApiUser) -> dict[str, Any]:
    return dict((await user.ok("PUT", f"/api/blocks/{other.id}"))["block"])


async def _send(user: ApiUser, conversation_id: int, content: str = "hi") -> Any:
    return await user.post(f"/api/conversations/{conversation_id}/messages", {"content": content})


async def test_a_block_ends_the_friendship_and_closes_the_dm_both_ways(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    await alice.send(dm["id"], "before")
    events = await EventLog.start(server)

    block = await _block(alice, bob)
    assert block["user"] == bob.user
    assert block["created_at"]
    assert await events.new() == {
        "alice": ["friend_update", "conversation_update", "block_update"],
        "bob": ["friend_update", "conversation_update"],
    }
    unfriended, closed, blocked = events.payloads["alice"]
    assert (unfriended.friend.id, unfriended.status) == (bob.id, "removed")
    assert (closed.reason, closed.conversation.blocked) == ("blocked", True)
    assert closed.conversation.members is None and closed.conversation.unread_count is None
    assert (blocked.user.id, blocked.blocked) == (bob.id, True)
    assert await alice.ok("GET", "/api/friends") == []

    body = assert_error(await _send(bob, dm["id"]), 409, "blocked")
    assert body["detail"] == "alice is not accepting messages from you."
    body = assert_error(await _send(alice, dm["id"]), 409, "you_blocked")
    assert body["detail"] == "You blocked bob: unblock them to send messages."
    for user in (alice, bob):
        assert (await user.ok("GET", f"/api/conversations/{dm['id']}"))["blocked"] is True
        history = await user.ok("GET", f"/api/conversations/{dm['id']}/messages")
        assert [m["content"] for m in history["messages"]] == ["before"]  # still readable
    assert await events.new() == {}

    # Idempotent: the same block, nothing sent.
    assert await _block(alice, bob) == block
    assert await events.new() == {}
    assert await alice.ok("GET", "/api/blocks") == {"blocks": [block]}
    assert await bob.ok("GET", "/api/blocks") == {"blocks": []}
    assert (await alice.ok("GET", f"/api/users/{bob.id}"))["blocked"] is True
    assert (await bob.ok("GET", f"/api/users/{alice.id}"))["blocked"] is False

    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
    assert await events.new() == {
        "alice": ["conversation_update", "block_update"],
        "bob": ["conversation_update"],
    }
    reopened, unblocked = events.payloads["alice"]
    assert (reopened.reason, reopened.conversation.blocked) == ("unblocked", False)
    assert (unblocked.user.id, unblocked.blocked) == (bob.id, False)
    await bob.send(dm["id"], "hello again")
    assert await alice.ok("GET", "/api/friends") == []  # a friendship does not come back
    assert await alice.ok("GET", "/api/blocks") == {"blocks": []}
    events_before = await events.new()
    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)  # not blocked: nothing
    assert events_before == {"alice": ["message"], "bob": ["message"]}
    assert await events.new() == {}


async def test_blocked_both_ways_the_dm_stays_closed_until_both_unblock(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    await _block(alice, bob)
    events = await EventLog.start(server)
    await _block(bob, alice)
    assert await events.new() == {"bob": ["block_update"]}  # the DM was closed already
    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
    assert await events.new() == {"alice": ["block_update"]}  # bob still blocks alice
    assert_error(await _send(alice, dm["id"]), 409, "blocked")
    assert_error(await _send(bob, dm["id"]), 409, "you_blocked")
    await bob.ok("DELETE", f"/api/blocks/{alice.id}", status=204)
    assert (await alice.ok("GET", f"/api/conversations/{dm['id']}"))["blocked"] is False
    await alice.send(dm["id"], "we talk again")


async def test_blocking_nobody_yourself_or_a_deleted_account(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    assert_error(await alice.client.put(f"/api/blocks/{alice.id}"), 409, "is_you")
    assert_error(await alice.delete(f"/api/blocks/{alice.id}"), 409, "is_you")
    assert_error(await alice.client.put("/api/blocks/999999"), 404, "unknown_user")
    assert_error(await alice.delete("/api/blocks/999999"), 404, "unknown_user")
    await bob.client.request("DELETE", "/api/users/me", json={"password": PASSWORD})
    assert_error(await alice.client.put(f"/api/blocks/{bob.id}"), 404, "unknown_user")


async def test_pending_requests_are_cancelled_and_no_new_one_either_way(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    asked = await bob.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    events = await EventLog.start(server)
    await _block(alice, bob)
    assert await events.new() == {
        "alice": ["friend_request", "block_update"],
        "bob": ["friend_request"],
    }
    cancelled = events.payloads["bob"][0]
    assert (cancelled.request.id, cancelled.request.status) == (asked["request"]["id"], "cancelled")
    for user in (alice, bob):
        assert await user.ok("GET", "/api/friends/requests") == {"incoming": [], "outgoing": []}
    accept = await alice.post(f"/api/friends/requests/{asked['request']['id']}/accept")
    assert_error(accept, 409, "request_closed")

    body = assert_error(
        await bob.post("/api/friends/request", {"username": "alice"}), 409, "blocked"
    )
    assert body["detail"] == "alice is not accepting friend requests from you."
    body = assert_error(
        await alice.post("/api/friends/request", {"username": "bob"}), 409, "you_blocked"
    )
    assert body["detail"] == "You blocked bob: unblock them to send them a friend request."
    assert await events.new() == {}


async def test_no_new_dm_with_someone_in_a_block(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    await _block(bob, alice)
    create = {"type": "direct", "user_id": bob.id}
    assert_error(await alice.post("/api/conversations", create), 409, "blocked")
    create = {"type": "direct", "user_id": alice.id}
    assert_error(await bob.post("/api/conversations", create), 409, "you_blocked")


async def test_nobody_adds_someone_who_blocked_them_to_a_group(server, make_user):
    carol, alice, bob = await friends(make_user, "carol", "alice", "bob")
    await alice.befriend(bob)
    await _block(alice, bob)
    group = {"type": "group", "name": "g", "member_ids": [carol.id, alice.id]}
    body = assert_error(await bob.post("/api/conversations", group), 409, "blocked")
    assert body["detail"] == "alice is not accepting being added to groups from you."
    bobs = await bob.group("bob's", carol)
    add = await bob.post(f"/api/conversations/{bobs['id']}/members", {"user_id": alice.id})
    assert_error(add, 409, "blocked")
    alices = await alice.group("alice's", carol)
    add = await alice.post(f"/api/conversations/{alices['id']}/members", {"user_id": bob.id})
    assert_error(add, 409, "you_blocked")
    # A group is shared: carol, a friend of both, may bring them together.
    await carol.ok("POST", f"/api/conversations/{alices['id']}/members", {"user_id": bob.id}, 201)
    shared = await carol.group("shared", alice, bob)
    assert {m["id"] for m in shared["members"]} == {alice.id, bob.id, carol.id}
    assert shared["blocked"] is False  # only a DM closes
    await bob.send(shared["id"], "hi all")


async def test_edits_and_reactions_are_refused_in_a_blocked_dm_deletions_are_not(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    path = f"/api/conversations/{dm['id']}/messages"
    first = await bob.send(dm["id"], "first")
    second = await bob.send(dm["id"], "second")
    await bob.ok("PUT", f"{path}/{first['id']}/reactions/👍")
    await _block(alice, bob)
    edit = await bob.client.patch(f"{path}/{first['id']}", json={"content": "changed"})
    body = assert_error(edit, 409, "blocked")
    assert body["detail"] == "alice is not accepting edits or reactions from you."
    assert_error(await bob.client.put(f"{path}/{second['id']}/reactions/🎉"), 409, "blocked")
    assert_error(await alice.client.put(f"{path}/{second['id']}/reactions/🎉"), 409, "you_blocked")
    await bob.ok("DELETE", f"{path}/{first['id']}/reactions/👍")  # taking one back is fine
    deleted = await bob.ok("DELETE", f"{path}/{second['id']}")
    assert deleted["message"]["deleted"] is True


async def test_a_mention_by_someone_you_blocked_does_not_notify_you(server, make_user):
    carol, alice, bob = await friends(make_user, "carol", "alice", "bob")
    group = await carol.group("g", alice, bob)
    await _block(alice, bob)
    before = (await alice.ok("GET", "/api/notifications"))["notifications"]
    await bob.send(group["id"], "@alice look")
    path = f"/api/conversations/{group['id']}/messages"
    edited = await bob.send(group["id"], "plain")
    await bob.ok("PATCH", f"{path}/{edited['id']}", {"content": "now @alice and @carol"})
    mentions = [
        n
        for n in (await alice.ok("GET", "/api/notifications"))["notifications"]
        if n["type"] == "mention"
    ]
    assert mentions == [] and len(before) >= 1
    carols = (await carol.ok("GET", "/api/notifications"))["notifications"]
    assert [n["actor"]["id"] for n in carols if n["type"] == "mention"] == [bob.id]
    await carol.send(group["id"], "@alice you there?")  # others still do
    mentions = [
        n
        for n in (await alice.ok("GET", "/api/notifications"))["notifications"]
        if n["type"] == "mention"
    ]
    assert [n["actor"]["id"] for n in mentions] == [carol.id]


async def test_who_blocked_you_is_not_found_in_search(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("alicia")
    await _block(alice, bob)

    async def names(user: ApiUser, q: str) -> list[str]:
        found = await user.ok("GET", f"/api/users?q={q}")
        return [u["username"] for u in found]

    assert await names(bob, "alice") == ["alicia"]
    assert await names(alice, "bob") == ["bob"]  # whom you blocked you can still find
    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
    assert "alice" in await names(bob, "alice")


async def test_deletion_removes_blocks_either_way_and_export_lists_yours(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await _block(alice, bob)
    await _block(carol, alice)
    exported = await alice.get("/api/users/me/export")
    assert exported.status_code == 200
    document = json.loads(exported.content)
    assert [(b["id"], b["username"]) for b in document["blocks"]] == [(bob.id, "bob")]
    assert document["blocks"][0]["since"]

    events = await EventLog.start(server)
    deleted = await alice.client.request("DELETE", "/api/users/me", json={"password": PASSWORD})
    assert deleted.status_code == 204, deleted.text
    assert "block_update" in (await events.new())["carol"]
    [unblocked] = [p for p in events.payloads["carol"] if p.type == "block_update"]
    assert (unblocked.user.id, unblocked.blocked) == (alice.id, False)
    assert await carol.ok("GET", "/api/blocks") == {"blocks": []}


async def test_the_block_events_reach_the_right_tabs(server, make_user):
    """A real stream each: both of alice's tabs get her block_update; bob's tab gets the end of
    the friendship and the DM's closing, never the block_update."""
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    tabs = {
        "alice 1": await open_stream(alice.client),
        "alice 2": await open_stream(alice.client),
        "bob": await open_stream(bob.client),
    }
    try:
        for tab in tabs.values():
            assert (await tab.next()).event == "connected"
        await _block(alice, bob)
        await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
        await bob.send(dm["id"], "a last one, for a marker")
        for name in ("alice 1", "alice 2"):
            frames = await tabs[name].next_events(6)
            assert [f.event for f in frames] == [
                "friend_update",
                "conversation_update",
                "block_update",
                "conversation_update",
                "block_update",
                "message",
            ], name
            assert [f.json["reason"] for f in frames if f.event == "conversation_update"] == [
                "blocked",
                "unblocked",
            ]
        frames = await tabs["bob"].next_events(4)
        assert [f.event for f in frames] == [
            "friend_update",
            "conversation_update",
            "conversation_update",
            "message",
        ]
        assert [f.json["conversation"]["blocked"] for f in frames[1:3]] == [True, False]
    finally:
        for tab in tabs.values():
            await tab.close()


@pytest.mark.settings(rate_limit_block="3/hour")
async def test_blocking_and_unblocking_share_a_rate_limit(make_user):
    """Each block or unblock tells the other person's tabs (their DM closes or opens): toggling
    in a loop is refused before it floods them."""
    alice, bob = await friends(make_user, "alice", "bob")
    await _block(alice, bob)
    await alice.ok("DELETE", f"/api/blocks/{bob.id}", status=204)
    await _block(alice, bob)
    limited = await alice.client.delete(f"/api/blocks/{bob.id}")
    assert_error(limited, 429)
    assert "Retry-After" in limited.headers
    assert (await alice.ok("GET", "/api/blocks"))["blocks"][0]["user"]["id"] == bob.id


async def test_typing_in_a_blocked_dm_is_refused_in_each_side_s_words(make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    await _block(alice, bob)
    assert_error(await alice.post(f"/api/conversations/{dm}/typing"), 409, "you_blocked")
    assert_error(await bob.post(f"/api/conversations/{dm}/typing"), 409, "blocked")
