"""Groups over HTTP: roles and what each may do, settings, handing over, leaving, deleting, system
lines, and who each change reaches (live and on a replay), bystanders included."""

from __future__ import annotations

import io
import os
from typing import Any

from PIL import Image
from sqlalchemy import select

from tests.api_helpers import EventLog, assert_error, friends
from tests.support.api import ApiUser
from tests.support.sse import open_stream
from tidings.conversations.models import Conversation, Message


async def _group(make_user: Any) -> tuple[ApiUser, ApiUser, ApiUser, ApiUser, dict[str, Any]]:
    """alice (owner) with bob and carol in a group; dave, alice's friend, in no group."""
    alice, bob, carol, dave = await friends(make_user, "alice", "bob", "carol", "dave")
    return alice, bob, carol, dave, await alice.group("g", bob, carol)


def _noise_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def _base(group: dict[str, Any]) -> str:
    return f"/api/conversations/{group['id']}"


def _roles(view: dict[str, Any]) -> dict[str, str]:
    return {m["username"]: m["role"] for m in view["members"]}


async def test_the_creator_owns_the_group_and_the_others_are_members(make_user):
    alice, _bob, _carol, _dave, group = await _group(make_user)
    assert _roles(group) == {"alice": "owner", "bob": "member", "carol": "member"}
    assert (group["description"], group["avatar_url"], group["members_can_add"]) == ("", None, True)
    dm = await alice.dm(_dave)
    assert _roles(dm) == {"alice": "member", "dave": "member"}


async def test_members_may_not_manage_the_group_and_admins_may(make_user):
    alice, bob, carol, dave, group = await _group(make_user)
    base = _base(group)
    assert_error(await bob.client.patch(base, json={"name": "mine"}), 403, "not_admin")
    assert_error(
        await bob.client.put(f"{base}/members/{carol.id}/role", json={"role": "admin"}),
        403,
        "not_admin",
    )
    assert_error(await bob.delete(f"{base}/members/{carol.id}"), 403, "not_admin")
    assert_error(await bob.delete(base), 403, "not_owner")
    assert_error(await bob.post(f"{base}/transfer", {"user_id": bob.id}), 403, "not_owner")

    promoted = await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
    assert _roles(promoted)["bob"] == "admin"
    renamed = await bob.ok("PATCH", base, {"name": " Hikers ", "description": "Sundays"})
    assert (renamed["name"], renamed["description"]) == ("Hikers", "Sundays")
    # An admin cannot touch owners, nor make one.
    assert_error(await bob.delete(f"{base}/members/{alice.id}"), 403, "is_owner")
    assert_error(
        await bob.client.put(f"{base}/members/{carol.id}/role", json={"role": "owner"}),
        403,
        "not_owner",
    )
    assert_error(
        await bob.client.put(f"{base}/members/{alice.id}/role", json={"role": "member"}),
        403,
        "not_owner",
    )
    # The last owner cannot step down; with a second owner they can.
    assert_error(
        await alice.client.put(f"{base}/members/{alice.id}/role", json={"role": "admin"}),
        409,
        "last_owner",
    )
    await alice.ok("PUT", f"{base}/members/{carol.id}/role", {"role": "owner"})
    stepped = await alice.ok("PUT", f"{base}/members/{alice.id}/role", {"role": "admin"})
    assert _roles(stepped) == {"alice": "admin", "bob": "admin", "carol": "owner"}
    # An admin removes a member, not another admin.
    await carol.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "member"})
    assert_error(await alice.delete(f"{base}/members/{carol.id}"), 403, "is_owner")
    await alice.ok("DELETE", f"{base}/members/{bob.id}", status=204)
    assert_error(
        await carol.client.put(f"{base}/members/{dave.id}/role", json={"role": "admin"}),
        404,
        "not_a_member",
    )
    for body in ({"role": "king"}, {}, {"role": None}):
        assert_error(
            await carol.client.put(f"{base}/members/{alice.id}/role", json=body),
            422,
            "validation_error",
        )
    for body in (
        {"name": ""},
        {"name": "x" * 101},
        {"name": "\u2067friends"},  # a directional isolate would reorder "carol renamed …"
        {"description": "x" * 501},
        {"extra": 1},
    ):
        assert_error(await carol.client.patch(base, json=body), 422, "validation_error")
    # Nobody else sees the group at all.
    assert_error(await dave.client.patch(base, json={"name": "x"}), 404, "not_found")
    assert_error(await dave.delete(base), 404, "not_found")


