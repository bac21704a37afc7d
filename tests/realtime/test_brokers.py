"""The broker contract: the same cases over every broker (memory always; Redis where running).

A "node" (``tests/realtime/nodes.py``) is what one server process has: a hub reading the shared
event log (a real SQLite file), and its broker. With the memory broker there is one node (it
carries nothing between processes); with Redis there are three sharing a channel prefix, and
events are mostly written and published on the first and received on the last. Then come the
cases only a broker with a connection has: malformed messages, lost connections, failed
publishes.

Whether everything has arrived is known without sleeping: after the events under test, a
barrier batch is published from every node; hubs hand batches on in log order and complete,
so once a subscriber has its barrier events, anything else (a duplicate, a leak) is in its
buffer too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.realtime.nodes import (
    WAIT,
    Cluster,
    Gate,
    Node,
    Write,
    ephemeral_of,
    events_of,
    expect_exactly,
    make_log,
    mine,
    receive_events,
    receive_until,
    to_channel,
    to_user,
)
from tests.support.ephemeral import Nudge
from tests.support.services import TcpProxy, require_redis
from tidings.realtime.brokers.memory import MemoryBroker
from tidings.realtime.brokers.redis import RedisBroker
from tidings.realtime.events import Batch, EphemeralEvent, StoredEvent
from tidings.realtime.hub import CATCH_UP

CHANNEL = 100
"""A conversation's channel id (channels are plain numbers to the log)."""


@pytest.fixture
async def log_file(tmp_path: Path) -> tuple[str, list[int]]:
    """The shared event log: a migrated SQLite file with a dozen users."""
    return await make_log(tmp_path)


@pytest.fixture(params=["memory", "redis"])
async def cluster(
    request: pytest.FixtureRequest, log_file: tuple[str, list[int]]
) -> AsyncIterator[Cluster]:
    cluster = Cluster(*log_file)
    try:
        if request.param == "memory":
            await cluster.add(MemoryBroker())
        else:
            url = await require_redis()
            prefix = f"test-{uuid.uuid4().hex[:10]}"
            for _ in range(3):
                await cluster.add(RedisBroker(url, prefix=prefix))
        yield cluster
    finally:
        await cluster.close()


class RedisSetup:
    """One test's Redis prefix, its proxies and its clusters (closed in that order, reversed)."""

    def __init__(self, url: str, log_file: tuple[str, list[int]]) -> None:
        self.url = url
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"
        self.log_file = log_file
        self.proxies: list[TcpProxy] = []
        self.clusters: list[Cluster] = []

    async def proxy(self) -> TcpProxy:
        proxy = await TcpProxy.to_url(self.url).start()
        self.proxies.append(proxy)
        return proxy

    def broker(self, through: TcpProxy | None = None, **options: Any) -> RedisBroker:
        url = self.url if through is None else through.url_through(self.url)
        return RedisBroker(url, prefix=self.prefix, **options)

    def cluster(self) -> Cluster:
        cluster = Cluster(*self.log_file)
        self.clusters.append(cluster)
        return cluster

    async def close(self) -> None:
        for cluster in self.clusters:
            await cluster.close()
        for proxy in self.proxies:
            await proxy.close()


@pytest.fixture
async def redis(log_file: tuple[str, list[int]]) -> AsyncIterator[RedisSetup]:
    setup = RedisSetup(await require_redis(), log_file)
    try:
        yield setup
    finally:
        await setup.close()


# The contract, on every broker


