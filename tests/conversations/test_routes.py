"""Conversations and messages over HTTP: DMs, groups, members, pagination, unread counts, events."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from tests.api_helpers import (
    EventLog,
    assert_error,
    db_user,
    friends,
    recorded,
    validate_event,
)
from tests.attachments.helpers import upload
from tidings.conversations import actions
from tidings.realtime.events import StoredEvent
from tidings.realtime.models import EventRecord

CONVERSATION_FIELDS = {
    "id",
    "type",
    "name",
    "created_by_id",
    "description",
    "avatar_url",
    "members_can_add",
    "members",
    "last_message",
    "unread_count",
    "last_read_message_id",
    "muted_until",
    "blocked",
    "updated_at",
}


async def _conversation_ids(user) -> list[int]:
    body = await user.ok("GET", "/api/conversations")
    return [c["id"] for c in body["conversations"]]


# --- direct conversations ---------------------------------------------------------------------


async def test_a_dm_is_created_once_and_then_found_from_either_side(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    events = await EventLog.start(server)

    created = await alice.post("/api/conversations", {"type": "direct", "user_id": bob.id})
    assert created.status_code == 201, created.text
    dm = created.json()
    assert set(dm) == CONVERSATION_FIELDS
    assert dm["type"] == "direct"
    assert dm["name"] is None
    assert [m["username"] for m in dm["members"]] == ["alice", "bob"]
    assert dm["last_message"] is None
    assert dm["unread_count"] == 0
    assert await events.new() == {"alice": ["conversation_update"], "bob": ["conversation_update"]}
    for name in ("alice", "bob"):
        [update] = events.payloads[name]
        assert (update.conversation_id, update.reason) == (dm["id"], "created")

    again = await alice.post("/api/conversations", {"type": "direct", "user_id": bob.id})
    assert again.status_code == 200
    assert again.json() == dm
    other_side = await bob.post("/api/conversations", {"type": "direct", "user_id": alice.id})
    assert other_side.status_code == 200
    assert other_side.json()["id"] == dm["id"]
    assert await events.new() == {}
    assert await _conversation_ids(alice) == [dm["id"]]
    assert await _conversation_ids(bob) == [dm["id"]]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("self", 422, "self_conversation"),
        ("stranger", 403, "not_friends"),
        ("unknown", 404, "unknown_user"),
    ],
)
async def test_a_dm_needs_a_friend(server, make_user, who, status, code):
    alice, _bob = await friends(make_user, "alice", "bob")
    stranger = await make_user("carol")
    user_id = {"self": alice.id, "stranger": stranger.id, "unknown": 999}[who]
    events = await EventLog.start(server)
    response = await alice.post("/api/conversations", {"type": "direct", "user_id": user_id})
    assert_error(response, status, code)
    assert await events.new() == {}
    assert await _conversation_ids(alice) == []


BAD_CREATE_BODIES: list[tuple[str, object]] = [
    ("missing-type", {"user_id": 2}),
    ("unknown-type", {"type": "channel", "user_id": 2}),
    ("missing-user", {"type": "direct"}),
    ("user-id-text", {"type": "direct", "user_id": "two"}),
    ("user-id-zero", {"type": "direct", "user_id": 0}),
    ("user-id-too-big", {"type": "direct", "user_id": 2**31}),
    ("extra-field", {"type": "direct", "user_id": 2, "name": "x"}),
    ("group-missing-name", {"type": "group", "member_ids": [2]}),
    ("group-missing-members", {"type": "group", "name": "g"}),
    ("group-blank-name", {"type": "group", "name": "  ", "member_ids": [2]}),
    ("name-too-long", {"type": "group", "name": "x" * 101, "member_ids": [2]}),
    ("name-nul", {"type": "group", "name": "a\x00", "member_ids": [2]}),
    ("name-bidi-override", {"type": "group", "name": "trip\u202e", "member_ids": [2]}),
    ("members-not-a-list", {"type": "group", "name": "g", "member_ids": 2}),
    ("member-id-text", {"type": "group", "name": "g", "member_ids": ["b"]}),
    ("too-many", {"type": "group", "name": "g", "member_ids": [2] * 1001}),
    ("array", []),
]


async def test_create_conversation_refuses_bad_input(make_user):
    alice, _bob = await friends(make_user, "alice", "bob")
    for name, body in BAD_CREATE_BODIES:
        response = await alice.post("/api/conversations", body)
        assert response.status_code == 422, (name, response.text)
        assert_error(response, 422, "validation_error")
    assert await _conversation_ids(alice) == []


# --- groups and members -----------------------------------------------------------------------


async def test_a_group_is_you_and_your_friends(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    events = await EventLog.start(server)

    group = await alice.group("  Trip  ", bob, carol, alice, bob)
    assert group["type"] == "group"
    assert group["name"] == "Trip"
    assert group["created_by_id"] == alice.id
    assert [m["username"] for m in group["members"]] == ["alice", "bob", "carol"]
    assert await events.new() == {
        "alice": ["conversation_update"],
        "bob": ["conversation_update", "notification"],
        "carol": ["conversation_update", "notification"],
    }
    for name in ("bob", "carol"):
        update, notification = events.payloads[name]
        assert update.reason == "created"
        assert notification.notification.type == "added_to_group"
        assert notification.notification.conversation_id == group["id"]
    for user in (alice, bob, carol):
        assert (await user.ok("GET", f"/api/conversations/{group['id']}"))["id"] == group["id"]


async def test_a_group_cannot_include_strangers_or_be_empty(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    stranger = await make_user("dave")
    events = await EventLog.start(server)
    body = {"type": "group", "name": "g"}

    response = await alice.post("/api/conversations", {**body, "member_ids": [bob.id, stranger.id]})
    assert_error(response, 403, "not_friends")
    response = await alice.post("/api/conversations", {**body, "member_ids": [bob.id, 999]})
    assert_error(response, 404, "unknown_user")
    for member_ids in ([], [alice.id]):
        response = await alice.post("/api/conversations", {**body, "member_ids": member_ids})
        assert_error(response, 422, "empty_group")
    assert await events.new() == {}
    assert await _conversation_ids(alice) == []
    assert await _conversation_ids(stranger) == []


async def test_adding_and_removing_members(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dave = await make_user("dave")
    group = await alice.group("g", bob)
    path = f"/api/conversations/{group['id']}/members"
    events = await EventLog.start(server)

    added = await alice.ok("POST", path, {"user_id": carol.id}, 201)
    assert [m["username"] for m in added["members"]] == ["alice", "bob", "carol"]
    # The announcement, then the system line ("alice added carol"), which carol gets too.
    assert await events.new() == {
        "alice": ["conversation_update", "message"],
        "bob": ["conversation_update", "message"],
        "carol": ["conversation_update", "message", "notification"],
    }
    assert {p.reason for ps in events.payloads.values() for p in ps if hasattr(p, "reason")} == {
        "member_added"
    }
    line = events.payloads["carol"][1].message
    assert (line.system.action, line.system.actor.id, line.system.target.id) == (
        "added",
        alice.id,
        carol.id,
    )
    assert line.content == "" and line.sender.id == alice.id
    assert (await carol.ok("GET", f"/api/conversations/{group['id']}"))["id"] == group["id"]

    assert_error(await alice.post(path, {"user_id": carol.id}), 409, "already_member")
    assert_error(await alice.post(path, {"user_id": dave.id}), 403, "not_friends")
    assert_error(await alice.post(path, {"user_id": 999}), 404, "unknown_user")
    assert_error(await dave.post(path, {"user_id": dave.id}), 404, "not_found")
    for body in ({}, {"user_id": "x"}, {"user_id": 0}, {"user_id": carol.id, "role": "admin"}):
        assert_error(await alice.post(path, body), 422, "validation_error")
    # Only admins remove others.
    assert_error(await bob.delete(f"{path}/{carol.id}"), 403, "not_admin")
    assert await events.new() == {}

    response = await alice.delete(f"{path}/{carol.id}")
    assert response.status_code == 204
    assert await events.new() == {
        "carol": ["conversation_update"],
        "alice": ["message", "conversation_update"],
        "bob": ["message", "conversation_update"],
    }
    [removed] = events.payloads["carol"]
    assert (removed.reason, removed.conversation) == ("removed", None)
    assert events.payloads["bob"][0].message.system.action == "removed"
    assert events.payloads["bob"][1].reason == "member_removed"
    assert_error(await carol.get(f"/api/conversations/{group['id']}"), 404, "not_found")
    assert_error(await alice.delete(f"{path}/{carol.id}"), 404, "not_a_member")

    # Anyone leaves.
    response = await bob.delete(f"{path}/{bob.id}")
    assert response.status_code == 204
    assert await events.new() == {
        "bob": ["conversation_update"],
        "alice": ["message", "conversation_update"],
    }
    assert await _conversation_ids(bob) == []
    left = await alice.ok("GET", f"/api/conversations/{group['id']}")
    assert [m["username"] for m in left["members"]] == ["alice"]


async def test_direct_conversations_have_fixed_members(make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dm = await alice.dm(bob)
    path = f"/api/conversations/{dm['id']}/members"
    assert_error(await alice.post(path, {"user_id": carol.id}), 409, "not_a_group")
    assert_error(await alice.delete(f"{path}/{alice.id}"), 409, "not_a_group")
    assert_error(await alice.delete(f"{path}/{bob.id}"), 409, "not_a_group")


async def test_non_members_get_404_everywhere(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    eve = await make_user("eve")
    dm = await alice.dm(bob)
    message = await alice.send(dm["id"], "secret")
    events = await EventLog.start(server)
    for conversation_id in (dm["id"], 999):
        base = f"/api/conversations/{conversation_id}"
        requests = [
            ("GET", base, None),
            ("GET", f"{base}/messages", None),
            ("POST", f"{base}/messages", {"content": "hi"}),
            ("POST", f"{base}/read", None),
            ("POST", f"{base}/read", {"message_id": message["id"]}),
            ("POST", f"{base}/members", {"user_id": eve.id}),
            ("DELETE", f"{base}/members/{eve.id}", None),
            ("DELETE", f"{base}/members/{bob.id}", None),
        ]
        for method, path, body in requests:
            response = await eve.client.request(method, path, json=body)
            detail = assert_error(response, 404, "not_found")["detail"]
            assert "secret" not in detail
    assert await events.new() == {}
    assert await _conversation_ids(eve) == []


async def test_invalid_conversation_ids_are_422(make_user):
    alice = await make_user("alice")
    # Thousands of digits too: more than Python's int() takes from a string (a 500 if parsed
    # by hand), and more than the path converter of the plain send route matches.
    for conversation_id in ("0", "-3", "abc", "2147483648", "1.5", "9" * 5000):
        for method, path in [
            ("GET", ""),
            ("GET", "/messages"),
            ("POST", "/messages"),
            ("POST", "/read"),
            ("POST", "/members"),
            ("DELETE", f"/members/{alice.id}"),
        ]:
            response = await alice.client.request(
                method, f"/api/conversations/{conversation_id}{path}", json={"content": "x"}
            )
            assert_error(response, 422, "validation_error")
        response = await alice.delete(f"/api/conversations/1/members/{conversation_id}")
        assert_error(response, 422, "validation_error")


# --- messages -------------------------------------------------------------------------------


async def test_sending_a_message_in_a_dm(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    events = await EventLog.start(server)

    response = await alice.post(f"/api/conversations/{dm['id']}/messages", {"content": "  hi  "})
    assert response.status_code == 201, response.text
    message = response.json()["message"]
    assert set(message) == {
        *("id", "conversation_id", "sender", "content", "created_at", "client_id"),
        *("reply_to", "edited_at", "deleted", "reactions", "attachments", "system"),
    }
    assert message["client_id"] is None  # sent without one
    assert message["reply_to"] is None and message["edited_at"] is None
    assert message["deleted"] is False
    assert message["reactions"] == [] and message["attachments"] == []
    assert message["content"] == "hi"
    assert message["conversation_id"] == dm["id"]
    assert message["sender"] == alice.user
    # One event for the conversation, which both members' streams get; nothing else.
    assert await events.new() == {"bob": ["message"], "alice": ["message"]}
    [for_bob], [for_alice] = events.payloads["bob"], events.payloads["alice"]
    assert for_bob == for_alice
    assert for_bob.message.model_dump(mode="json") == message
    # What a client derives from it is what a fresh fetch shows.
    bobs = await bob.ok("GET", f"/api/conversations/{dm['id']}")
    assert (bobs["last_message"], bobs["unread_count"]) == (message, 1)
    alices = await alice.ok("GET", f"/api/conversations/{dm['id']}")
    assert (alices["last_message"], alices["unread_count"]) == (message, 0)
    assert bobs["updated_at"] == message["created_at"]


async def test_a_group_message_reaches_every_other_member(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = await alice.group("g", bob, carol)
    events = await EventLog.start(server)
    await bob.send(group["id"], "hello all")
    assert await events.new() == {"alice": ["message"], "carol": ["message"], "bob": ["message"]}
    # Stored once: one event row for the whole group.
    async with server.ctx.db.query_session() as session:
        rows = (
            (await session.execute(select(EventRecord).where(EventRecord.type == "message")))
            .scalars()
            .all()
        )
    assert [(r.user_id, r.channel_id) for r in rows] == [(None, group["id"])]


BAD_MESSAGES: list[tuple[str, dict[str, object] | bytes, str]] = [
    ("missing", {}, "empty_message"),
    ("empty", {"content": ""}, "empty_message"),
    ("blank", {"content": " \n\t "}, "empty_message"),
    ("too-long", {"content": "x" * 4001}, "validation_error"),
    ("number", {"content": 5}, "validation_error"),
    ("list", {"content": ["hi"]}, "validation_error"),
    ("nul", {"content": "a\x00b"}, "validation_error"),
    ("lone-surrogate", b'{"content": "x\\ud800y"}', "validation_error"),
    ("extra-field", {"content": "hi", "sender_id": 1}, "validation_error"),
    ("malformed", b'{"content": "hi"', "invalid_json"),
    ("not-utf8", b"\xc3\x28", "invalid_json"),
    ("no-body", b"", "validation_error"),
    ("null", b"null", "validation_error"),
]
NOT_JSON_MEDIA_TYPES = ["text/plain", "application/x-www-form-urlencoded", None]
"""A JSON document sent as another media type (or none) is not read as one (as FastAPI)."""


async def test_sending_refuses_bad_input(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    events = await EventLog.start(server)
    path = f"/api/conversations/{dm['id']}/messages"
    for name, body, code in BAD_MESSAGES:
        if isinstance(body, bytes):
            response = await alice.client.post(
                path, content=body, headers={"content-type": "application/json"}
            )
        else:
            response = await alice.post(path, body)
        assert response.status_code == 422, (name, response.text)
        assert_error(response, 422, code)
    # Not JSON at all: answered as such before the session is even checked (as FastAPI does).
    async with httpx.AsyncClient(base_url=alice.client.base_url) as signed_out:
        response = await signed_out.post(
            path, content=b'{"content": "hi"', headers={"content-type": "application/json"}
        )
    assert_error(response, 422, "invalid_json")
    # Other methods on the path: answered by the FastAPI routes of the path, as before.
    response = await alice.client.put(path, json={"content": "hi"})
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    for media_type in NOT_JSON_MEDIA_TYPES:
        headers = {"content-type": media_type} if media_type else {}
        response = await alice.client.post(path, content=b'{"content": "hi"}', headers=headers)
        assert_error(response, 422, "validation_error")
    assert await events.new() == {}
    assert (await alice.ok("GET", path))["messages"] == []


async def test_content_is_trimmed_and_may_be_4000_characters(make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    longest = "é" * 4000
    assert (await alice.send(dm["id"], f"  {longest}\n"))["content"] == longest
    assert (await alice.send(dm["id"], "😀 \u202e ok"))["content"] == "😀 \u202e ok"


# --- pagination --------------------------------------------------------------------------------


async def test_message_pages_are_oldest_first_with_exact_has_more(make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    path = f"/api/conversations/{dm['id']}/messages"
    ids = [(await (alice, bob)[i % 2].send(dm["id"], f"m{i}"))["id"] for i in range(5)]

    async def page(**params: object) -> tuple[list[int], bool]:
        response = await bob.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"messages", "has_more", "has_newer"}
        return [m["id"] for m in body["messages"]], body["has_more"]

    assert await page() == (ids, False)
    assert await page(before="", limit="") == (ids, False)  # empty values: the defaults
    assert await page(limit=5) == (ids, False)
    assert await page(limit=4) == (ids[1:], True)
    assert await page(limit=1) == (ids[-1:], True)
    assert await page(limit=100) == (ids, False)
    assert await page(before=ids[1], limit=4) == (ids[:1], False)
    assert await page(before=ids[2], limit=1) == (ids[1:2], True)
    assert await page(before=ids[2], limit=2) == (ids[:2], False)
    assert await page(before=ids[0]) == ([], False)
    assert await page(before=ids[-1] + 1000) == (ids, False)
    # Walking back page by page visits every message once.
    seen: list[int] = []
    before: int | None = None
    while True:
        got, more = await page(limit=2) if before is None else await page(limit=2, before=before)
        seen = got + seen
        if not more:
            break
        before = got[0]
    assert seen == ids

    messages = (await bob.ok("GET", path))["messages"]
    assert [m["content"] for m in messages] == [f"m{i}" for i in range(5)]
    assert [m["sender"]["username"] for m in messages] == ["alice", "bob"] * 2 + ["alice"]

    bad: list[dict[str, object]] = [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"before": 0},
        {"before": "x"},
    ]
    for params in bad:
        assert_error(await bob.get(path, params=params), 422, "validation_error")


# --- listing, reading, unread counts ------------------------------------------------------------


async def test_conversations_are_listed_by_latest_activity(make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dm = await alice.dm(bob)
    group = await alice.group("g", bob, carol)
    assert await _conversation_ids(alice) == [group["id"], dm["id"]]
    await bob.send(dm["id"], "newer")
    body = await alice.ok("GET", "/api/conversations")
    assert set(body) == {"conversations", "last_event_id"}
    assert [c["id"] for c in body["conversations"]] == [dm["id"], group["id"]]
    first = body["conversations"][0]
    assert set(first) == CONVERSATION_FIELDS
    assert first["last_message"]["content"] == "newer"
    assert first["unread_count"] == 1
    assert body["conversations"][1]["last_message"] is None
    assert await _conversation_ids(carol) == [group["id"]]


async def test_reading_updates_unread_counts(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    group = await alice.group("g", bob)
    await alice.send(dm["id"], "before bob's answer")
    await bob.send(dm["id"], "my own message is never unread, and it reads what came before")
    in_dm = [await alice.send(dm["id"], f"m{i}") for i in range(3)]
    in_group = await alice.send(group["id"], "elsewhere")

    async def unread() -> tuple[dict[int, int], int]:
        listed = await bob.ok("GET", "/api/conversations")
        notifications = await bob.ok("GET", "/api/notifications")
        return (
            {c["id"]: c["unread_count"] for c in listed["conversations"]},
            notifications["unread_count"],
        )

    # bob: friend request + added to group; messages are counted per conversation only
    assert await unread() == ({dm["id"]: 3, group["id"]: 1}, 2)
    alice_view = await alice.ok("GET", "/api/conversations")
    assert {c["id"]: c["unread_count"] for c in alice_view["conversations"]} == {
        dm["id"]: 0,  # bob's message came before her last three
        group["id"]: 0,
    }
    events = await EventLog.start(server)
    read_path = f"/api/conversations/{dm['id']}/read"

    result = await bob.ok("POST", read_path, {"message_id": in_dm[1]["id"]})
    assert result["conversation"]["unread_count"] == 1
    assert result["conversation"]["last_read_message_id"] == in_dm[1]["id"]
    assert result["notifications_unread_count"] == 2
    assert await events.new() == {"bob": ["conversation_update"]}
    [update] = events.payloads["bob"]
    assert (update.reason, update.conversation.unread_count) == ("read", 1)
    assert update.conversation.last_read_message_id == in_dm[1]["id"]
    assert update.conversation.members is None
    assert await unread() == ({dm["id"]: 1, group["id"]: 1}, 2)

    # Reading an older message again changes nothing and tells nobody.
    again = await bob.ok("POST", read_path, {"message_id": in_dm[0]["id"]})
    assert again == result
    assert await events.new() == {}

    everything = await bob.ok("POST", read_path)  # no body: everything
    assert everything["conversation"]["unread_count"] == 0
    assert everything["notifications_unread_count"] == 2
    assert await events.new() == {"bob": ["conversation_update"]}
    assert await bob.ok("POST", read_path, {}) == everything
    assert await events.new() == {}
    assert await unread() == ({dm["id"]: 0, group["id"]: 1}, 2)

    # A message of another conversation, or none at all, is not found.
    for message_id in (in_group["id"], 999):
        response = await bob.post(read_path, {"message_id": message_id})
        assert_error(response, 404, "not_found")
    for body in ({"message_id": 0}, {"message_id": "x"}, {"message_id": 1, "x": 1}):
        assert_error(await bob.post(read_path, body), 422, "validation_error")
    assert await events.new() == {}


async def test_concurrent_writes_to_overlapping_conversations_stay_consistent(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    await bob.befriend(carol)
    users = {"alice": alice, "bob": bob, "carol": carol}
    dms = await asyncio.gather(alice.dm(bob), bob.dm(alice), alice.dm(bob))
    assert len({dm["id"] for dm in dms}) == 1
    conversations = [dms[0], await bob.dm(carol), await alice.group("g", bob, carol)]
    members = {c["id"]: [m["username"] for m in c["members"]] for c in conversations}
    events = await EventLog.start(server)
    before = {name: (await _notifications_unread(user)) for name, user in users.items()}

    sends = [
        (name, conversation["id"])
        for conversation in conversations
        for name in members[conversation["id"]]
        for _ in range(2)
    ]
    responses = await asyncio.gather(
        *[
            users[name].post(f"/api/conversations/{cid}/messages", {"content": "x"})
            for name, cid in sends
        ]
    )
    assert [r.status_code for r in responses] == [201] * len(sends), [r.text for r in responses]

    sent_ids = [r.json()["message"]["id"] for r in responses]
    for name, user in users.items():
        listed = (await user.ok("GET", "/api/conversations"))["conversations"]
        # Unread: the others' messages after the member's own last one (which read the rest).
        expected = {
            cid: sum(
                1
                for (sender, c), message_id in zip(sends, sent_ids, strict=True)
                if c == cid
                and sender != name
                and message_id
                > max(
                    m for (s, c2), m in zip(sends, sent_ids, strict=True) if s == name and c2 == cid
                )
            )
            for cid, names in members.items()
            if name in names
        }
        assert {c["id"]: c["unread_count"] for c in listed} == expected
        assert await _notifications_unread(user) == before[name]
    recorded_types = await events.new()
    for name in users:
        received = sum(1 for _, c in sends if name in members[c])
        assert recorded_types[name].count("message") == received

    responses = await asyncio.gather(
        *[
            users[name].post(f"/api/conversations/{cid}/read")
            for cid, names in members.items()
            for name in names
        ],
        *[user.post("/api/notifications/read-all") for user in users.values()],
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for user in users.values():
        listed = (await user.ok("GET", "/api/conversations"))["conversations"]
        assert all(c["unread_count"] == 0 for c in listed)
        assert await _notifications_unread(user) == 0


async def _notifications_unread(user) -> int:
    return int((await user.ok("GET", "/api/notifications"))["unread_count"])


async def test_a_repeated_client_id_is_the_same_message_with_the_original_answer(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = await alice.dm(bob)
    path = f"/api/conversations/{dm['id']}/messages"
    events = await EventLog.start(server)

    first = await alice.post(path, {"content": "ok", "client_id": "tab1-0001"})
    assert first.status_code == 201, first.text
    assert first.json()["message"]["client_id"] == "tab1-0001"
    again = await alice.post(path, {"content": "ok", "client_id": "tab1-0001"})
    assert (again.status_code, again.json()) == (201, first.json())
    # The same text under another id is another message.
    other = await alice.post(path, {"content": "ok", "client_id": "tab1-0002"})
    assert other.status_code == 201
    assert other.json()["message"]["id"] != first.json()["message"]["id"]

    assert await events.new() == {"alice": ["message"] * 2, "bob": ["message"] * 2}
    sent = [p.message for p in events.payloads["bob"]]
    assert [(m.id, m.client_id) for m in sent] == [
        (first.json()["message"]["id"], "tab1-0001"),
        (other.json()["message"]["id"], "tab1-0002"),
    ]
    history = (await alice.ok("GET", f"{path}"))["messages"]
    assert [m["client_id"] for m in history] == ["tab1-0001", "tab1-0002"]
    # Client ids are per sender: bob may use the same one for a message of his own.
    theirs = await bob.post(path, {"content": "ok", "client_id": "tab1-0001"})
    assert theirs.status_code == 201
    assert theirs.json()["message"]["id"] not in {m["id"] for m in history}


async def test_concurrent_sends_with_one_client_id_store_one_message(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    group = await alice.group("g", bob)
    path = f"/api/conversations/{group['id']}/messages"
    events = await EventLog.start(server)

    answers = await asyncio.gather(
        *(alice.post(path, {"content": "once", "client_id": "double-submit"}) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["message"]["id"] for a in answers}) == 1
    assert await events.new() == {"alice": ["message"], "bob": ["message"]}
    history = (await bob.ok("GET", path))["messages"]
    assert [m["content"] for m in history] == ["once"]


async def test_a_client_id_reused_for_another_message_is_refused(server, make_user):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    dm, other_dm = await alice.dm(bob), await alice.dm(carol)
    path = f"/api/conversations/{dm['id']}/messages"
    assert (await alice.post(path, {"content": "one", "client_id": "c-1"})).status_code == 201
    events = await EventLog.start(server)

    assert_error(
        await alice.post(path, {"content": "two", "client_id": "c-1"}), 409, "client_id_reused"
    )
    elsewhere = f"/api/conversations/{other_dm['id']}/messages"
    assert_error(
        await alice.post(elsewhere, {"content": "one", "client_id": "c-1"}), 409, "client_id_reused"
    )
    for bad in ("", "x" * 65, "has space", "ünïcode", 7):
        assert_error(await alice.post(path, {"content": "hi", "client_id": bad}), 422)
    assert await events.new() == {}
    # Still answering the first one's repeats.
    assert (await alice.post(path, {"content": "one", "client_id": "c-1"})).status_code == 201


async def test_the_actions_record_their_events(server, make_user, published):
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    names = {alice.id: "alice", bob.id: "bob", carol.id: "carol"}
    me = await db_user(server, alice)

    def who(events: list[StoredEvent]) -> list[tuple[str, str]]:
        """(addressee, type) per event: a user's name, or "#<id>" for a conversation."""
        return [
            (names[e.user_id] if e.user_id is not None else f"#{e.channel_id}", e.type)
            for e in events
        ]

    with published.during() as opened_events:
        opened = await actions.open_direct(server.ctx, me, bob.id)
    assert opened[1] is True
    dm_id = opened[0].id
    assert who(opened_events) == [(f"#{dm_id}", "conversation_update")]
    with published.during() as reopened_events:
        reopened = await actions.open_direct(server.ctx, me, bob.id)
    assert (reopened[0].id, reopened[1], reopened_events) == (dm_id, False, [])

    with published.during() as sent:
        await actions.send_message(server.ctx, me, dm_id, "hi")
    assert who(sent) == [(f"#{dm_id}", "message")]
    with published.during() as created:
        group = await actions.create_group(server.ctx, me, "g", [bob.id])
    g = f"#{group.id}"
    assert who(created) == [(g, "conversation_update"), ("bob", "notification")]
    with published.during() as added:
        await actions.add_member(server.ctx, me, group.id, carol.id)
    assert who(added) == [(g, "conversation_update"), (g, "message"), ("carol", "notification")]
    with published.during() as removed:
        await actions.remove_member(server.ctx, me, group.id, carol.id)
    assert who(removed) == [
        ("carol", "conversation_update"),
        (g, "message"),
        (g, "conversation_update"),
    ]
    with published.during() as read:
        await actions.mark_read(server.ctx, await db_user(server, bob), dm_id, None)
    assert who(read) == [("bob", "conversation_update")]

    everything = [*opened_events, *sent, *created, *added, *removed, *read]
    assert await recorded(server, everything) == everything
    for event in everything:
        validate_event(event)


