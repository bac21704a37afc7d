"""Sending is limited per sender and conversation: one person cannot flood a conversation."""

from __future__ import annotations

import pytest

from tests.api_helpers import assert_error


@pytest.mark.settings(rate_limit_send="3/minute")
async def test_messages_are_limited_per_sender_and_conversation(server, make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await alice.befriend(bob)
    await alice.befriend(carol)
    dm = await alice.dm(bob)
    for i in range(3):
        await alice.send(dm["id"], f"hello {i}")
    path = f"/api/conversations/{dm['id']}/messages"
    response = await alice.post(path, {"content": "one too many"})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    page = await bob.ok("GET", path)
    assert [m["content"] for m in page["messages"]] == ["hello 0", "hello 1", "hello 2"]

    # The same sender elsewhere, and the other member here, have their own counts.
    other = await alice.dm(carol)
    await alice.send(other["id"], "hi carol")
    await bob.send(dm["id"], "hi alice")


@pytest.mark.settings(rate_limit_send="4/minute")
async def test_edits_deletions_and_reactions_share_the_senders_budget(server, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    sent = await alice.send(dm["id"], "hello")
    path = f"/api/conversations/{dm['id']}/messages/{sent['id']}"
    await alice.ok("PATCH", path, {"content": "hello!"})
    await alice.ok("PUT", f"{path}/reactions/👍")
    await alice.ok("DELETE", f"{path}/reactions/👍")
    for response in (
        await alice.client.put(f"{path}/reactions/🎉"),
        await alice.client.patch(path, json={"content": "again"}),
        await alice.client.delete(path),
    ):
        assert_error(response, 429, "rate_limited")
    await bob.ok("PUT", f"{path}/reactions/🎉")  # his own budget


@pytest.mark.settings(rate_limit_send="4/minute")
async def test_group_changes_share_the_senders_budget(server, make_user):
    """Each change to a group is a system line and an announcement (its members included) to
    every member, as a message is: an admin toggling a setting, renaming or changing roles in
    a loop is limited like one sending (leaving never is)."""
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await alice.befriend(bob)
    await alice.befriend(carol)
    group = await alice.group("club", bob)
    base = f"/api/conversations/{group['id']}"
    await alice.ok("PATCH", base, {"name": "club 2"})
    await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
    await alice.ok("POST", f"{base}/members", {"user_id": carol.id}, 201)
    await alice.ok("DELETE", f"{base}/members/{carol.id}", status=204)
    for response in (
        await alice.client.patch(base, json={"members_can_add": False}),
        await alice.client.put(f"{base}/members/{bob.id}/role", json={"role": "member"}),
        await alice.post(f"{base}/members", {"user_id": carol.id}),
        await alice.post(f"{base}/transfer", {"user_id": bob.id}),
        await alice.post(f"{base}/messages", {"content": "and a message"}),
    ):
        assert_error(response, 429, "rate_limited")
    # bob has a budget of his own, and alice may still leave.
    await bob.ok("PATCH", base, {"description": "bob's"})
    await alice.ok("DELETE", f"{base}/members/{alice.id}", status=204)
    members = (await bob.ok("GET", base))["members"]
    assert [(m["username"], m["role"]) for m in members] == [("bob", "owner")]
