"""Presence, typing and read receipts between real processes (PostgreSQL + Redis): each reaches
streams on the other processes, is never replayed, and a person with a stream on any process
is online; the holds of a process that died expire by themselves.

"Nothing else came" is proven by a barrier: a message from a sentinel friend, sent after the
moment under test; a stream delivers in order, so what it got before came before the barrier.
"""

from __future__ import annotations

from typing import Any

from tests.cluster.conftest import StartCluster
from tests.cluster.support import Person, Tab, close_all
from tests.support.server import ServerProcess
from tests.support.sse import ATTENTION_EVENTS, SSEFrame

FAST_PRESENCE = {"PRESENCE_GRACE_SECONDS": "1", "PRESENCE_HOLD_SECONDS": "3"}


async def next_attention(tab: Tab, timeout: float = 20) -> SSEFrame:
    """The next presence, typing or read receipt event of ``tab`` (durable ones are kept in
    ``tab.frames``)."""
    while True:
        frame = await tab.reader.next(timeout, attention=True)
        if frame.event in ATTENTION_EVENTS:
            assert frame.id is None, frame
            return frame
        tab.frames.append(frame)


async def presence_of(tab: Tab, user: Person, expected: str) -> SSEFrame:
    """The next presence event about ``user``; others' presence before it is skipped (people
    come online in an order the test does not fix), anything else fails."""
    while True:
        frame = await next_attention(tab)
        assert frame.event == "presence", frame
        if frame.json["user_id"] == user.id:
            assert frame.json["status"] == expected, frame
            return frame


async def events_before_barrier(
    sentinel: Person, node: ServerProcess, dm: int, tab: Tab
) -> list[SSEFrame]:
    """Every frame ``tab`` gets before a message the sentinel sends now in ``dm``."""
    sent = await sentinel.call(
        node, "POST", f"/api/conversations/{dm}/messages", {"content": "-"}, 201
    )
    before: list[SSEFrame] = []
    while True:
        frame = await tab.reader.next(20, attention=True)
        if frame.event == "message" and frame.json["message"]["id"] == sent["message"]["id"]:
            tab.frames.append(frame)
            return before
        before.append(frame)


async def test_attention_events_cross_processes_and_never_replay(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster(3, env=FAST_PRESENCE)
    n0, n1, n2 = cluster.nodes
    alice, bob, carol, sentinel = [
        await Person.register(n0, name) for name in ("alice", "bob", "carol", "sentinel")
    ]
    try:
        for one, other in ((alice, bob), (alice, carol), (bob, carol), (sentinel, bob)):
            await one.api.befriend(other.api)
        group = (await alice.api.group("Crew", bob.api, carol.api))["id"]
        to_bob = (await sentinel.api.dm(bob.api))["id"]
        said = await bob.api.send(group, "hello")
        bobs = await bob.open_tab(n1)
        carols = await carol.open_tab(n2)
        for tab in (bobs, carols):
            await tab.wait_connected()
        await presence_of(bobs, carol, "online")
        resume_from = bobs.last_id

        # Alice opens the app on n0: Bob (n1) and Carol (n2) see her online.
        alices = await alice.open_tab(n0)
        await alices.wait_connected()
        for tab in (bobs, carols):
            await presence_of(tab, alice, "online")

        # Alice types through n2: the others' tabs on n1 and n2 get it.
        await alice.call(n2, "POST", f"/api/conversations/{group}/typing", None, 204)
        for tab in (bobs, carols):
            typing = await next_attention(tab)
            assert typing.event == "typing", typing
            assert typing.json["user"]["id"] == alice.id and typing.json["active"] is True

        # Carol reads through n0: Bob (n1) and Alice (n0) get her receipt.
        await carol.call(n0, "POST", f"/api/conversations/{group}/read")
        for tab in (bobs, alices):
            receipt = await next_attention(tab)
            while receipt.event == "presence":  # Alice may see the others arrive first
                assert tab is alices and receipt.json["status"] == "online", receipt
                receipt = await next_attention(tab)
            assert receipt.json == {
                "type": "read_receipt",
                "conversation_id": group,
                "user_id": carol.id,
                "last_read_message_id": said["id"],
            }

        # Alice leaves; after the grace period Bob and Carol see her offline.
        await alices.close()
        for tab in (bobs, carols):
            offline = await presence_of(tab, alice, "offline")
            assert offline.json["last_seen_at"] is not None
        presence = await bob.call(n2, "GET", f"/api/presence?user_id={alice.id}")
        assert presence["presence"][0]["status"] == "offline"
        assert await events_before_barrier(sentinel, n1, to_bob, bobs) == []

        # Bob resumes on another process from before all of it: only durable events replay.
        resumed = await bob.open_tab(n0, last_event_id=resume_from)
        await resumed.wait_connected()
        replayed = await events_before_barrier(sentinel, n2, to_bob, resumed)
        assert [f.event for f in replayed] == ["message"]  # the first barrier's
        assert not [f for f in replayed if f.event in ATTENTION_EVENTS]
    finally:
        await close_all([alice, bob, carol, sentinel])


async def test_online_on_any_process_and_a_dead_process_holds_nobody(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster(3, env=FAST_PRESENCE)
    n0, n1, n2 = cluster.nodes
    alice, bob, sentinel = [await Person.register(n1, n) for n in ("alice", "bob", "sentinel")]
    try:
        await alice.api.befriend(bob.api)
        await sentinel.api.befriend(bob.api)
        to_bob = (await sentinel.api.dm(bob.api))["id"]
        bobs = await bob.open_tab(n1)
        await bobs.wait_connected()

        alice_n0 = await alice.open_tab(n0)
        await alice_n0.wait_connected()
        await presence_of(bobs, alice, "online")
        # A tab on another process, the first one closed, another opened and closed: she is
        # online all along, and nobody is told anything.
        alice_n2 = await alice.open_tab(n2)
        await alice_n2.wait_connected()
        await alice_n0.close()
        alice_again = await alice.open_tab(n0)
        await alice_again.wait_connected()
        await alice_again.close()
        assert await events_before_barrier(sentinel, n1, to_bob, bobs) == []
        state: Any = await bob.call(n1, "GET", f"/api/presence?user_id={alice.id}")
        assert state["presence"][0]["status"] == "online"

        # The process holding her only stream dies: its hold expires, another process's
        # sweep sees it, and Bob is told she is offline.
        await n2.kill()
        await presence_of(bobs, alice, "offline")
        assert await events_before_barrier(sentinel, n0, to_bob, bobs) == []
    finally:
        await close_all([alice, bob, sentinel])