async def test_whether_members_may_add_people_is_the_groups_choice(make_user):
    alice, bob, carol, _dave, group = await _group(make_user)
    erin = await make_user("erin")
    await bob.befriend(erin)
    base = _base(group)
    closed = await alice.ok("PATCH", base, {"members_can_add": False})
    assert closed["members_can_add"] is False
    assert_error(await bob.post(f"{base}/members", {"user_id": erin.id}), 403, "not_admin")
    await alice.ok("PATCH", base, {"members_can_add": True})
    added = await bob.ok("POST", f"{base}/members", {"user_id": erin.id}, 201)
    assert _roles(added)["erin"] == "member"
    del carol


async def test_handing_ownership_over(make_user):
    alice, bob, _carol, _dave, group = await _group(make_user)
    base = _base(group)
    assert_error(await alice.post(f"{base}/transfer", {"user_id": alice.id}), 409, "is_you")
    assert_error(await alice.post(f"{base}/transfer", {"user_id": 999}), 404, "not_a_member")
    handed = await alice.ok("POST", f"{base}/transfer", {"user_id": bob.id})
    assert _roles(handed) == {"alice": "admin", "bob": "owner", "carol": "member"}
    assert_error(await alice.delete(base), 403, "not_owner")


async def test_when_the_last_owner_leaves_the_longest_standing_admin_takes_over(make_user):
    alice, bob, _carol, dave, group = await _group(make_user)
    base = _base(group)
    await alice.ok("POST", f"{base}/members", {"user_id": dave.id}, 201)
    await alice.ok("PUT", f"{base}/members/{dave.id}/role", {"role": "admin"})
    await alice.ok("DELETE", f"{base}/members/{alice.id}", status=204)
    view = await bob.ok("GET", base)
    # dave joined after bob but is the only admin: admins first.
    assert _roles(view) == {"bob": "member", "carol": "member", "dave": "owner"}
    await dave.ok("DELETE", f"{base}/members/{dave.id}", status=204)
    view = await bob.ok("GET", base)
    assert _roles(view) == {"bob": "owner", "carol": "member"}  # then the longest-standing
    page = await bob.ok("GET", f"{base}/messages")
    lines = [
        (
            m["system"]["action"],
            m["sender"]["username"],
            (m["system"]["target"] or {}).get("username"),
        )
        for m in page["messages"]
    ]
    assert lines == [
        ("added", "alice", "dave"),
        ("role_changed", "alice", "dave"),
        ("left", "alice", None),
        ("ownership_transferred", "alice", "dave"),
        ("left", "dave", None),
        ("ownership_transferred", "dave", "bob"),
    ]


async def test_the_last_member_leaving_deletes_the_group(server, make_user):
    alice, bob, carol, _dave, group = await _group(make_user)
    base = _base(group)
    for user in (bob, carol, alice):
        await user.ok("DELETE", f"{base}/members/{user.id}", status=204)
    async with server.ctx.db.query_session() as session:
        conversation = await session.get(Conversation, group["id"])
        assert conversation is not None and conversation.deleted_at is not None
        left = (
            await session.scalars(select(Message.id).where(Message.conversation_id == group["id"]))
        ).all()
        assert left == []