async def test_events_reach_the_addressees_streams_on_every_node_in_order_and_nobody_else(
    cluster: Cluster,
):
    alice, bob, carol = cluster.users[:3]
    alice_here = await cluster.first.hub.subscribe(alice)
    alice_there = await cluster.last.hub.subscribe(alice)
    bob_there = await cluster.last.hub.subscribe(bob)
    carol_there = await cluster.last.hub.subscribe(carol)

    batch = await cluster.first.publish(
        to_user(alice, "a1"), to_user(bob, "b1"), to_user(alice, "a2")
    )
    a1, b1, a2 = batch.events
    # Another batch, from another node where there is one.
    [a3] = (await cluster.nodes[len(cluster.nodes) // 2].publish(to_user(alice, "a3"))).events
    barriers = await cluster.barrier([alice, bob, carol])

    for subscriber, expected in [
        (alice_here, [a1, a2, a3]),
        (alice_there, [a1, a2, a3]),
        (bob_there, [b1]),
        (carol_there, []),
    ]:
        await expect_exactly(subscriber, expected + mine(barriers, subscriber.user_id))


async def test_publishing_node_delivers_its_own_events_at_once_and_once(cluster: Cluster):
    """The publishing process hands its batches to its streams directly, and drops its own copy
    coming back (Redis) or any second copy."""
    user = cluster.users[6]
    here = await cluster.first.hub.subscribe(user)
    sent: list[StoredEvent] = []
    for n in range(5):
        sent.extend((await cluster.first.publish(to_user(user, str(n)))).events)
        # Straight away, without a round trip to Redis: in the buffer when publish returns.
        assert events_of(here.take()) == sent[-1:]
    # Two rounds of barriers: a copy of a batch above coming back late would land before the
    # second node's first barrier, whatever the order of arrival.
    barriers = await cluster.barrier([user])
    barriers += await cluster.barrier([user])
    await expect_exactly(here, barriers)


async def test_unsubscribed_user_gets_nothing_and_can_subscribe_again(cluster: Cluster):
    user = cluster.users[3]
    gone = await cluster.last.hub.subscribe(user)
    await cluster.last.hub.unsubscribe(gone)
    away = await cluster.first.publish(to_user(user, "while away"))
    # Handed on there while the user had no stream there (a stream opening while it is still
    # on its way would get it live: it is after the position the hub had when it opened).
    await cluster.last.hub.until_position(away.last)

    again = await cluster.last.hub.subscribe(user)
    later = await cluster.first.publish(to_user(user, "back"))
    barriers = await cluster.barrier([user])
    await expect_exactly(again, [*later.events, *mine(barriers, user)])
    assert gone.take() == []


async def test_streams_opening_and_closing_at_once_leave_the_user_watched_with_their_channels(
    cluster: Cluster,
):
    """Many tabs of one user come and go concurrently; the ones left open get every event,
    their conversations' included."""
    user = cluster.users[4]
    await cluster.first.publish(to_channel(CHANNEL, "created"), joins=[(CHANNEL, user)])
    hub = cluster.last.hub
    subscribers = await asyncio.gather(*(hub.subscribe(user) for _ in range(10)))
    await asyncio.gather(*(hub.unsubscribe(s) for s in subscribers[:9]), hub.subscribe(user))
    await hub.unsubscribe(subscribers[9])
    [remaining] = hub._subscribers[user]

    own = await cluster.first.publish(to_user(user, "still here"))
    group = await cluster.first.publish(to_channel(CHANNEL, "and in the group"))
    barriers = await cluster.barrier([user])
    await expect_exactly(remaining, [*own.events, *group.events, *barriers])
    for subscriber in subscribers:
        assert events_of(subscriber.take()) == []


async def test_ending_sessions_closes_their_streams_on_every_node_and_no_other(cluster: Cluster):
    """Logout on one process closes the streams of that session wherever they are."""
    user, other = cluster.users[7], cluster.users[8]
    here = await cluster.first.hub.subscribe(user, session_key="ended")
    there = await cluster.last.hub.subscribe(user, session_key="ended")
    other_session = await cluster.last.hub.subscribe(user, session_key="kept")
    other_user = await cluster.last.hub.subscribe(other, session_key="ended")

    await cluster.first.hub.end_sessions(user, ["ended"])
    async with asyncio.timeout(WAIT):
        for subscriber in (here, there):
            await subscriber.wait()
            assert subscriber.closed_reason == "session_ended"
    # The control was applied everywhere; the others still get their events.
    barriers = await cluster.barrier([user, other])
    for subscriber in (other_session, other_user):
        await expect_exactly(subscriber, mine(barriers, subscriber.user_id))
    assert not other_session.closed and not other_user.closed


async def test_ephemeral_events_reach_the_addressees_streams_on_every_node_and_nobody_else(
    cluster: Cluster,
):
    alice, bob, carol = cluster.users[:3]
    alice_here = await cluster.first.hub.subscribe(alice)
    alice_there = await cluster.last.hub.subscribe(alice)
    bob_there = await cluster.last.hub.subscribe(bob)
    carol_there = await cluster.last.hub.subscribe(carol)

    await cluster.first.hub.send_ephemeral([alice, bob, alice], Nudge(text="typing"))
    await cluster.first.hub.send_ephemeral([bob], Nudge(text="only bob"))
    barriers = await cluster.barrier([alice, bob, carol])

    typing = Nudge(text="typing").model_dump_json()
    only_bob = Nudge(text="only bob").model_dump_json()
    for subscriber, expected in [
        (alice_here, [EphemeralEvent(alice, "test_nudge", typing)]),
        (alice_there, [EphemeralEvent(alice, "test_nudge", typing)]),
        (
            bob_there,
            [
                EphemeralEvent(bob, "test_nudge", typing),
                EphemeralEvent(bob, "test_nudge", only_bob),
            ],
        ),
        (carol_there, []),
    ]:
        # The barriers come after, from the same node first: once they are in, so is the rest.
        items = await expect_exactly(subscriber, mine(barriers, subscriber.user_id))
        assert ephemeral_of(items) == expected, subscriber.user_id
        assert items[: len(expected)] == expected, "an ephemeral event came after later events"


async def test_ephemeral_events_are_never_replayed_to_a_stream_opened_later(cluster: Cluster):
    user = cluster.users[2]
    await cluster.first.hub.send_ephemeral([user], Nudge(text="nobody listening"))
    subscribers = [await node.hub.subscribe(user) for node in cluster.nodes]
    await cluster.first.hub.send_ephemeral([user], Nudge(text="now"))
    barriers = await cluster.barrier([user])
    now = EphemeralEvent(user, "test_nudge", Nudge(text="now").model_dump_json())
    for subscriber in subscribers:
        items = await expect_exactly(subscriber, barriers)
        assert ephemeral_of(items) == [now]


async def test_ephemeral_events_count_against_the_stream_byte_budget(cluster: Cluster):
    user = cluster.users[3]
    hub = cluster.first.hub
    hub.buffer_bytes = 200
    subscriber = await hub.subscribe(user)
    await hub.send_ephemeral([user], Nudge(text="x" * 50))
    assert subscriber.buffered_bytes > 50
    await hub.send_ephemeral([user], Nudge(text="x" * 150))
    assert subscriber.closed_reason == "overflow"


async def test_a_group_message_is_one_event_that_reaches_every_local_member(cluster: Cluster):
    """Stored and published once, handed to each member's streams by the hub of their process:
    members whose stream opened before they joined (indexed from the batch's membership change)
    and after (indexed from the log)."""
    members, outsider = cluster.users[:6], cluster.users[6]
    early = [await cluster.last.hub.subscribe(m) for m in members[:3]]
    created = await cluster.first.publish(
        to_channel(CHANNEL, "created"), joins=[(CHANNEL, m) for m in members]
    )
    late = [await cluster.last.hub.subscribe(m) for m in members[3:]]
    outside = await cluster.last.hub.subscribe(outsider)

    batch = await cluster.first.publish(to_channel(CHANNEL, "hello, all"))
    assert (batch.first, batch.last) == (created.last + 1, created.last + 1)
    [message] = batch.events
    assert (message.channel_id, message.user_id) == (CHANNEL, None)
    barriers = await cluster.barrier([*members, outsider])

    delivered = []
    for subscriber in early:
        items = await expect_exactly(
            subscriber, [*created.events, message, *mine(barriers, subscriber.user_id)]
        )
        delivered.append(events_of(items)[1])
    for subscriber in late:
        items = await expect_exactly(subscriber, [message, *mine(barriers, subscriber.user_id)])
        delivered.append(events_of(items)[0])
    await expect_exactly(outside, mine(barriers, outsider))
    # One object for all: fan-out serializes nothing per member.
    assert len({id(event) for event in delivered}) == 1


async def test_a_batch_published_before_an_earlier_one_is_held_until_that_one_arrives(
    cluster: Cluster,
):
    """Two writers commit in one order and publish in the other (with Redis: the first node
    commits, the middle one commits and publishes, then the first publishes). No stream gets
    the later batch before the earlier one, on any node, the later one's publisher's included.
    The log is not read: every node's gap wait has ended in a read that is held before the
    earlier batch is published, so only that batch's arrival can release the later one."""
    user = cluster.users[5]
    writer, overtaker = cluster.first, cluster.nodes[len(cluster.nodes) // 2]
    subscribers = [await node.hub.subscribe(user) for node in cluster.nodes]
    gates = []
    for node in cluster.nodes:
        node.log.batch_gate = gate = Gate()
        gates.append(gate)

    earlier = await writer.write(to_user(user, "committed first"))
    later = await overtaker.publish(to_user(user, "committed second, published first"))
    for node, gate in zip(cluster.nodes, gates, strict=True):
        await node.hub.until_arrived(later)
        await gate.wait_reached()  # the gap wait is over: reading the log, held
        assert node.hub.position < later.first
    for subscriber in subscribers:
        assert events_of(subscriber.take()) == [], "a batch was handed on before an earlier one"

    await writer.hub.publish(earlier)
    for subscriber in subscribers:
        assert events_of(await receive_events(subscriber, 2)) == [*earlier.events, *later.events]
    # The held log reads now complete, late: they hand on nothing twice.
    for gate in gates:
        gate.open()
    barriers = await cluster.barrier([user])
    for subscriber in subscribers:
        await expect_exactly(subscriber, barriers)


async def test_a_batch_never_published_is_read_from_the_log_once_a_later_one_arrives(
    cluster: Cluster,
):
    """Its writer committed and died before publishing: every node reads that position from
    the log (once) when a later batch shows the gap, and hands both on in order."""
    user, other = cluster.users[8], cluster.users[9]
    subscribers = [await node.hub.subscribe(user) for node in cluster.nodes]
    lost = await cluster.first.write(to_user(user, "never published"))
    later = await cluster.last.publish(to_user(other, "for someone else"), to_user(user, "later"))
    for subscriber in subscribers:
        await expect_exactly(subscriber, [*lost.events, later.events[1]])
    for node in cluster.nodes:
        assert node.gap_fills == 1
        [(after, up_to)] = node.log.batch_reads
        assert after == lost.first - 1 and up_to >= lost.last
    barriers = await cluster.barrier([user])
    for subscriber in subscribers:
        await expect_exactly(subscriber, barriers)


async def test_a_member_gets_a_channels_events_from_the_position_they_join_at_until_they_leave(
    cluster: Cluster,
):
    """Written on the first node, received live on the last: the membership changes travel
    with the batches and take effect at their position (the change's own event included for
    the one who joins, excluded for the one who leaves)."""
    alice, bob, carol = cluster.users[:3]
    await cluster.first.publish(to_channel(CHANNEL, "created"), joins=[(CHANNEL, alice)])
    alice_there = await cluster.last.hub.subscribe(alice)
    bob_there = await cluster.last.hub.subscribe(bob)
    carol_there = await cluster.last.hub.subscribe(carol)

    [before] = (await cluster.first.publish(to_channel(CHANNEL, "before bob"))).events
    [joined] = (
        await cluster.first.publish(to_channel(CHANNEL, "bob joins"), joins=[(CHANNEL, bob)])
    ).events
    [both] = (await cluster.first.publish(to_channel(CHANNEL, "with bob"))).events
    [left] = (
        await cluster.first.publish(to_channel(CHANNEL, "alice leaves"), leaves=[(CHANNEL, alice)])
    ).events
    [after] = (await cluster.first.publish(to_channel(CHANNEL, "without alice"))).events
    barriers = await cluster.barrier([alice, bob, carol])

    await expect_exactly(alice_there, [before, joined, both, *mine(barriers, alice)])
    await expect_exactly(bob_there, [joined, both, left, after, *mine(barriers, bob)])
    await expect_exactly(carol_there, mine(barriers, carol))


async def test_a_commit_of_several_writes_is_one_batch_with_each_change_at_its_position(
    cluster: Cluster,
):
    """Group commit: the writer records several writes in one transaction and publishes one
    batch, whose membership changes are at their own writes' positions among the events."""
    alice, bob = cluster.users[:2]
    alice_there = await cluster.last.hub.subscribe(alice)
    bob_there = await cluster.last.hub.subscribe(bob)
    merged, batches = await cluster.first.publish_together(
        Write([to_channel(CHANNEL, "created")], joins=[(CHANNEL, bob)]),
        Write([to_channel(CHANNEL, "before alice")]),
        Write(
            [to_user(bob, "alice is added"), to_channel(CHANNEL, "hi")], joins=[(CHANNEL, alice)]
        ),
        Write([to_channel(CHANNEL, "with alice")]),
        Write([to_channel(CHANNEL, "bob leaves")], leaves=[(CHANNEL, bob)]),
        Write([to_channel(CHANNEL, "without bob")]),
    )
    created, before, added, both, left, after = (b.events for b in batches if b is not None)
    assert (merged.first, merged.last) == (created[0].pos, after[0].pos)
    assert [m.pos for m in merged.memberships] == [created[0].pos, added[0].pos, left[0].pos]
    barriers = await cluster.barrier([alice, bob])
    await expect_exactly(
        alice_there, [added[1], both[0], left[0], after[0], *mine(barriers, alice)]
    )
    await expect_exactly(bob_there, [created[0], before[0], *added, both[0], *mine(barriers, bob)])


# Only for a broker with a connection: Redis


class RecordingReceiver:
    """What a broker hands a hub, recorded (for the tests of the broker alone)."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.ephemeral: list[EphemeralEvent] = []
        self.controls: list[tuple[int, Mapping[str, Any]]] = []
        self.catch_ups = 0
        self.changed = asyncio.Event()

    def on_batch(self, batch: Batch) -> None:
        self.batches.append(batch)
        self.changed.set()

    def on_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        self.ephemeral.extend(events)
        self.changed.set()

    def on_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        self.controls.append((user_id, control))
        self.changed.set()

    def catch_up_all(self) -> None:
        self.catch_ups += 1
        self.changed.set()

    async def until(self, condition) -> None:
        async with asyncio.timeout(WAIT):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


async def test_redis_every_process_gets_every_batch_and_only_its_users_ephemeral_events(
    redis: RedisSetup,
):
    """Batches go on the feed to every process (not the publisher's own copy), and so do
    controls (every process may cache a user's sessions); ephemeral events for one user's
    streams go only to the processes watching that user."""
    users = redis.log_file[1]
    node = Node(redis.log_file[0], MemoryBroker())  # only its database: batches to publish
    watcher, publisher, third = (redis.broker() for _ in range(3))
    seen, own, other = RecordingReceiver(), RecordingReceiver(), RecordingReceiver()
    try:
        await watcher.start(seen)
        await publisher.start(own)
        await third.start(other)
        await watcher.watch(users[0])
        await watcher.watch(users[1])
        await watcher.unwatch(users[1])
        # Confirmed in order on the subscription connection: the UNSUBSCRIBE is through.
        await watcher.watch(users[4])
        await publisher.publish_ephemeral(
            [EphemeralEvent(users[1], "test_nudge", "{}"), EphemeralEvent(users[2], "t", "{}")]
        )
        batch = await node.write(to_user(users[3], "watched by nobody"))
        await publisher.publish(batch)
        await publisher.publish_control(users[2], {"type": "end_sessions", "sessions": ["s"]})
        last = EphemeralEvent(users[0], "test_nudge", '{"n":1}')
        await publisher.publish_ephemeral([last])
        await seen.until(lambda: seen.ephemeral)
        assert seen.ephemeral == [last]
        assert seen.controls == [(users[2], {"type": "end_sessions", "sessions": ["s"]})]
        assert seen.batches == [batch]
        # The publisher's own batch comes back to it and is dropped: a batch from another
        # process, published after, arrives alone.
        marker = await node.write(to_user(users[3], "from the third"))
        await third.publish(marker)
        await own.until(lambda: own.batches)
        assert own.batches == [marker]
    finally:
        for broker in (watcher, publisher, third):
            await broker.stop()
        await node.db.dispose()


async def test_redis_a_group_message_is_one_publish_on_the_feed(redis: RedisSetup):
    cluster = redis.cluster()
    for _ in range(2):
        await cluster.add(redis.broker())
    members = cluster.users[:8]
    await cluster.first.publish(
        to_channel(CHANNEL, "created"), joins=[(CHANNEL, m) for m in members]
    )
    subscribers = [await cluster.last.hub.subscribe(m) for m in members]
    raw = Redis.from_url(redis.url)
    pubsub = raw.pubsub()
    try:
        await pubsub.psubscribe(f"{redis.prefix}:*")
        await pubsub.get_message(timeout=WAIT)  # the psubscribe confirmation
        batch = await cluster.first.publish(to_channel(CHANNEL, "hello, all"))
        marker = await cluster.first.publish(to_user(members[0], "marker"))
        messages: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT):
            while not any(json.loads(m["data"]).get("b", [0])[0] == marker.first for m in messages):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=WAIT)
                if message is not None:
                    messages.append(message)
        assert [m["channel"].decode() for m in messages] == [f"{redis.prefix}:feed"] * 2
        first, last, events, memberships = json.loads(messages[0]["data"])["b"]
        assert (first, last, len(events), memberships) == (batch.first, batch.last, 1, [])
    finally:
        await pubsub.aclose()
        await raw.aclose()
    for subscriber in subscribers:
        expected = [*batch.events, *mine(marker.events, subscriber.user_id)]
        await expect_exactly(subscriber, expected)


async def _publish_raw(url: str, messages: Sequence[tuple[str, bytes | str]]) -> None:
    raw = Redis.from_url(url)
    try:
        for channel, message in messages:
            await raw.publish(channel, message)
    finally:
        await raw.aclose()


def _wire(batch: Batch, origin: str = "someone-else") -> str:
    """A batch as another process puts it on the feed."""
    return json.dumps(
        {
            "o": origin,
            "b": [
                batch.first,
                batch.last,
                [[e.pos, e.user_id, e.channel_id, e.type, e.data] for e in batch.events],
                [[m.pos, m.channel_id, m.user_id, m.joined] for m in batch.memberships],
            ],
        }
    )


async def test_redis_ignores_malformed_messages_on_the_feed_and_control_channels(
    redis: RedisSetup,
):
    """Each bad message, if taken, would hand the subscriber a forged event or move the
    sequencer: the one valid batch after them arrives alone, and the connection stays up."""
    cluster = redis.cluster()
    node = await cluster.add(redis.broker())
    broker = node.broker
    assert isinstance(broker, RedisBroker)
    user = cluster.users[0]
    subscriber = await node.hub.subscribe(user)
    restored = broker.subscriptions_restored
    batch = await node.write(to_user(user, "valid"))  # written by "another process"
    n = batch.first
    event = [n, user, None, "test_note", '{"type":"test_note","text":"forged"}']
    good = {"o": "someone-else", "b": [n, n, [event], []]}

    def bad_batch(*, b: Any = None, **fields: Any) -> str:
        return json.dumps({**good, "b": b if b is not None else good["b"], **fields})

    feed, control = f"{redis.prefix}:feed", f"{redis.prefix}:control"
    await _publish_raw(
        redis.url,
        [
            (feed, b"not json"),
            (feed, b"[1, 2]"),
            (feed, b"\xff\xfe"),
            (feed, json.dumps({"o": "x"})),
            (feed, json.dumps({"b": good["b"]})),  # no origin
            (feed, bad_batch(b=[n, n, [event]])),
            (feed, bad_batch(b=[n + 1, n, [event], []])),  # first after last
            (feed, bad_batch(b=[str(n), n, [event], []])),
            (feed, bad_batch(b=[n, n, [[str(n), *event[1:]]], []])),
            (feed, bad_batch(b=[n, n, [[n, user, CHANNEL, *event[3:]]], []])),  # two addressees
            (feed, bad_batch(b=[n, n, [[n, None, None, *event[3:]]], []])),  # none
            (feed, bad_batch(b=[n, n, [[n, str(user), None, *event[3:]]], []])),
            (feed, bad_batch(b=[n, n, [[*event[:4], "{}\n\nevent: forged"]], []])),
            (feed, bad_batch(b=[n, n, [[*event[:3], "test_note\nid: 9", "{}"]], []])),
            (feed, bad_batch(b=[n, n, [event], [[n, CHANNEL, user, 1]]])),
            (feed, bad_batch(b=[n, n, [event], [[n, CHANNEL, str(user), True]]])),
            (feed, bad_batch(b=[n, n, "events", []])),
            (control, b"[1, 2]"),
            (control, json.dumps({"o": "x", "catch_up": "yes"})),
            (control, json.dumps({"catch_up": True})),  # no origin
            (control, b'{"o": "x", "catch_up": tru'),
            (feed, _wire(batch)),
        ],
    )
    items = await expect_exactly(subscriber, list(batch.events))
    assert CATCH_UP not in items, "a malformed control made the hub catch up"
    assert node.hub.position == batch.last
    assert node.hub._early == {}
    assert node.gap_fills == 0
    assert broker.connected.is_set()
    assert broker.subscriptions_restored == restored
    barriers = await cluster.barrier([user])
    items = await expect_exactly(subscriber, barriers)
    assert CATCH_UP not in items, "a malformed control made the hub catch up"


async def test_redis_ignores_malformed_messages_on_a_users_channel(redis: RedisSetup):
    cluster = redis.cluster()
    node = await cluster.add(redis.broker())
    user, other = cluster.users[:2]
    subscriber = await node.hub.subscribe(user, session_key="kept")
    channel = f"{redis.prefix}:u:{user}"
    valid = {"o": "someone-else", "u": user, "x": [["test_nudge", "{}"]]}
    end = {"type": "end_sessions", "sessions": ["kept"]}
    await _publish_raw(
        redis.url,
        [
            (channel, b"not json"),
            (channel, json.dumps({**valid, "u": other})),  # claims another user
            (channel, json.dumps({**valid, "u": str(user)})),
            (channel, json.dumps({**valid, "x": [["test_nudge"]]})),
            (channel, json.dumps({**valid, "x": [[1, "{}"]]})),
            (channel, json.dumps({**valid, "x": [["test_nudge", "{}\n\nid: 999"]]})),
            (channel, json.dumps({**valid, "x": [["test_nudge\nid: 999", "{}"]]})),
            (channel, json.dumps({**valid, "x": "test_nudge"})),
            (channel, json.dumps({"o": "someone-else", "u": other, "c": end})),
            (channel, json.dumps({"o": "someone-else", "u": user, "c": ["kept"]})),
            (channel, json.dumps(valid)),
        ],
    )
    items = await receive_until(subscriber, lambda items: bool(items))
    assert items == [EphemeralEvent(user, "test_nudge", "{}")]
    assert not subscriber.closed
    # A well-formed control still works after all that.
    await _publish_raw(
        redis.url, [(channel, json.dumps({"o": "someone-else", "u": user, "c": end}))]
    )
    async with asyncio.timeout(WAIT):
        await subscriber.wait()
    assert subscriber.closed_reason == "session_ended"


async def _kill_client_named(redis_url: str, name: str) -> int:
    raw = Redis.from_url(redis_url)
    try:
        clients = await raw.client_list(_type="pubsub")
        ids = [c["id"] for c in clients if c.get("name") == name]
        for client_id in ids:
            await raw.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        await raw.aclose()


async def test_redis_lost_subscription_makes_the_hub_read_the_log_and_streams_catch_up(
    redis: RedisSetup,
):
    """Redis drops the subscription (CLIENT KILL): resubscribe, read the log up to its head (a
    batch nobody published arrives without any later batch), tell every stream to catch up."""
    cluster = redis.cluster()
    writer = await cluster.add(redis.broker())
    listener = await cluster.add(redis.broker())
    user = cluster.users[1]
    subscriber = await listener.hub.subscribe(user)
    broker = listener.broker
    assert isinstance(broker, RedisBroker)
    restored = broker.subscriptions_restored
    lost = await writer.write(to_user(user, "its publisher died"))
    assert await _kill_client_named(redis.url, broker.client_name) == 1

    items = await receive_until(
        subscriber, lambda items: CATCH_UP in items and bool(events_of(items))
    )
    assert events_of(items) == list(lost.events)
    assert items.count(CATCH_UP) == 1
    assert broker.subscriptions_restored == restored + 1
    # And the new subscription carries batches again.
    later = await writer.publish(to_user(user, "after"))
    await expect_exactly(subscriber, list(later.events))


async def test_redis_catch_up_request_makes_every_hub_read_the_log_up_to_its_head(
    redis: RedisSetup,
):
    """What a process sends once Redis is back after its publishes failed: with no later
    batch to show the gap, every other process reads what it missed."""
    cluster = redis.cluster()
    for _ in range(3):
        await cluster.add(redis.broker())
    user = cluster.users[1]
    subscribers = [await node.hub.subscribe(user) for node in cluster.nodes[1:]]
    lost = await cluster.first.write(to_user(user, "never published"), to_user(user, "either"))
    await _publish_raw(
        redis.url,
        [(f"{redis.prefix}:control", json.dumps({"o": "someone-else", "catch_up": True}))],
    )
    for subscriber in subscribers:
        items = await receive_until(subscriber, lambda items: len(events_of(items)) == 2)
        assert events_of(items) == list(lost.events)
        assert CATCH_UP in items
    barriers = await cluster.barrier([user])
    for subscriber in subscribers:
        await expect_exactly(subscriber, barriers)


async def test_redis_batches_missed_while_cut_off_arrive_from_the_log_after_reconnecting(
    redis: RedisSetup,
):
    cluster = redis.cluster()
    proxy = await redis.proxy()
    writer = await cluster.add(redis.broker())
    listener = await cluster.add(redis.broker(proxy))
    broker = listener.broker
    assert isinstance(broker, RedisBroker)
    user = cluster.users[2]
    subscriber = await listener.hub.subscribe(user)
    proxy.cut()
    missed = await writer.publish(to_user(user, "one"), to_user(user, "two"))
    proxy.restore()
    items = await receive_until(subscriber, lambda items: len(events_of(items)) == 2)
    assert events_of(items) == list(missed.events)
    assert CATCH_UP in items
    barriers = await cluster.barrier([user])
    await expect_exactly(subscriber, barriers)


async def test_redis_silent_connection_is_detected_by_ping(redis: RedisSetup):
    """A connection that stays open but carries nothing is given up and replaced."""
    cluster = redis.cluster()
    proxy = await redis.proxy()
    writer = await cluster.add(redis.broker())
    listener = await cluster.add(redis.broker(proxy, ping_interval=0.2))
    broker = listener.broker
    assert isinstance(broker, RedisBroker)
    user = cluster.users[1]
    subscriber = await listener.hub.subscribe(user)
    proxy.stall()
    async with asyncio.timeout(WAIT):
        while broker.connected.is_set():  # noqa: ASYNC110 (a state with nothing to await)
            await asyncio.sleep(0.02)
    proxy.restore()
    await receive_until(subscriber, lambda items: CATCH_UP in items)
    event = await writer.publish(to_user(user, "through the new connection"))
    await expect_exactly(subscriber, list(event.events))


async def test_redis_failed_publishes_reach_other_processes_when_redis_is_back(
    redis: RedisSetup,
):
    """The publisher loses Redis, the others do not: nothing may wait for a next batch."""
    cluster = redis.cluster()
    proxy = await redis.proxy()
    publisher = await cluster.add(redis.broker(proxy))
    listener = await cluster.add(redis.broker())
    user = cluster.users[1]
    remote = await listener.hub.subscribe(user)
    local = await publisher.hub.subscribe(user)
    proxy.cut()
    sent: list[StoredEvent] = []
    for n in range(5):
        # Never raises: the hub logs and counts the failure.
        sent.extend((await publisher.publish(to_user(user, str(n)))).events)
    assert publisher.broker_errors >= 1
    # Same-process streams are not held up by Redis being away.
    assert events_of(local.take()) == sent
    proxy.restore()
    # Nothing more is published: the batches must arrive by themselves, in order.
    items = await receive_until(remote, lambda items: len(events_of(items)) == 5)
    assert events_of(items) == sent
    barriers = await cluster.barrier([user])
    await expect_exactly(remote, barriers)
    await expect_exactly(local, barriers)


async def test_redis_ephemeral_events_are_lost_while_redis_is_away_and_never_resent(
    redis: RedisSetup,
):
    """Not in the log, so nothing to resend: the sender's own streams still get them."""
    cluster = redis.cluster()
    proxy = await redis.proxy()
    publisher = await cluster.add(redis.broker(proxy))
    listener = await cluster.add(redis.broker())
    user = cluster.users[1]
    remote = await listener.hub.subscribe(user)
    local = await publisher.hub.subscribe(user)
    proxy.cut()
    await publisher.hub.send_ephemeral([user], Nudge(text="lost"))  # never raises
    assert publisher.broker_errors == 1
    assert [e.data for e in ephemeral_of(local.take())] == [Nudge(text="lost").model_dump_json()]
    proxy.restore()
    barriers = await cluster.barrier([user])
    items = await expect_exactly(remote, barriers)
    assert ephemeral_of(items) == []


async def test_redis_sessions_ended_while_publishing_fails_reach_other_processes_later(
    redis: RedisSetup,
):
    """A logout on a process that cannot publish: once it can again, every process's streams
    catch up, and a stream that catches up re-checks its session."""
    cluster = redis.cluster()
    proxy = await redis.proxy()
    publisher = await cluster.add(redis.broker(proxy))
    listener = await cluster.add(redis.broker())
    user = cluster.users[1]
    here = await publisher.hub.subscribe(user, session_key="ended")
    remote = await listener.hub.subscribe(user, session_key="ended")
    proxy.cut()
    await publisher.hub.end_sessions(user, ["ended"])  # the control cannot leave this process
    assert here.closed_reason == "session_ended"
    assert not remote.closed
    proxy.restore()
    await receive_until(remote, lambda items: CATCH_UP in items)


async def test_redis_second_stream_waits_for_the_first_streams_subscription(redis: RedisSetup):
    """Two tabs of one user open at once: neither is ready before Redis confirms."""
    cluster = redis.cluster()
    proxy = await redis.proxy()
    writer = await cluster.add(redis.broker())
    listener = await cluster.add(redis.broker(proxy))
    user = cluster.users[6]
    proxy.stall()  # the SUBSCRIBE goes out, its confirmation cannot come back yet
    first = asyncio.create_task(listener.hub.subscribe(user))
    second = asyncio.create_task(listener.hub.subscribe(user))
    for _ in range(20):
        await asyncio.sleep(0)  # let both run as far as they can without Redis
    assert not first.done()
    assert not second.done(), "a stream was ready before its events could reach it"
    proxy.restore()
    subscribers = await asyncio.gather(first, second)
    batch = await writer.publish(to_user(user, "to both tabs"))
    for subscriber in subscribers:
        await expect_exactly(subscriber, list(batch.events))
