"""The client's calls against a real server, async and sync: typed answers that hold exactly
what the server said, and one error type."""

from __future__ import annotations

import asyncio

import pytest

from tests.api_helpers import friends
from tests.client.conftest import ClientFor, assert_mirrors, token_for
from tests.conftest import MakeUser
from tests.support.server import LiveServer
from tidings_client import (
    Conversation,
    FriendRequest,
    Message,
    Tidings,
    TidingsError,
    User,
    UserMatch,
)


async def test_calls_answer_typed_models(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    carol = await make_user("carol")
    client = await client_for(bob)

    me = await client.me()
    assert isinstance(me, User) and me.id == bob.id and not me.bot
    assert_mirrors(me, (await bob.ok("GET", "/api/auth/me"))["user"])

    dm = await client.open_dm(alice.id)
    assert isinstance(dm, Conversation) and dm.type == "direct"
    assert dm.title(me.id) == "alice"
    sent = await client.send(dm.id, "hello", client_id="retry-1")
    again = await client.send(dm.id, "hello", client_id="retry-1")  # a retried send: stored once
    assert isinstance(sent, Message) and again == sent
    assert sent.sender.id == bob.id and sent.client_id == "retry-1"
    await alice.send(dm.id, "hi bob")

    listed = await client.conversations()
    assert [c.id for c in listed.conversations] == [dm.id]
    assert_mirrors(listed, await bob.ok("GET", "/api/conversations"))
    page = await client.messages(dm.id, limit=10)
    assert [m.content for m in page.messages] == ["hello", "hi bob"]
    assert_mirrors(page, await bob.ok("GET", f"/api/conversations/{dm.id}/messages?limit=10"))
    assert (await client.conversation(dm.id)).unread_count == 1
    read = await client.mark_read(dm.id)
    assert read.conversation.unread_count == 0
    await client.typing(dm.id)
    await client.typing(dm.id, active=False)

    assert [f.id for f in await client.friends()] == [alice.id]
    request = await client.request_friend("carol")
    assert isinstance(request, FriendRequest) and request.status == "pending"
    async with await client_for(carol) as carols:
        incoming = (await carols.friend_requests()).incoming
        assert [r.id for r in incoming] == [request.id]
        accepted = await carols.accept_friend_request(request.id)
        assert accepted.status == "accepted"
    notifications = await client.notifications()
    assert notifications.notifications[0].type == "friend_accepted"  # newest first
    assert_mirrors(notifications, await bob.ok("GET", "/api/notifications"))
    assert (await client.mark_notification_read(notifications.notifications[0].id)).read
    assert await client.mark_notifications_read() == 0

    group = await client.create_group("Book club", [alice.id, carol.id])
    assert group.title() == "Book club" and {m.role for m in group.members} == {"owner", "member"}
    found = await client.search_users("car")
    assert [(u.username, u.is_friend) for u in found] == [("carol", True)]
    assert all(isinstance(u, UserMatch) for u in found)


async def test_errors_carry_status_code_and_detail(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice = await make_user("alice")
    client = await client_for(alice, "read")
    with pytest.raises(TidingsError) as missing:
        await client.conversation(424242)
    assert missing.value.status == 404 and missing.value.code
    assert missing.value.detail and missing.value.retry_after is None
    with pytest.raises(TidingsError) as refused:
        await client.request_friend("nobody")
    assert (refused.value.status, refused.value.code) == (403, "insufficient_scope")
    async with await client_for(alice) as writer:
        with pytest.raises(TidingsError) as unknown:
            await writer.request_friend("nobody")
        assert (unknown.value.status, unknown.value.code) == (404, "unknown_user")
    with Tidings(server.url, "tdg_not-a-token") as stranger, pytest.raises(TidingsError) as bad:
        await asyncio.to_thread(stranger.me)
    assert (bad.value.status, bad.value.code) == (401, "invalid_token")


@pytest.mark.settings(rate_limit_attention="2/minute")
async def test_a_rate_limited_call_says_when_to_come_back(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    client = await client_for(alice)
    await client.typing(dm)
    await client.typing(dm)
    with pytest.raises(TidingsError) as limited:
        await client.typing(dm)
    assert limited.value.status == 429 and limited.value.code
    assert limited.value.retry_after is not None and limited.value.retry_after > 0


async def test_the_sync_client_makes_the_same_calls(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    token = await token_for(bob)

    def script() -> tuple[User, Message, list[str]]:
        with Tidings(server.url, token) as client:
            me = client.me()
            sent = client.send(dm, "from a cron job")
            history = [m.content for m in client.messages(dm).messages]
            return me, sent, history

    me, sent, history = await asyncio.to_thread(script)
    assert me.id == bob.id and sent.conversation_id == dm
    assert history == ["from a cron job"]