async def test_system_lines_are_nobodys_unread_and_cannot_be_written_to(make_user):
    alice, bob, _carol, dave, group = await _group(make_user)
    base = _base(group)
    await alice.ok("POST", f"{base}/members", {"user_id": dave.id}, 201)
    await alice.ok("PATCH", base, {"name": "renamed"})
    listed = await bob.ok("GET", "/api/conversations")
    [entry] = [c for c in listed["conversations"] if c["id"] == group["id"]]
    assert entry["unread_count"] == 0
    line = entry["last_message"]
    system = line["system"]
    assert (system["action"], system["actor"]["id"], system["target"], system["name"]) == (
        "renamed",
        alice.id,
        None,
        "renamed",
    )
    assert (line["content"], line["sender"]["id"]) == ("", alice.id)
    messages = f"{base}/messages/{line['id']}"
    assert_error(await alice.client.patch(messages, json={"content": "x"}), 409, "system_line")
    assert_error(await alice.delete(messages), 409, "system_line")
    assert_error(await bob.client.put(f"{messages}/reactions/👍"), 409, "system_line")
    assert_error(
        await bob.post(f"{base}/messages", {"content": "re", "reply_to_id": line["id"]}),
        422,
        "reply_to_system_line",
    )


async def test_admins_delete_anyones_messages_and_members_only_their_own(make_user):
    alice, bob, carol, _dave, group = await _group(make_user)
    base = _base(group)
    said = await carol.send(group["id"], "oops")
    assert_error(await bob.delete(f"{base}/messages/{said['id']}"), 403, "not_your_message")
    await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
    deleted = await bob.ok("DELETE", f"{base}/messages/{said['id']}")
    assert deleted["message"]["deleted"] is True


async def test_only_the_owner_deletes_the_group_and_it_goes_for_everyone(server, make_user):
    alice, bob, carol, dave, group = await _group(make_user)
    base = _base(group)
    await alice.send(group["id"], "bye")
    await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
    assert_error(await bob.delete(base), 403, "not_owner")
    events = await EventLog.start(server)
    await alice.ok("DELETE", base, status=204)
    # The bell's notifications about the group ("alice added you") are read.
    assert await events.new() == {
        "alice": ["conversation_update"],
        "bob": ["conversation_update", "notification_read"],
        "carol": ["conversation_update", "notification_read"],
    }
    assert [p.reason for p in events.payloads["bob"][:1]] == ["deleted"]
    assert events.payloads["bob"][1].notification_ids
    for user in (alice, bob, carol):
        assert_error(await user.get(base), 404, "not_found")
        assert_error(await user.get(f"{base}/messages"), 404, "not_found")
        listed = await user.ok("GET", "/api/conversations")
        assert group["id"] not in [c["id"] for c in listed["conversations"]]
    del dave


