"""Deleting an account: the person goes, their messages stay from "Deleted user"."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from tests.api_helpers import EventLog, assert_error
from tests.support.api import PASSWORD
from tests.support.server import LiveServer
from tests.support.sse import open_stream
from tidings.accounts.models import AuthSession, User
from tidings.attachments.models import Attachment
from tidings.conversations.models import ConversationMember
from tidings.friends.models import FriendRequest, Friendship
from tidings.notifications.models import Notification


async def _count(server, model, *where) -> int:
    async with server.ctx.db.query_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_a_deleted_account_leaves_its_messages_to_deleted_user(server, make_user):
    alice, bob, carol, _dave, _erin = [
        await make_user(n) for n in ("alice", "bob", "carol", "dave", "erin")
    ]
    await alice.befriend(bob)
    await alice.befriend(carol)
    dm = await alice.dm(bob)
    group = await alice.group("club", bob, carol)
    await alice.send(dm["id"], "hello bob")
    await alice.send(group["id"], "hello all @bob")
    await alice.ok("POST", "/api/friends/request", {"username": "dave"}, 201)  # pending
    upload = await alice.client.post(
        "/api/attachments", content=b"unsent", params={"filename": "a.txt"}
    )
    assert upload.status_code == 201, upload.text
    bob_stream = await open_stream(bob.client)
    alice_stream = await open_stream(alice.client)
    events = await EventLog.start(server)
    try:
        assert (await bob_stream.next()).event == "connected"
        assert (await alice_stream.next()).event == "connected"
        # A wrong password changes nothing.
        wrong = await alice.client.request(
            "DELETE", "/api/users/me", json={"password": "not it at all"}
        )
        assert_error(wrong, 401, "invalid_credentials")
        response = await alice.client.request(
            "DELETE", "/api/users/me", json={"password": PASSWORD}
        )
        assert response.status_code == 204, response.text
        assert response.headers["clear-site-data"] == '"cache"'
        assert "tidings_session=" in response.headers["set-cookie"]
        # alice's stream ends; bob hears of it.
        await alice_stream.wait_ended()
        frames = await bob_stream.next_events(5)
    finally:
        await bob_stream.close()
        await alice_stream.close()
    assert [f.event for f in frames] == [
        "message",  # the system lines: alice left the group,
        "message",  # and bob (its longest-standing member) owns it now
        "conversation_update",  # member_removed
        "friend_update",
        "user_updated",
    ]
    gone = frames[4].json["user"]
    assert gone == {
        "id": alice.id,
        "username": f"deleted-{alice.id}",
        "display_name": "Deleted user",
        "avatar_url": None,
        "deleted": True,
        "bot": False,
    }
    assert frames[3].json == {
        "type": "friend_update",
        "friend": gone,
        "status": "removed",
        "request_id": None,
    }
    new = await events.new()
    assert new["bob"] == [
        "message",
        "message",
        "conversation_update",
        "friend_update",
        "user_updated",
    ]
    assert new["carol"] == [
        "message",
        "message",
        "conversation_update",
        "friend_update",
        "user_updated",
    ]
    assert new["dave"] == ["friend_request"]  # the pending request, cancelled
    assert "erin" not in new and "alice" not in new

    # alice's session is over; she cannot sign in; her username is free again.
    assert_error(await alice.get("/api/auth/me"), 401)
    login = await alice.post("/api/auth/login", {"username": "alice", "password": PASSWORD})
    assert_error(login, 401, "invalid_credentials")
    async with httpx.AsyncClient(base_url=server.url) as newcomer:
        again = await newcomer.post(
            "/api/auth/register", json={"username": "alice", "password": PASSWORD}
        )
        assert again.status_code == 201, again.text
        assert again.json()["user"]["id"] != alice.id

    # The messages stay, from "Deleted user"; the DM stays and refuses new messages.
    page = await bob.ok("GET", f"/api/conversations/{dm['id']}/messages")
    [message] = page["messages"]
    assert message["content"] == "hello bob"
    assert message["sender"] == gone
    conversation = await bob.ok("GET", f"/api/conversations/{dm['id']}")
    [member] = [m for m in conversation["members"] if m["id"] == alice.id]
    assert {k: member[k] for k in gone} == gone
    refused = await bob.post(f"/api/conversations/{dm['id']}/messages", {"content": "hi?"})
    assert_error(refused, 409, "user_deleted")
    group_page = await carol.ok("GET", f"/api/conversations/{group['id']}/messages")
    senders = {m["sender"]["display_name"] for m in group_page["messages"]}
    assert "Deleted user" in senders
    members = (await carol.ok("GET", f"/api/conversations/{group['id']}"))["members"]
    assert alice.id not in [m["id"] for m in members]
    # The group carries on without her.
    await bob.send(group["id"], "still here")

    # The profile shows nothing else; search does not find her.
    profile = await bob.ok("GET", f"/api/users/{alice.id}")
    assert profile["user"] == gone
    assert profile["bio"] == ""
    assert profile["is_friend"] is False
    assert profile["mutual_groups"] == []
    found = await bob.ok("GET", "/api/users?q=Deleted")
    assert alice.id not in [u["id"] for u in found]

    # Her personal rows are gone.
    assert await _count(server, AuthSession, AuthSession.user_id == alice.id) == 0
    assert await _count(server, Friendship, Friendship.user_id == alice.id) == 0
    assert await _count(server, Friendship, Friendship.friend_id == alice.id) == 0
    assert await _count(server, FriendRequest, FriendRequest.requester_id == alice.id) == 0
    assert await _count(server, Notification, Notification.user_id == alice.id) == 0
    assert await _count(server, Attachment, Attachment.uploader_id == alice.id) == 0
    assert (
        await _count(
            server,
            ConversationMember,
            ConversationMember.user_id == alice.id,
            ConversationMember.conversation_id == group["id"],
        )
        == 0
    )
    async with server.ctx.db.query_session() as session:
        row = await session.get(User, alice.id)
        assert row is not None
        assert row.deleted_at is not None
        assert row.password_hash == "!"
        assert row.bio == "" and row.avatar_key is None


async def test_a_deleted_accounts_avatar_is_no_longer_served(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    from tests.accounts.test_profiles import _jpeg

    response = await alice.client.put("/api/users/me/avatar", content=_jpeg(64, 64))
    url = response.json()["user"]["avatar_url"]
    assert (await bob.get(url)).status_code == 200
    deleted = await alice.client.request("DELETE", "/api/users/me", json={"password": PASSWORD})
    assert deleted.status_code == 204
    assert_error(await bob.get(url), 404, "not_found")


async def test_deleting_needs_the_password_in_the_body(make_user):
    alice = await make_user("alice")
    response = await alice.client.request("DELETE", "/api/users/me", json={})
    assert_error(response, 422, "validation_error")
    assert (await alice.get("/api/auth/me")).status_code == 200


async def test_two_owners_deleting_their_accounts_at_once_on_two_processes_leave_an_owner(
    server, make_user
):
    """Each deletion leaves the group under the group's lock, as a leave does: two owners'
    deletions on two processes at once cannot both see the other stay as the owner (each group
    ends with an owner; before, most ended with none)."""
    if not server.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes every write: no two deletions overlap")
    groups = []
    for i in range(4):
        first, middle, second = [await make_user(f"{n}{i}") for n in ("first", "middle", "second")]
        await first.befriend(middle)
        group = await first.group(f"club{i}", middle)
        await middle.befriend(second)
        await middle.ok(
            "POST", f"/api/conversations/{group['id']}/members", {"user_id": second.id}, 201
        )
        await first.ok(
            "PUT", f"/api/conversations/{group['id']}/members/{second.id}/role", {"role": "owner"}
        )
        # No friend in common: the two deletions lock no user row in common.
        await middle.ok("DELETE", f"/api/friends/{first.id}", status=204)
        groups.append((group["id"], first, middle, second))
    other = LiveServer(server.settings)
    await other.start()
    try:
        clients = [
            httpx.AsyncClient(base_url=other.url, cookies=second.client.cookies, timeout=30)
            for _, _, _, second in groups
        ]
        try:
            responses = await asyncio.gather(
                *(
                    request
                    for (_, first, _, _), there in zip(groups, clients, strict=True)
                    for request in (
                        first.client.request(
                            "DELETE", "/api/users/me", json={"password": PASSWORD}
                        ),
                        there.request("DELETE", "/api/users/me", json={"password": PASSWORD}),
                    )
                )
            )
        finally:
            for client in clients:
                await client.aclose()
    finally:
        await other.stop()
    assert [r.status_code for r in responses] == [204] * len(responses)
    for group_id, _, middle, _ in groups:
        members = (await middle.ok("GET", f"/api/conversations/{group_id}"))["members"]
        assert [(m["id"], m["role"]) for m in members] == [(middle.id, "owner")]
