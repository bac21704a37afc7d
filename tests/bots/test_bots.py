"""Bot accounts on a real server: made, listed and deleted by their owner from a browser
session, with tokens of their own; marked ``bot: true`` wherever they are shown; acting like
anyone with their tokens, and never with a password."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.api_helpers import assert_error, friends
from tests.conftest import MakeUser
from tests.support.api import PASSWORD, ApiUser
from tests.support.server import LiveServer
from tests.support.sse import EventStreamReader, SSEFrame, open_stream
from tidings.webhooks.models import Webhook


async def make_bot(owner: ApiUser, username: str, display_name: str | None = None) -> Any:
    body: dict[str, Any] = {"username": username}
    if display_name is not None:
        body["display_name"] = display_name
    return (await owner.ok("POST", "/api/bots", body, 201))["bot"]


async def bot_token(owner: ApiUser, bot_id: int, *scopes: str) -> dict[str, Any]:
    body = {"name": "bot", "scopes": list(scopes or ["write"])}
    return dict(await owner.ok("POST", f"/api/bots/{bot_id}/tokens", body, 201))


def bearer_client(server: LiveServer, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )


def secret_free(listing: Any, secret: str) -> bool:
    return secret not in str(listing)


async def next_event(stream: EventStreamReader, event: str) -> SSEFrame:
    """The next frame of this type (``connected`` and others in between are passed over)."""
    while True:
        frame = await stream.next()
        if frame.event == event:
            return frame


async def test_a_bot_is_made_by_its_owner_befriended_listed_and_found(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    stream = await open_stream(alice.client)
    bot = await make_bot(alice, "  Echo_Bot ", "  Echo  ")
    user = bot["user"]
    assert user == {
        "id": user["id"],
        "username": "echo_bot",
        "display_name": "Echo",
        "avatar_url": None,
        "deleted": False,
        "bot": True,
    }
    assert bot["owner_id"] == alice.id and bot["created_at"]
    # The owner's tabs learn of their new friend, as an accepted request tells them.
    update = (await next_event(stream, "friend_update")).json
    assert update["friend"] == user and update["status"] == "added"
    await stream.close()
    assert await alice.ok("GET", "/api/friends") == [user]
    assert await alice.ok("GET", "/api/bots") == {"bots": [bot]}
    plain = await make_bot(alice, "plain_bot")
    assert plain["user"]["display_name"] == "plain_bot"
    assert [b["user"]["id"] for b in (await alice.ok("GET", "/api/bots"))["bots"]] == [
        user["id"],
        plain["user"]["id"],
    ]
    # Found by others like anyone, marked as a bot; its profile too.
    bob = await make_user("bob")
    [found] = await bob.ok("GET", "/api/users?q=echo")
    assert found == {**user, "is_friend": False}
    assert (await bob.ok("GET", f"/api/users/{user['id']}"))["user"] == user
    # Others' lists are their own.
    assert await bob.ok("GET", "/api/bots") == {"bots": []}
    # Usernames by the sign-up rules, shared with people.
    assert_error(await alice.post("/api/bots", {"username": "BOB"}), 409, "username_taken")
    assert_error(await bob.post("/api/bots", {"username": "echo_bot"}), 409, "username_taken")
    for bad in ({"username": "no"}, {"username": "has-hyphen"}, {"username": "x" * 33}, {}):
        assert_error(await alice.post("/api/bots", bad), 422)


async def test_a_bot_never_signs_in_with_a_password(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_bot(alice, "quiet_bot")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anyone:
        for password in (PASSWORD, "!", "x"):
            response = await anyone.post(
                "/api/auth/login", json={"username": "quiet_bot", "password": password}
            )
            assert_error(response, 401, "invalid_credentials")


async def test_bots_and_their_tokens_are_managed_from_a_browser_session_only(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bot = await make_bot(alice, "helper")
    bot_id = bot["user"]["id"]
    created = await bot_token(alice, bot_id, "read")
    assert created["token"]["user_id"] == bot_id and created["token"]["scopes"] == ["read"]
    assert (await alice.ok("GET", f"/api/bots/{bot_id}/tokens"))["tokens"] == [created["token"]]
    assert secret_free(await alice.ok("GET", f"/api/bots/{bot_id}/tokens"), created["secret"])
    # The owner's own tokens are theirs alone.
    assert (await alice.ok("GET", "/api/tokens"))["tokens"] == []
    writer = await bot_token(alice, bot_id, "write")
    async with bearer_client(server, writer["secret"]) as script:
        me = (await script.get("/api/auth/me")).json()["user"]
        assert me == bot["user"]
        # A token (even the bot's own, with write) manages no bots or tokens.
        for method, path, body in (
            ("POST", "/api/bots", {"username": "another"}),
            ("GET", "/api/bots", None),
            ("DELETE", f"/api/bots/{bot_id}", None),
            ("POST", f"/api/bots/{bot_id}/tokens", {"name": "x", "scopes": ["write"]}),
            ("GET", f"/api/bots/{bot_id}/tokens", None),
        ):
            assert_error(await script.request(method, path, json=body), 403, "session_required")
    # Someone else's bot, a person, nobody: 404 unknown_bot on every route.
    for who, target in ((bob, bot_id), (alice, bob.id), (alice, alice.id), (alice, 10**6)):
        for method, path, body in (
            ("DELETE", f"/api/bots/{target}", None),
            ("POST", f"/api/bots/{target}/tokens", {"name": "x", "scopes": ["read"]}),
            ("GET", f"/api/bots/{target}/tokens", None),
            ("DELETE", f"/api/bots/{target}/tokens/{created['token']['id']}", None),
        ):
            response = await who.client.request(method, path, json=body)
            assert_error(response, 404, "unknown_bot")
    # Revoked: 401 from then on; a token that is not the bot's: 404 unknown_token.
    own = (await alice.ok("POST", "/api/tokens", {"name": "mine", "scopes": ["read"]}, 201))[
        "token"
    ]
    assert_error(await alice.delete(f"/api/bots/{bot_id}/tokens/{own['id']}"), 404, "unknown_token")
    token_path = f"/api/bots/{bot_id}/tokens/{created['token']['id']}"
    await alice.ok("DELETE", token_path, status=204)
    async with bearer_client(server, created["secret"]) as script:
        assert_error(await script.get("/api/auth/me"), 401, "invalid_token")
    assert_error(await alice.delete(token_path), 404, "unknown_token")
    [left] = (await alice.ok("GET", f"/api/bots/{bot_id}/tokens"))["tokens"]
    assert left["id"] == writer["token"]["id"] and left["last_used_at"] is not None


async def test_an_owner_has_at_most_20_bots(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    bots = [await make_bot(alice, f"bot_{n}") for n in range(20)]
    assert_error(await alice.post("/api/bots", {"username": "bot_20"}), 409, "too_many_bots")
    await alice.ok("DELETE", f"/api/bots/{bots[0]['user']['id']}", status=204)
    await make_bot(alice, "bot_20")
    # Another owner counts their own.
    await make_bot(await make_user("bob"), "bobs_bot")


async def test_a_bot_does_what_a_user_does_with_its_token(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bot = await make_bot(alice, "greeter")
    bot_id = bot["user"]["id"]
    secret = (await bot_token(alice, bot_id, "write"))["secret"]
    async with bearer_client(server, secret) as script:
        # Someone asks the bot to be friends; it accepts.
        request = await bob.ok("POST", "/api/friends/request", {"username": "greeter"}, 201)
        assert request["request"]["addressee"] == bot["user"]
        incoming = (await script.get("/api/friends/requests")).json()
        [pending] = incoming["incoming"]
        accepted = await script.post(f"/api/friends/requests/{pending['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        friends_of_bot = (await script.get("/api/friends")).json()
        assert {f["username"] for f in friends_of_bot} == {"alice", "bob"}
        # It opens a DM with a friend and writes there; bob sees a bot as the sender.
        dm = await script.post("/api/conversations", json={"type": "direct", "user_id": bob.id})
        assert dm.status_code == 201, dm.text
        dm_id = dm.json()["id"]
        sent = await script.post(f"/api/conversations/{dm_id}/messages", json={"content": "hi"})
        assert sent.status_code == 201, sent.text
        page = await bob.ok("GET", f"/api/conversations/{dm_id}/messages")
        assert page["messages"][-1]["sender"] == bot["user"]
        # Members of a group list it as a bot.
        group = await bob.group("with a bot", alice)
        await bob.ok("POST", f"/api/conversations/{group['id']}/members", {"user_id": bot_id}, 201)
        got = await script.get(f"/api/conversations/{group['id']}")
        assert got.status_code == 200, got.text
        members = {m["username"]: m for m in got.json()["members"]}
        assert members["greeter"]["bot"] is True and members["bob"]["bot"] is False


async def test_a_bot_posts_in_a_group_and_members_tabs_show_it_live(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    bot = await make_bot(alice, "reminder", "Reminder")
    bot_id = bot["user"]["id"]
    # The bot is its owner's friend already: the owner adds it like any friend.
    group = await alice.ok(
        "POST",
        "/api/conversations",
        {"type": "group", "name": "standup", "member_ids": [bob.id, carol.id, bot_id]},
        201,
    )
    group_id = group["id"]
    secret = (await bot_token(alice, bot_id, "write"))["secret"]
    read_secret = (await bot_token(alice, bot_id, "read"))["secret"]
    tabs = {user.username: await open_stream(user.client) for user in (alice, bob, carol)}
    async with bearer_client(server, secret) as script, bearer_client(server, read_secret) as ro:
        own = await open_stream(script)
        path = f"/api/conversations/{group_id}/messages"
        assert_error(await ro.post(path, json={"content": "no"}), 403, "insufficient_scope")
        sent = await script.post(path, json={"content": "Stand-up in 5 minutes"})
        assert sent.status_code == 201, sent.text
        message = sent.json()["message"]
        assert message["sender"] == bot["user"] and message["sender"]["bot"] is True
        for name, stream in [*tabs.items(), ("reminder", own)]:
            frame = await next_event(stream, "message")
            got = frame.json["message"]
            assert got == message, name
            assert got["sender"]["bot"] is True
        await own.close()
    for stream in tabs.values():
        await stream.close()


@pytest.mark.settings(webhook_allow_private_addresses=True)
async def test_deleting_a_bot_ends_its_tokens_and_streams_and_keeps_its_messages(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bot = await make_bot(alice, "ticker")
    bot_id = bot["user"]["id"]
    group = await alice.ok(
        "POST",
        "/api/conversations",
        {"type": "group", "name": "ops", "member_ids": [bob.id, bot_id]},
        201,
    )
    secret = (await bot_token(alice, bot_id, "write"))["secret"]
    await alice.ok("PUT", f"/api/bots/{bot_id}/webhook", {"url": "http://127.0.0.1:9/hook"})
    async with bearer_client(server, secret) as script:
        sent = await script.post(
            f"/api/conversations/{group['id']}/messages", json={"content": "tick"}
        )
        assert sent.status_code == 201, sent.text
        stream = await open_stream(script)
        assert stream.status_code == 200
        await alice.ok("DELETE", f"/api/bots/{bot_id}", status=204)
        await stream.wait_ended()
        assert_error(await script.get("/api/auth/me"), 401, "invalid_token")
    page = await bob.ok("GET", f"/api/conversations/{group['id']}/messages")
    [kept] = [m for m in page["messages"] if m["content"] == "tick"]
    assert kept["sender"] == {
        "id": bot_id,
        "username": f"deleted-{bot_id}",
        "display_name": "Deleted user",
        "avatar_url": None,
        "deleted": True,
        "bot": False,
    }
    assert await alice.ok("GET", "/api/bots") == {"bots": []}
    assert await alice.ok("GET", "/api/friends") == [bob.user]
    assert_error(await alice.delete(f"/api/bots/{bot_id}"), 404, "unknown_bot")
    webhooks = await server.ctx.db.run_query(
        lambda s: s.scalar(select(func.count()).select_from(Webhook))
    )
    assert webhooks == 0
    # The name is free again.
    await make_bot(alice, "ticker")


async def test_deleting_an_account_deletes_its_bots(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    bot = await make_bot(alice, "courier")
    bot_id = bot["user"]["id"]
    secret = (await bot_token(alice, bot_id, "read"))["secret"]
    own_secret = (await alice.ok("POST", "/api/tokens", {"name": "me", "scopes": ["read"]}, 201))[
        "secret"
    ]
    async with bearer_client(server, secret) as script, bearer_client(server, own_secret) as mine:
        bot_stream = await open_stream(script)
        own_stream = await open_stream(mine)
        assert bot_stream.status_code == own_stream.status_code == 200
        response = await alice.client.request(
            "DELETE", "/api/users/me", json={"password": PASSWORD}
        )
        assert response.status_code == 204, response.text
        await bot_stream.wait_ended()
        await own_stream.wait_ended()
        assert_error(await script.get("/api/auth/me"), 401, "invalid_token")
        assert_error(await mine.get("/api/auth/me"), 401, "invalid_token")
    assert (await bob.ok("GET", f"/api/users/{bot_id}"))["user"]["deleted"] is True
    assert await bob.ok("GET", "/api/users?q=courier") == []
    # Both names are free again.
    carol = await make_user("carol")
    await make_bot(carol, "courier")
