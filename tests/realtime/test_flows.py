"""Each write of the seed's flow produces exactly the listed events for exactly the listed users.

Every user of a scenario holds a stream, bystanders included. To prove that a stream received
nothing *else*, each check ends with a barrier: a marker user sends the stream's owner a DM, and
everything the stream delivered before that marker message came from the write under test
(a stream delivers in log order, which is commit order).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.sse import EventStreamReader, SSEFrame, open_stream
from tidings.events import EventAdapter

_barrier_numbers = itertools.count(1)


@dataclass
class Person:
    api: ApiUser
    streams: list[EventStreamReader] = field(default_factory=list)
    marker_dm: int = 0


@dataclass
class World:
    """Users with open streams, and a marker user who is everyone's friend."""

    people: dict[str, Person]
    marker: ApiUser

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    async def received(self) -> dict[str, list[list[str]]]:
        """For each person and each of their streams, the event types since the last call."""
        seen: dict[str, list[list[str]]] = {}
        for name, person in self.people.items():
            marker_text = f"barrier {next(_barrier_numbers)}"
            await self.marker.send(person.marker_dm, marker_text)
            seen[name] = [await _frames_until(stream, marker_text) for stream in person.streams]
        return seen


def _check_schema(frame: SSEFrame) -> None:
    event = EventAdapter.validate_json(frame.data)
    assert event.type == frame.event
    assert frame.id is not None and frame.id.isdigit()


async def _frames_until(stream: EventStreamReader, marker_text: str) -> list[str]:
    types: list[str] = []
    while True:
        frame = await stream.next()
        _check_schema(frame)
        if frame.event == "message" and frame.json["message"]["content"] == marker_text:
            return types  # a message brings nothing else: unreads are derived from it
        types.append(frame.event)


@pytest.fixture
async def world(make_user: MakeUser) -> AsyncIterator[World]:
    marker = await make_user("marker")
    people: dict[str, Person] = {}
    for name in ("alice", "bob", "carol", "dave", "erin"):
        api = await make_user(name)
        await marker.befriend(api)
        people[name] = Person(api, marker_dm=(await marker.dm(api))["id"])
    for a, b in (("alice", "bob"), ("alice", "carol"), ("alice", "dave"), ("bob", "carol")):
        await people[a].api.befriend(people[b].api)
    for person in people.values():
        person.streams.append(await open_stream(person.api.client))
    # Bob has a second tab open.
    people["bob"].streams.append(await open_stream(people["bob"].api.client))
    for person in people.values():
        for stream in person.streams:
            assert (await stream.next()).event == "connected"
    w = World(people, marker)
    yield w
    for person in people.values():
        for stream in person.streams:
            await stream.close()


NOTHING: list[str] = []


def expect(w: World, **per_person: list[str]) -> dict[str, list[list[str]]]:
    return {
        name: [per_person.get(name, NOTHING)] * len(person.streams)
        for name, person in w.people.items()
    }


async def test_direct_message(world: World) -> None:
    alice, bob = world["alice"].api, world["bob"].api
    dm = await alice.dm(bob)
    assert await world.received() == expect(
        world, alice=["conversation_update"], bob=["conversation_update"]
    )
    await alice.send(dm["id"], "hi Bob")
    # One event for the conversation: both members' streams get it, the sender's included.
    assert await world.received() == expect(world, alice=["message"], bob=["message"])


async def test_group_message(world: World) -> None:
    alice, bob, carol = (world[n].api for n in ("alice", "bob", "carol"))
    group = await alice.ok(
        "POST",
        "/api/conversations",
        {"type": "group", "name": "g", "member_ids": [bob.id, carol.id]},
        201,
    )
    assert await world.received() == expect(
        world,
        alice=["conversation_update"],
        bob=["conversation_update", "notification"],
        carol=["conversation_update", "notification"],
    )
    await bob.send(group["id"], "hello group")
    assert await world.received() == expect(
        world, alice=["message"], bob=["message"], carol=["message"]
    )