async def test_a_retry_of_a_stored_message_is_answered_with_it_when_a_new_send_would_be_refused(
    server, make_user
):
    """An outbox retrying after a lost answer must learn that its message was sent, even if
    since then it was edited, its sender left, its reply target was deleted, or the DM was
    blocked: a new send would be refused, the repeat is not."""
    alice, bob, carol = await friends(make_user, "alice", "bob", "carol")
    group = (await alice.group("trip", bob, carol))["id"]
    path = f"/api/conversations/{group}/messages"
    target = await carol.send(group, "Which train?")
    photo = await upload(bob, b"hello file", "text/plain", "plan.txt")
    send = {
        "content": "The 9:10",
        "client_id": "bob-1",
        "reply_to_id": target["id"],
        "attachment_ids": [photo["id"]],
    }
    first = (await bob.ok("POST", path, send, 201))["message"]
    assert [a["id"] for a in first["attachments"]] == [photo["id"]]
    events = await EventLog.start(server)

    # Edited since: a repeat of the text as sent is the message (as it is now).
    await bob.ok("PATCH", f"{path}/{first['id']}", {"content": "The 9:40"})
    again = (await bob.ok("POST", path, send, 201))["message"]
    assert (again["id"], again["content"]) == (first["id"], "The 9:40")
    assert_error(await bob.post(path, {**send, "content": "The 9:50"}), 409, "client_id_reused")
    # The reply target deleted, then the sender removed from the group.
    await carol.ok("DELETE", f"{path}/{target['id']}")
    assert (await bob.ok("POST", path, send, 201))["message"]["id"] == first["id"]
    await alice.ok("DELETE", f"/api/conversations/{group}/members/{bob.id}", status=204)
    assert (await bob.ok("POST", path, send, 201))["message"]["id"] == first["id"]
    # ...while a new message is refused as before.
    assert_error(await bob.post(path, {"content": "new", "client_id": "bob-2"}), 404)

    # A blocked DM.
    dm = (await alice.dm(bob))["id"]
    dm_send = {"content": "see you", "client_id": "bob-3"}
    sent = (await bob.ok("POST", f"/api/conversations/{dm}/messages", dm_send, 201))["message"]
    await alice.ok("PUT", f"/api/blocks/{bob.id}")
    repeat = await bob.ok("POST", f"/api/conversations/{dm}/messages", dm_send, 201)
    assert repeat["message"]["id"] == sent["id"]
    # Nothing was stored or announced again: the only message is the DM's one.
    await events.new()
    written = {
        name: [p.message.content for p in payloads if p.type == "message" and not p.message.system]
        for name, payloads in events.payloads.items()
    }
    assert written == {"alice": ["see you"], "bob": ["see you"], "carol": []}


@pytest.mark.settings(rate_limit_send="2/minute")
async def test_a_retry_past_the_rate_limit_is_answered_with_the_stored_message(server, make_user):
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    path = f"/api/conversations/{dm}/messages"
    first = await alice.ok("POST", path, {"content": "one", "client_id": "a-1"}, 201)
    await alice.ok("POST", path, {"content": "two", "client_id": "a-2"}, 201)
    assert_error(await alice.post(path, {"content": "three", "client_id": "a-3"}), 429)
    assert await alice.ok("POST", path, {"content": "one", "client_id": "a-1"}, 201) == first