async def test_each_change_reaches_exactly_the_members_live_and_on_a_replay(server, make_user):
    """rename, role change, kick, leave and delete: the members' streams get each (a removed
    member nothing after their removal), a bystander none; a replay from before gives each
    stream the same frames."""
    alice, bob, carol, dave, group = await _group(make_user)
    erin = await make_user("erin")
    await alice.befriend(erin)
    await alice.group("other", erin)  # erin: a bystander with a group of her own
    base = _base(group)
    start = (await alice.ok("GET", "/api/conversations"))["last_event_id"]
    people = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}
    streams = {name: await open_stream(user.client) for name, user in people.items()}
    try:
        for stream in streams.values():
            assert (await stream.next()).event == "connected"
        await alice.ok("PATCH", base, {"name": "renamed"})  # message + updated
        await alice.ok("PUT", f"{base}/members/{bob.id}/role", {"role": "admin"})
        await bob.ok("DELETE", f"{base}/members/{carol.id}", status=204)  # kick
        await alice.send(group["id"], "carol is gone")  # carol must not get this
        await bob.ok("DELETE", f"{base}/members/{bob.id}", status=204)  # leave
        await alice.ok("DELETE", base, status=204)
        await alice.send((await alice.dm(carol))["id"], "for carol only")
        await alice.send((await alice.dm(dave))["id"], "for dave only")

        expected = {
            "alice": [
                "message",
                "conversation_update",  # renamed
                "message",
                "conversation_update",  # bob admin
                "message",
                "conversation_update",  # carol removed
                "message",  # alice's message
                "message",
                "conversation_update",  # bob left
                "conversation_update",  # deleted
                "conversation_update",
                "message",  # the DM with carol
                "conversation_update",
                "message",  # the DM with dave
            ],
            "bob": [
                "message",
                "conversation_update",
                "message",
                "conversation_update",
                "message",
                "conversation_update",
                "message",
                "conversation_update",  # removed (he left)
                "notification_read",  # the group is deleted: "alice added you" goes
            ],
            "carol": [
                "message",
                "conversation_update",
                "message",
                "conversation_update",
                "conversation_update",  # removed
                "notification_read",  # the group is deleted
                "conversation_update",
                "message",  # the DM: nothing of the group between
            ],
            "dave": ["conversation_update", "message"],  # only his DM
            "erin": [],
        }
        live: dict[str, list[Any]] = {}
        for name, types in expected.items():
            frames = await streams[name].next_events(len(types)) if types else []
            live[name] = frames
            assert [f.event for f in frames] == types, name
        reasons = {
            name: [f.json["reason"] for f in frames if f.event == "conversation_update"]
            for name, frames in live.items()
        }
        assert reasons["bob"] == ["updated", "role_changed", "member_removed", "removed"]
        assert reasons["carol"][:3] == ["updated", "role_changed", "removed"]
        assert reasons["alice"][:5] == [
            "updated",
            "role_changed",
            "member_removed",
            "member_removed",
            "deleted",
        ]
        actions = [
            f.json["message"]["system"]["action"]
            for f in live["bob"]
            if f.event == "message" and f.json["message"]["system"]
        ]
        assert actions == ["renamed", "role_changed", "removed"]
        # erin's next frame is her own, not any of the group's.
        await alice.send((await alice.dm(erin))["id"], "erin")
        assert (await streams["erin"].next()).event == "conversation_update"
    finally:
        for stream in streams.values():
            await stream.close()

    for name, user in people.items():
        replay = await open_stream(user.client, last_event_id=start)
        try:
            assert (await replay.next()).event == "connected"
            want = live[name]
            got = await replay.next_events(len(want)) if want else []
            assert [(f.id, f.event, f.data) for f in got] == [
                (f.id, f.event, f.data) for f in want
            ], name
        finally:
            await replay.close()


async def test_admins_set_the_groups_picture_and_members_may_not(server, make_user):
    alice, bob, carol, _dave, group = await _group(make_user)
    base = _base(group)
    picture = _noise_png(300, 200)  # larger than the default body limit: the upload's own
    assert len(picture) > server.ctx.settings.max_body_bytes
    # A member is refused before anything is decoded, whatever the body.
    response = await bob.client.put(f"{base}/avatar", content=b"not an image")
    assert_error(response, 403, "not_admin")
    events = await EventLog.start(server)
    response = await alice.client.put(
        f"{base}/avatar", content=picture, headers={"content-type": "image/png"}
    )
    assert response.status_code == 200, response.text
    url = response.json()["avatar_url"]
    assert url and url.startswith("/api/avatars/")
    assert await events.new() == {
        name: ["message", "conversation_update"] for name in ("alice", "bob", "carol")
    }
    assert events.payloads["bob"][0].message.system.action == "avatar_changed"
    assert events.payloads["bob"][1].conversation.avatar_url == url
    served = await carol.get(url)
    assert (served.status_code, served.headers["content-type"]) == (200, "image/webp")
    assert_error(
        await alice.client.put(f"{base}/avatar", content=b"GIF89a nope"), 415, "not_an_image"
    )
    removed = await alice.ok("DELETE", f"{base}/avatar")
    assert removed["avatar_url"] is None
    dm = await alice.dm(_dave)
    assert_error(
        await alice.client.put(f"/api/conversations/{dm['id']}/avatar", content=picture),
        409,
        "not_a_group",
    )
