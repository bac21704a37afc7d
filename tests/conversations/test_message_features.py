"""Edit, delete, replies, reactions, mentions and pages around a message, over HTTP.

Every write is checked for its answer, its errors (4xx with a JSON body), and the events it
recorded for each user (``EventLog``: the replay path; ``dave`` is a bystander who shares no
conversation and must get nothing); one test reads the same events live from streams.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from tests.api_helpers import EventLog, assert_error, friends
from tests.support.api import ApiUser
from tests.support.sse import open_stream

THUMBS = "👍"


async def _setup(make_user: Any) -> tuple[ApiUser, ApiUser, ApiUser, ApiUser, dict[str, Any]]:
    """alice (the group's creator), bob and carol in a group; dave, a friend of alice in none."""
    alice, bob, carol, dave = await friends(make_user, "alice", "bob", "carol", "dave")
    return alice, bob, carol, dave, await alice.group("g", bob, carol)


def _messages(conversation: dict[str, Any]) -> str:
    return f"/api/conversations/{conversation['id']}/messages"


async def test_editing_your_message_tells_every_member_and_keeps_the_history(server, make_user):
    alice, bob, carol, _dave, group = await _setup(make_user)
    sent = await bob.send(group["id"], "helo")
    events = await EventLog.start(server)
    path = f"{_messages(group)}/{sent['id']}"

    edited = (await bob.ok("PATCH", path, {"content": "  hello  "}))["message"]
    assert (edited["id"], edited["content"]) == (sent["id"], "hello")
    assert edited["edited_at"] is not None and edited["edited_at"] >= sent["created_at"]
    assert edited["created_at"] == sent["created_at"]
    assert await events.new() == {name: ["message_updated"] for name in ("alice", "bob", "carol")}
    assert events.payloads["carol"][0].message.model_dump(mode="json") == edited

    second = (await bob.ok("PATCH", path, {"content": "hello all"}))["message"]
    history = await carol.ok("GET", f"{path}/edits")
    assert [e["content"] for e in history["edits"]] == ["helo", "hello"]
    assert history["edits"][0]["written_at"] == sent["created_at"]
    assert history["edits"][1]["written_at"] == edited["edited_at"]
    assert history["edits"][1]["replaced_at"] == second["edited_at"]
    page = await alice.ok("GET", _messages(group))
    assert [(m["content"], m["edited_at"]) for m in page["messages"]] == [
        ("hello all", second["edited_at"])
    ]
    # The sidebar's last message is the edited one.
    [entry] = (await alice.ok("GET", "/api/conversations"))["conversations"][:1]
    assert entry["last_message"]["content"] == "hello all"
    await events.new()

    # The same text again: no edit, no event.
    assert (await bob.ok("PATCH", path, {"content": "hello all"}))["message"] == second
    assert await events.new() == {}


async def test_editing_refuses_what_is_not_yours_or_not_there(server, make_user):
    alice, bob, _carol, dave, group = await _setup(make_user)
    sent = await bob.send(group["id"], "mine")
    dm = await alice.dm(dave)
    elsewhere = await alice.send(dm["id"], "in the dm")
    events = await EventLog.start(server)
    path = f"{_messages(group)}/{sent['id']}"

    assert_error(await alice.client.patch(path, json={"content": "x"}), 403, "not_your_message")
    assert_error(await dave.client.patch(path, json={"content": "x"}), 404, "not_found")
    assert_error(await dave.client.get(f"{path}/edits"), 404, "not_found")
    other = f"{_messages(group)}/{elsewhere['id']}"  # a message of another conversation
    assert_error(await alice.client.patch(other, json={"content": "x"}), 404, "not_found")
    assert_error(await alice.client.get(f"{other}/edits"), 404, "not_found")
    assert_error(await bob.client.patch(f"{_messages(group)}/999", json={"content": "x"}), 404)
    for body in ({}, {"content": ""}, {"content": "  "}, {"content": "x" * 4001}, {"x": 1}):
        assert_error(await bob.client.patch(path, json=body), 422, "validation_error")
    surrogate = b'{"content": "\\udc00 alone"}'
    response = await bob.client.patch(
        path, content=surrogate, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "validation_error")
    await bob.ok("DELETE", path)
    await events.new()
    response = await bob.client.patch(path, json={"content": "back"})
    assert_error(response, 409, "message_deleted")
    assert await events.new() == {}


async def test_deleting_leaves_a_placeholder_and_fixes_unread_counts(server, make_user):
    alice, bob, carol, dave, group = await _setup(make_user)
    first = await bob.send(group["id"], "first")
    reply = await carol.ok(
        "POST", _messages(group), {"content": "re", "reply_to_id": first["id"]}, 201
    )
    last = await bob.send(group["id"], "last, with a typo")
    await alice.ok("PUT", f"{_messages(group)}/{last['id']}/reactions/{THUMBS}")
    await bob.ok("PATCH", f"{_messages(group)}/{last['id']}", {"content": "last"})

    async def unread(user: ApiUser) -> int:
        listed = await user.ok("GET", "/api/conversations")
        [entry] = [c for c in listed["conversations"] if c["id"] == group["id"]]
        return int(entry["unread_count"])

    assert await unread(alice) == 3
    events = await EventLog.start(server)
    path = f"{_messages(group)}/{last['id']}"
    assert_error(await carol.client.delete(path), 403, "not_your_message")
    assert_error(await dave.client.delete(path), 404, "not_found")
    assert await events.new() == {}

    placeholder = (await bob.ok("DELETE", path))["message"]
    assert placeholder["deleted"] is True
    assert (placeholder["content"], placeholder["reactions"], placeholder["attachments"]) == (
        "",
        [],
        [],
    )
    assert await events.new() == {name: ["message_deleted"] for name in ("alice", "bob", "carol")}
    assert await unread(alice) == 2  # one unread message fewer for her
    assert await unread(carol) == 0  # it came after her reply: it was unread, and is gone
    listed = (await alice.ok("GET", "/api/conversations"))["conversations"]
    [entry] = [c for c in listed if c["id"] == group["id"]]
    assert entry["last_message"]["deleted"] is True  # the sidebar shows "message deleted"
    history = await alice.ok("GET", f"{path}/edits")
    assert history["edits"] == []  # what it said is gone, its earlier versions too
    assert (await bob.ok("DELETE", path))["message"] == placeholder  # again: nothing changes
    assert await events.new() == {}

    # The group's creator may delete anyone's message; the quote of its reply says so.
    await alice.ok("DELETE", f"{_messages(group)}/{first['id']}")
    page = await bob.ok("GET", _messages(group))
    by_id = {m["id"]: m for m in page["messages"]}
    assert by_id[reply["message"]["id"]]["reply_to"] == {
        "id": first["id"],
        "sender": bob.user,
        "excerpt": "",
        "deleted": True,
        "attachment_count": 0,
    }
    # In a DM nobody deletes the other's messages.
    dm = await alice.dm(bob)
    theirs = await bob.send(dm["id"], "mine")
    assert_error(await alice.client.delete(f"{_messages(dm)}/{theirs['id']}"), 403)


async def test_a_reply_quotes_its_original_as_it_is_now(server, make_user):
    alice, bob, carol, _dave, group = await _setup(make_user)
    original = await alice.send(group["id"], "x" * 300)
    events = await EventLog.start(server)
    sent = await bob.ok(
        "POST", _messages(group), {"content": "agreed", "reply_to_id": original["id"]}, 201
    )
    quote = sent["message"]["reply_to"]
    assert quote == {
        "id": original["id"],
        "sender": alice.user,
        "excerpt": "x" * 200,
        "deleted": False,
        "attachment_count": 0,
    }
    assert await events.new() == {name: ["message"] for name in ("alice", "bob", "carol")}
    assert events.payloads["carol"][0].message.reply_to.model_dump() == quote

    await alice.ok("PATCH", f"{_messages(group)}/{original['id']}", {"content": "short"})
    page = await carol.ok("GET", _messages(group))
    assert page["messages"][-1]["reply_to"]["excerpt"] == "short"

    dm = await alice.dm(bob)
    in_dm = await alice.send(dm["id"], "private")
    for reply_to, code in ((in_dm["id"], "reply_to_unknown"), (999, "reply_to_unknown")):
        response = await carol.post(_messages(group), {"content": "re", "reply_to_id": reply_to})
        assert_error(response, 422, code)
    deleted = await carol.send(group["id"], "soon gone")
    await carol.ok("DELETE", f"{_messages(group)}/{deleted['id']}")
    response = await bob.post(_messages(group), {"content": "re", "reply_to_id": deleted["id"]})
    assert_error(response, 422, "reply_to_deleted")
    for bad in (0, "1", -1, True):
        response = await bob.post(_messages(group), {"content": "re", "reply_to_id": bad})
        assert_error(response, 422, "validation_error")


async def test_reactions_are_grouped_per_emoji_and_reach_every_member(server, make_user):
    alice, bob, carol, dave, group = await _setup(make_user)
    sent = await alice.send(group["id"], "party?")
    events = await EventLog.start(server)
    base = f"{_messages(group)}/{sent['id']}/reactions"

    answer = await bob.ok("PUT", f"{base}/{quote(THUMBS)}")
    assert answer == {
        "conversation_id": group["id"],
        "message_id": sent["id"],
        "reactions": [{"emoji": THUMBS, "count": 1, "user_ids": [bob.id]}],
    }
    assert await events.new() == {name: ["message_reactions"] for name in ("alice", "bob", "carol")}
    assert events.payloads["alice"][0].model_dump(exclude={"type"}) == answer
    await carol.ok("PUT", f"{base}/{THUMBS}")
    skin_tone, family, flag = "👍🏽", "👨‍👩‍👧", "🇫🇷"
    for emoji in (skin_tone, family, flag):
        await carol.ok("PUT", f"{base}/{quote(emoji)}")
    again = await bob.ok("PUT", f"{base}/{THUMBS}")  # already there: no change, no event
    assert [(g["emoji"], g["count"], g["user_ids"]) for g in again["reactions"]] == [
        (THUMBS, 2, [bob.id, carol.id]),
        (skin_tone, 1, [carol.id]),
        (family, 1, [carol.id]),
        (flag, 1, [carol.id]),
    ]
    assert await events.new() == {
        name: ["message_reactions"] * 4 for name in ("alice", "bob", "carol")
    }
    page = await alice.ok("GET", _messages(group))
    assert page["messages"][-1]["reactions"] == again["reactions"]

    removed = await bob.ok("DELETE", f"{base}/{THUMBS}")
    assert removed["reactions"][0] == {"emoji": THUMBS, "count": 1, "user_ids": [carol.id]}
    await bob.ok("DELETE", f"{base}/{THUMBS}")  # not there: no change
    assert await events.new() == {name: ["message_reactions"] for name in ("alice", "bob", "carol")}

    # Not one emoji; not a member; not a message of this conversation; a deleted message.
    # One emoji however it is spelled: with or without its variation selector.
    heart = await bob.ok("PUT", f"{base}/{quote(chr(0x2764))}")
    assert heart["reactions"][-1] == {"emoji": "\u2764\ufe0f", "count": 1, "user_ids": [bob.id]}
    again = await carol.ok("PUT", f"{base}/{quote(chr(0x2764) + chr(0xFE0F))}")
    assert again["reactions"][-1]["user_ids"] == [bob.id, carol.id]
    await bob.ok("DELETE", f"{base}/{quote(chr(0x2764) + chr(0xFE0F))}")
    await carol.ok("DELETE", f"{base}/{quote(chr(0x2764))}")
    await events.new()
    for bad in ("a", "👍👍", ":)", "%20", quote("🏻")):
        assert_error(await bob.client.put(f"{base}/{bad}"), 422, "not_an_emoji")
    assert_error(await bob.client.put(f"{base}/{'x' * 40}"), 422, "validation_error")
    assert_error(await dave.client.put(f"{base}/{THUMBS}"), 404, "not_found")
    assert_error(await dave.client.delete(f"{base}/{THUMBS}"), 404, "not_found")
    assert_error(await bob.client.put(f"{_messages(group)}/999/reactions/{THUMBS}"), 404)
    await alice.ok("DELETE", f"{_messages(group)}/{sent['id']}")
    await events.new()
    assert_error(await bob.client.put(f"{base}/{THUMBS}"), 409, "message_deleted")
    assert await events.new() == {}


async def test_a_message_takes_at_most_twenty_different_emoji(server, make_user):
    alice, bob, carol, _dave, group = await _setup(make_user)
    sent = await alice.send(group["id"], "vote")
    base = f"{_messages(group)}/{sent['id']}/reactions"
    emoji = [chr(0x1F600 + i) for i in range(21)]
    for one in emoji[:20]:
        await bob.ok("PUT", f"{base}/{one}")
    assert_error(await carol.client.put(f"{base}/{emoji[20]}"), 409, "too_many_reactions")
    await carol.ok("PUT", f"{base}/{emoji[0]}")  # one of the twenty: fine


async def test_a_mention_notifies_the_members_named(server, make_user):
    alice, bob, carol, dave, group = await _setup(make_user)
    events = await EventLog.start(server)
    sent = await alice.send(group["id"], "@bob and @Carol, meet @dave (not here) and me @alice")
    recorded = await events.new()
    assert recorded == {
        "alice": ["message"],
        "bob": ["message", "notification"],
        "carol": ["message", "notification"],
    }
    for name in ("bob", "carol"):
        notification = events.payloads[name][1].notification
        assert (notification.type, notification.message_id) == ("mention", sent["id"])
        assert (notification.conversation_id, notification.actor.id) == (group["id"], alice.id)
    # Not a mention: inside a word, an e-mail address, an unknown name, code, a link.
    await alice.send(group["id"], "mail bob@example.com, x@bobby, foo@bob")
    await alice.send(group["id"], "`@bob` in code, https://example.com/@bob, ```\n@carol\n```")
    assert await events.new() == {name: ["message"] * 2 for name in ("alice", "bob", "carol")}

    # An edit that names someone new tells them (and nobody named before again); deleting the
    # message reads its mentions.
    path = f"{_messages(group)}/{sent['id']}"
    await alice.ok("PATCH", path, {"content": "@bob and @carol"})
    assert await events.new() == {name: ["message_updated"] for name in ("alice", "bob", "carol")}
    await alice.ok("POST", f"/api/conversations/{group['id']}/members", {"user_id": dave.id}, 201)
    await events.new()
    await alice.ok("PATCH", path, {"content": "@bob and @carol, and now @dave"})
    recorded = await events.new()
    assert recorded["dave"] == ["message_updated", "notification"]
    assert recorded["bob"] == recorded["carol"] == ["message_updated"]
    mention = await alice.send(group["id"], "@dave again")
    await events.new()
    await alice.ok("DELETE", f"{_messages(group)}/{mention['id']}")
    assert await events.new() == {
        "alice": ["message_deleted"],
        "bob": ["message_deleted"],
        "carol": ["message_deleted"],
        "dave": ["notification_read", "message_deleted"],
    }

    # Taking a name out and putting it back does not tell them again.
    await alice.ok("PATCH", path, {"content": "now without anyone"})
    await alice.ok("PATCH", path, {"content": "and @dave once more"})
    assert (await events.new())["dave"] == ["message_updated", "message_updated"]

    # Answering reads what came before, mentions of you included.
    await alice.send(group["id"], "@carol, over to you")
    await events.new()
    await carol.send(group["id"], "on it")
    assert (await events.new())["carol"] == ["message", "notification_read"]
    listed = (await carol.ok("GET", "/api/notifications"))["notifications"]
    assert [n["read"] for n in listed if n["type"] == "mention"] == [True, True]

    # Reading the conversation reads the mentions in it.
    before = (await bob.ok("GET", "/api/notifications"))["unread_count"]
    result = await bob.ok("POST", f"/api/conversations/{group['id']}/read")
    assert result["notifications_unread_count"] == before - 1
    assert await events.new() == {"bob": ["notification_read", "conversation_update"]}


async def test_sending_marks_the_conversation_read_for_the_sender(server, make_user):
    alice, bob, _carol, _dave, group = await _setup(make_user)
    for text in ("one", "two"):
        await alice.send(group["id"], text)
    mine = await bob.send(group["id"], "I read those")
    listed = (await bob.ok("GET", "/api/conversations"))["conversations"]
    [entry] = [c for c in listed if c["id"] == group["id"]]
    assert (entry["unread_count"], entry["last_read_message_id"]) == (0, mine["id"])


async def test_pages_after_and_around_a_message(server, make_user):
    alice, bob, _carol, dave, group = await _setup(make_user)
    ids = [(await alice.send(group["id"], f"m{i}"))["id"] for i in range(9)]
    path = _messages(group)

    async def page(**params: Any) -> tuple[list[int], bool, bool]:
        body = await bob.ok("GET", path + "?" + "&".join(f"{k}={v}" for k, v in params.items()))
        return [m["id"] for m in body["messages"]], body["has_more"], body["has_newer"]

    assert await page(after=ids[2], limit=3) == (ids[3:6], True, True)
    assert await page(after=ids[5], limit=3) == (ids[6:9], True, False)
    assert await page(after=0, limit=20) == (ids, False, False)
    assert await page(around=ids[4], limit=4) == (ids[2:6], True, True)
    assert await page(around=ids[0], limit=4) == (ids[0:4], False, True)
    assert await page(around=ids[8], limit=4) == (ids[6:9], True, False)
    assert await page(around=ids[4], limit=1) == ([ids[4]], True, True)
    assert await page(around=ids[4], limit=2) == (ids[3:5], True, True)
    assert await page(around=ids[8], limit=1) == ([ids[8]], True, False)
    assert await page(limit=3) == (ids[6:9], True, False)
    for params in ({"after": ids[1], "before": ids[5]}, {"around": ids[1], "after": 1}):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        assert_error(await bob.client.get(f"{path}?{query}"), 422, "conflicting_positions")
    assert_error(await dave.client.get(f"{path}?around={ids[0]}"), 404, "not_found")


async def test_the_new_events_arrive_live_on_every_members_stream(server, make_user):
    alice, bob, _carol, dave, group = await _setup(make_user)
    sent = await alice.send(group["id"], "hello")
    streams = {user.username: await open_stream(user.client) for user in (alice, bob, dave)}
    try:
        for stream in streams.values():
            assert (await stream.next()).event == "connected"
        path = f"{_messages(group)}/{sent['id']}"
        await alice.ok("PATCH", path, {"content": "hello, edited"})
        await bob.ok("PUT", f"{path}/reactions/{THUMBS}")
        await alice.ok("DELETE", path)
        for name in ("alice", "bob"):
            frames = await streams[name].next_events(3)
            assert [f.event for f in frames] == [
                "message_updated",
                "message_reactions",
                "message_deleted",
            ]
            assert frames[0].json["message"]["content"] == "hello, edited"
            assert frames[1].json["reactions"][0]["user_ids"] == [bob.id]
            assert frames[2].json["message"]["deleted"] is True
            assert all(f.id for f in frames)  # durable: replayed after a reconnect
        # dave, in no shared conversation, got nothing: his next frame is his own event.
        await alice.dm(dave)
        assert (await streams["dave"].next()).event == "conversation_update"
    finally:
        await asyncio.gather(*(stream.close() for stream in streams.values()))


async def test_a_deleted_message_never_comes_back_on_a_replay(server, make_user):
    alice, bob, carol, _dave, group = await _setup(make_user)
    start = (await bob.ok("GET", "/api/conversations"))["last_event_id"]
    secret = await alice.send(group["id"], "the password is hunter2")
    path = f"{_messages(group)}/{secret['id']}"
    await alice.ok("PATCH", path, {"content": "the password is hunter3"})
    await carol.ok("POST", _messages(group), {"content": "noted", "reply_to_id": secret["id"]}, 201)
    await bob.ok("POST", f"/api/conversations/{group['id']}/read", {"message_id": secret["id"]})
    await alice.ok("DELETE", path)

    stream = await open_stream(bob.client, last_event_id=start)
    try:
        assert (await stream.next()).event == "connected"
        frames = await stream.next_events(5)
    finally:
        await stream.close()
    assert [f.event for f in frames] == [
        "message",
        "message_updated",
        "message",
        "conversation_update",
        "message_deleted",
    ]
    assert not any("hunter" in f.data for f in frames)
    assert frames[0].json["message"]["deleted"] is True  # its placeholder, in its place
    assert frames[2].json["message"]["reply_to"]["deleted"] is True  # the reply's quote
    # The history and the sidebar agree with the replay.
    page = await bob.ok("GET", _messages(group))
    assert not any("hunter" in m["content"] for m in page["messages"])