async def test_friend_request_and_accept(world: World) -> None:
    dave, erin = world["dave"].api, world["erin"].api
    request = await dave.ok("POST", "/api/friends/request", {"username": "erin"}, 201)
    assert await world.received() == expect(world, erin=["friend_request", "notification"])
    await erin.ok("POST", f"/api/friends/requests/{request['request']['id']}/accept")
    assert await world.received() == expect(
        world, dave=["friend_update", "notification"], erin=["friend_update"]
    )


async def test_notification_read_reaches_every_tab(world: World) -> None:
    alice, bob = world["alice"].api, world["bob"].api
    await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    await world.received()
    notifications = await bob.ok("GET", "/api/notifications?unread_only=true")
    ours = [n for n in notifications["notifications"] if n["type"] == "added_to_group"]
    await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "h", "member_ids": [bob.id]}, 201
    )
    await world.received()
    await bob.ok("POST", f"/api/notifications/{ours[0]['id']}")
    assert await world.received() == expect(world, bob=["notification_read"])
    await bob.ok("POST", "/api/notifications/read-all")
    assert await world.received() == expect(world, bob=["notification_read"])


async def test_members_added_and_removed(world: World) -> None:
    alice, bob, dave = world["alice"].api, world["bob"].api, world["dave"].api
    group = await alice.ok(
        "POST", "/api/conversations", {"type": "group", "name": "g", "member_ids": [bob.id]}, 201
    )
    await world.received()
    await alice.ok("POST", f"/api/conversations/{group['id']}/members", {"user_id": dave.id}, 201)
    # The announcement and the system line ("alice added dave"), which dave gets too.
    assert await world.received() == expect(
        world,
        alice=["conversation_update", "message"],
        bob=["conversation_update", "message"],
        dave=["conversation_update", "message", "notification"],
    )
    await alice.ok("DELETE", f"/api/conversations/{group['id']}/members/{dave.id}", status=204)
    # Dave is told he was removed; the others get the system line and the announcement.
    assert await world.received() == expect(
        world,
        alice=["message", "conversation_update"],
        bob=["message", "conversation_update"],
        dave=["conversation_update"],
    )
    # Dave is out: the group's messages no longer reach him; Alice and Bob get them.
    await bob.send(group["id"], "without dave")
    assert await world.received() == expect(world, alice=["message"], bob=["message"])


async def test_reading_a_conversation_updates_only_the_reader(world: World) -> None:
    alice, bob = world["alice"].api, world["bob"].api
    dm = await alice.dm(bob)
    await alice.send(dm["id"], "read me")
    await world.received()
    await bob.ok("POST", f"/api/conversations/{dm['id']}/read")
    assert await world.received() == expect(world, bob=["conversation_update"])


async def test_muting_updates_only_the_member_s_tabs(world: World) -> None:
    alice, bob = world["alice"].api, world["bob"].api
    dm = await alice.dm(bob)
    await world.received()
    await bob.ok("PUT", f"/api/conversations/{dm['id']}/mute", {"until": None})
    assert await world.received() == expect(world, bob=["conversation_update"])
    await bob.ok("DELETE", f"/api/conversations/{dm['id']}/mute")
    assert await world.received() == expect(world, bob=["conversation_update"])


async def test_blocking_and_unblocking(world: World) -> None:
    """The blocker's tabs get block_update; both get the friendship's end and the DM's
    closing (a bystander friend of both, carol, nothing)."""
    alice, bob = world["alice"].api, world["bob"].api
    await alice.dm(bob)
    await world.received()
    await bob.ok("PUT", f"/api/blocks/{alice.id}")
    assert await world.received() == expect(
        world,
        bob=["friend_update", "conversation_update", "block_update"],
        alice=["friend_update", "conversation_update"],
    )
    await bob.ok("DELETE", f"/api/blocks/{alice.id}", status=204)
    assert await world.received() == expect(
        world, bob=["conversation_update", "block_update"], alice=["conversation_update"]
    )
