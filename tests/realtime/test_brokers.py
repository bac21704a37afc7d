"""The broker contract: the same cases over every broker (memory always; Redis where running).

A "node" is one hub with its broker, as one server process has. With the memory broker there
is one node (it carries nothing between processes); with Redis there are two sharing a channel
prefix, and events are published on the first and received on the last. Then come the cases
only a broker with a connection has: malformed messages, lost connections, failed publishes.

Whether everything has arrived is known without sleeping: after the events under test, a
barrier event is published for every user from every node; events from one publisher reach a
subscriber in order, so once the barriers are in, anything else (a duplicate, a leak) is too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from tests.support.ephemeral import Nudge
from tests.support.services import TcpProxy, require_redis
from tidings.realtime.brokers.memory import MemoryBroker
from tidings.realtime.brokers.redis import RedisBroker
from tidings.realtime.events import EphemeralEvent, StoredEvent
from tidings.realtime.hub import CATCH_UP, Broker, Hub, Subscriber
from tidings.realtime.metrics import Metrics


class Node:
    """One process's hub, and the event ids it hands out (the log's job in the app)."""

    def __init__(self, broker: Broker, seqs: dict[int, int]) -> None:
        self.broker = broker
        self.hub = Hub(broker, metrics=Metrics())
        self._seqs = seqs

    def event(self, user_id: int, text: str = "") -> StoredEvent:
        seq = self._seqs[user_id] = self._seqs.get(user_id, 0) + 1
        return StoredEvent(user_id, seq, "message", json.dumps({"text": text}))

    async def publish(self, *events: StoredEvent) -> None:
        await self.hub.publish(events)


class Cluster:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.seqs: dict[int, int] = {}

    async def add(self, broker: Broker) -> Node:
        node = Node(broker, self.seqs)
        await node.hub.start()
        self.nodes.append(node)
        return node

    @property
    def first(self) -> Node:
        return self.nodes[0]

    @property
    def last(self) -> Node:
        return self.nodes[-1]

    async def barrier(self, user_ids: Sequence[int]) -> list[StoredEvent]:
        """One event per user from every node; return them."""
        sent = []
        for node in self.nodes:
            events = [node.event(user_id, "barrier") for user_id in user_ids]
            await node.publish(*events)
            sent.extend(events)
        return sent

    async def close(self) -> None:
        for node in self.nodes:
            await node.hub.stop()


def redis_broker(url: str, prefix: str, *, ping_interval: float = 5.0) -> RedisBroker:
    return RedisBroker(url, prefix=prefix, ping_interval=ping_interval)


@pytest.fixture(params=["memory", "redis"])
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    cluster = Cluster()
    if request.param == "memory":
        await cluster.add(MemoryBroker())
    else:
        url = await require_redis()
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        await cluster.add(redis_broker(url, prefix))
        await cluster.add(redis_broker(url, prefix))
    yield cluster
    await cluster.close()


@pytest.fixture
async def redis_url() -> str:
    return await require_redis()


async def receive_events(subscriber: Subscriber, count: int, timeout: float = 10) -> list:
    """Wait for ``count`` events in the subscriber's buffer; return them with any signals."""
    items: list = []
    async with asyncio.timeout(timeout):
        while sum(isinstance(i, StoredEvent) for i in items) < count:
            await subscriber.wait()
            assert not subscriber.closed, subscriber.closed_reason
            items.extend(subscriber.take())
    return items


def events_of(items: list) -> list[StoredEvent]:
    return [item for item in items if isinstance(item, StoredEvent)]


def ephemeral_of(items: list) -> list[EphemeralEvent]:
    return [item for item in items if isinstance(item, EphemeralEvent)]


def assert_received_exactly(items: list, expected: list[StoredEvent]) -> None:
    """Every expected event once, and events of one user in id order up to the barriers."""
    got = events_of(items)
    key = lambda e: (e.user_id, e.seq)  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
    assert len(got) == len(set(got)), "an event was delivered twice"


# The contract, on every broker


async def test_events_reach_the_addressees_streams_on_every_node_and_nobody_else(cluster):
    alice_here = await cluster.first.hub.subscribe(1)
    alice_there = await cluster.last.hub.subscribe(1)
    bob = await cluster.last.hub.subscribe(2)
    carol = await cluster.last.hub.subscribe(3)

    for_alice = [cluster.first.event(1, "a1"), cluster.first.event(1, "a2")]
    for_bob = [cluster.first.event(2, "b1")]
    await cluster.first.publish(for_alice[0], for_bob[0], for_alice[1])
    barriers = await cluster.barrier([1, 2, 3])

    per_node = len(cluster.nodes)
    for subscriber, expected in [
        (alice_here, for_alice),
        (alice_there, for_alice),
        (bob, for_bob),
        (carol, []),
    ]:
        mine = [b for b in barriers if b.user_id == subscriber.user_id]
        items = await receive_events(subscriber, len(expected) + per_node)
        assert_received_exactly(items, expected + mine)
        assert events_of(items)[: len(expected)] == expected, "out of order"


async def test_publishing_node_delivers_its_own_events_once(cluster):
    """The publishing process delivers directly and skips its own copy coming back."""
    here = await cluster.first.hub.subscribe(7)
    sent = [cluster.first.event(7, str(n)) for n in range(5)]
    for event in sent:
        await cluster.first.publish(event)
    # Straight away, without a round trip to Redis:
    assert events_of(await receive_events(here, 5)) == sent
    barriers = await cluster.barrier([7])
    items = await receive_events(here, len(barriers))
    assert_received_exactly(items, barriers)


async def test_unsubscribed_user_gets_nothing_and_can_subscribe_again(cluster):
    gone = await cluster.last.hub.subscribe(4)
    await cluster.last.hub.unsubscribe(gone)
    await cluster.first.publish(cluster.first.event(4, "while away"))

    again = await cluster.last.hub.subscribe(4)
    later = cluster.first.event(4, "back")
    await cluster.first.publish(later)
    barriers = await cluster.barrier([4])
    items = await receive_events(again, 1 + len(barriers))
    assert_received_exactly(items, [later, *barriers])
    assert gone.take() == []


async def test_streams_opening_and_closing_at_once_leave_the_user_watched(cluster):
    """Many tabs of one user come and go concurrently; the ones left open get every event."""
    hub = cluster.last.hub
    subscribers = await asyncio.gather(*(hub.subscribe(5) for _ in range(10)))
    await asyncio.gather(*(hub.unsubscribe(s) for s in subscribers[:9]), hub.subscribe(5))
    await hub.unsubscribe(subscribers[9])
    [remaining] = hub._subscribers[5]
    event = cluster.first.event(5, "still here")
    await cluster.first.publish(event)
    barriers = await cluster.barrier([5])
    assert_received_exactly(await receive_events(remaining, 1 + len(barriers)), [event, *barriers])


async def test_ending_sessions_closes_their_streams_on_every_node_and_no_other(cluster):
    """Logout on one process closes the streams of that session wherever they are."""
    here = await cluster.first.hub.subscribe(8, session_key="ended")
    there = await cluster.last.hub.subscribe(8, session_key="ended")
    other_session = await cluster.last.hub.subscribe(8, session_key="kept")
    other_user = await cluster.last.hub.subscribe(9, session_key="ended")

    await cluster.first.hub.end_sessions(8, ["ended"])
    async with asyncio.timeout(10):
        for subscriber in (here, there):
            await subscriber.wait()
            assert subscriber.closed_reason == "session_ended"
    # The control was applied everywhere; the others still get their events.
    barriers = await cluster.barrier([8, 9])
    for subscriber in (other_session, other_user):
        mine = [b for b in barriers if b.user_id == subscriber.user_id]
        assert_received_exactly(await receive_events(subscriber, len(mine)), mine)


async def test_ephemeral_events_reach_the_addressees_streams_on_every_node_and_nobody_else(
    cluster,
):
    alice_here = await cluster.first.hub.subscribe(1)
    alice_there = await cluster.last.hub.subscribe(1)
    bob_there = await cluster.last.hub.subscribe(2)
    carol = await cluster.last.hub.subscribe(3)

    await cluster.first.hub.send_ephemeral([1, 2, 1], Nudge(text="typing"))
    await cluster.first.hub.send_ephemeral([2], Nudge(text="only bob"))
    barriers = await cluster.barrier([1, 2, 3])

    typing = EphemeralEvent(1, "test_nudge", '{"type":"test_nudge","text":"typing"}')
    per_node = len(cluster.nodes)
    for subscriber, expected in [
        (alice_here, [typing]),
        (alice_there, [typing]),
        (
            bob_there,
            [
                EphemeralEvent(2, "test_nudge", typing.data),
                EphemeralEvent(2, "test_nudge", '{"type":"test_nudge","text":"only bob"}'),
            ],
        ),
        (carol, []),
    ]:
        # The barriers come after, from the same node: once they are in, so is anything else.
        items = await receive_events(subscriber, per_node)
        assert ephemeral_of(items) == expected, subscriber.user_id
        assert items[: len(expected)] == expected, "an ephemeral event came after later events"
        mine = [b for b in barriers if b.user_id == subscriber.user_id]
        assert_received_exactly(items, mine)


async def test_ephemeral_events_count_against_the_stream_byte_budget(cluster):
    hub = cluster.first.hub
    hub.buffer_bytes = 200
    subscriber = await hub.subscribe(4)
    await hub.send_ephemeral([4], Nudge(text="x" * 50))
    assert subscriber.buffered_bytes > 50
    await hub.send_ephemeral([4], Nudge(text="x" * 150))
    assert subscriber.closed_reason == "overflow"


# Only for a broker with a connection: Redis


async def test_redis_process_receives_only_what_it_watches(redis_url):
    """Channel per user: a process is not sent events of users it holds no stream of."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    received: list[StoredEvent] = []
    arrived = asyncio.Event()

    def deliver(events):
        received.extend(events)
        arrived.set()

    watcher = redis_broker(redis_url, prefix)
    publisher = redis_broker(redis_url, prefix)
    await watcher.start(deliver, lambda: None)
    await publisher.start(lambda events: None, lambda: None)
    try:
        await watcher.watch(1)
        await watcher.watch(2)
        await watcher.unwatch(2)
        await publisher.publish([StoredEvent(2, 1, "message", "{}")])
        await publisher.publish([StoredEvent(3, 1, "message", "{}")])
        last = StoredEvent(1, 1, "message", "{}")
        await publisher.publish([last])
        async with asyncio.timeout(10):
            await arrived.wait()
        assert received == [last]
    finally:
        await watcher.stop()
        await publisher.stop()


async def test_redis_ignores_malformed_messages(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    cluster = Cluster()
    await cluster.add(redis_broker(redis_url, prefix))
    try:
        subscriber = await cluster.first.hub.subscribe(1)
        channel = f"{prefix}:u:1"
        valid = {"o": "someone-else", "u": 1, "e": [[1, "message", "{}"]]}
        raw = Redis.from_url(redis_url)
        try:
            for bad in [
                b"not json",
                b"[1, 2]",
                json.dumps({**valid, "u": 2}),  # claims another user
                json.dumps({**valid, "u": "1"}),
                json.dumps({**valid, "e": [[1, "message"]]}),
                json.dumps({**valid, "e": [["1", "message", "{}"]]}),
                json.dumps({**valid, "e": [[1, "message", "{}\n\nevent: forged"]]}),
                json.dumps({"o": "x"}),
                b"\xff\xfe",
            ]:
                await raw.publish(channel, bad)
            await raw.publish(channel, json.dumps(valid))
        finally:
            await raw.aclose()
        items = await receive_events(subscriber, 1)
        assert events_of(items) == [StoredEvent(1, 1, "message", "{}")]
        assert cluster.first.broker.connected.is_set()
    finally:
        await cluster.close()


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


async def test_redis_lost_subscription_makes_streams_catch_up(redis_url):
    """Redis drops our subscription (CLIENT KILL): resubscribe, then every stream catches up."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    cluster = Cluster()
    await cluster.add(redis_broker(redis_url, prefix))
    listener = await cluster.add(redis_broker(redis_url, prefix))
    try:
        subscriber = await listener.hub.subscribe(1)
        broker = listener.broker
        assert isinstance(broker, RedisBroker)
        restored = broker.subscriptions_restored
        assert await _kill_client_named(redis_url, broker.client_name) == 1
        async with asyncio.timeout(10):
            while CATCH_UP not in (items := subscriber.take()):
                await subscriber.wait()
        assert broker.subscriptions_restored == restored + 1
        # And the new subscription carries events again.
        event = cluster.first.event(1, "after")
        await cluster.first.publish(event)
        assert events_of(await receive_events(subscriber, 1)) == [event]
        assert items.count(CATCH_UP) == 1
    finally:
        await cluster.close()


async def test_redis_silent_connection_is_detected_by_ping(redis_url):
    """A connection that stays open but carries nothing is given up and replaced."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    await cluster.add(redis_broker(redis_url, prefix))
    listener = await cluster.add(
        redis_broker(proxy.url_through(redis_url), prefix, ping_interval=0.2)
    )
    try:
        broker = listener.broker
        assert isinstance(broker, RedisBroker)
        subscriber = await listener.hub.subscribe(1)
        proxy.stall()
        async with asyncio.timeout(10):
            while broker.connected.is_set():  # noqa: ASYNC110 (a state with nothing to await)
                await asyncio.sleep(0.02)
        proxy.restore()
        async with asyncio.timeout(10):
            while CATCH_UP not in subscriber.take():
                await subscriber.wait()
        event = cluster.first.event(1)
        await cluster.first.publish(event)
        assert events_of(await receive_events(subscriber, 1)) == [event]
    finally:
        await cluster.close()
        await proxy.close()


async def test_redis_failed_publishes_are_sent_when_redis_is_back(redis_url):
    """The publisher loses Redis, the subscriber does not: nothing may wait for a next event."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    publisher = await cluster.add(redis_broker(proxy.url_through(redis_url), prefix))
    listener = await cluster.add(redis_broker(redis_url, prefix))
    try:
        remote = await listener.hub.subscribe(1)
        local = await publisher.hub.subscribe(1)
        proxy.cut()
        sent = [publisher.event(1, str(n)) for n in range(5)]
        for event in sent:
            await publisher.publish(event)  # never raises: the hub logs and counts the failure
        assert publisher.hub.metrics.broker_errors._value.get() >= 1
        # Same-process streams are not held up by Redis being away.
        assert events_of(await receive_events(local, 5)) == sent
        proxy.restore()
        # Nothing more is published: the queued events must arrive by themselves.
        assert events_of(await receive_events(remote, 5)) == sent
    finally:
        await cluster.close()
        await proxy.close()


async def test_redis_ephemeral_events_are_lost_while_redis_is_away_and_never_resent(redis_url):
    """Not in the log, so nothing to resend: the sender's own streams still get them."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    publisher = await cluster.add(redis_broker(proxy.url_through(redis_url), prefix))
    listener = await cluster.add(redis_broker(redis_url, prefix))
    try:
        remote = await listener.hub.subscribe(1)
        local = await publisher.hub.subscribe(1)
        proxy.cut()
        await publisher.hub.send_ephemeral([1], Nudge(text="lost"))  # never raises
        assert publisher.hub.metrics.broker_errors._value.get() == 1
        assert [e.data for e in ephemeral_of(local.take())] == [
            Nudge(text="lost").model_dump_json()
        ]
        proxy.restore()
        barriers = await cluster.barrier([1])
        items = await receive_events(remote, len(barriers))
        assert ephemeral_of(items) == []
        assert_received_exactly(items, barriers)
    finally:
        await cluster.close()
        await proxy.close()


async def test_redis_ignores_malformed_ephemeral_messages(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    cluster = Cluster()
    await cluster.add(redis_broker(redis_url, prefix))
    try:
        subscriber = await cluster.first.hub.subscribe(1)
        channel = f"{prefix}:u:1"
        valid = {"o": "someone-else", "u": 1, "x": [["test_nudge", "{}"]]}
        raw = Redis.from_url(redis_url)
        try:
            for bad in [
                {**valid, "u": 2},
                {**valid, "x": [["test_nudge"]]},
                {**valid, "x": [[1, "{}"]]},
                {**valid, "x": [["test_nudge", "{}\n\nid: 999"]]},
                {**valid, "x": [["test_nudge\nid: 999", "{}"]]},
                {**valid, "x": "test_nudge"},
            ]:
                await raw.publish(channel, json.dumps(bad))
            await raw.publish(channel, json.dumps(valid))
        finally:
            await raw.aclose()
        async with asyncio.timeout(10):
            items: list = []
            while not items:
                await subscriber.wait()
                items.extend(subscriber.take())
        assert items == [EphemeralEvent(1, "test_nudge", "{}")]
    finally:
        await cluster.close()


async def test_redis_resend_overflow_makes_every_process_catch_up(redis_url):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    publisher = await cluster.add(
        RedisBroker(proxy.url_through(redis_url), prefix=prefix, max_unsent=3)
    )
    listener = await cluster.add(redis_broker(redis_url, prefix))
    try:
        remote = await listener.hub.subscribe(1)
        proxy.cut()
        for n in range(5):
            await publisher.publish(publisher.event(1, str(n)))
        proxy.restore()
        async with asyncio.timeout(10):
            while CATCH_UP not in remote.take():
                await remote.wait()
    finally:
        await cluster.close()
        await proxy.close()


async def test_redis_sessions_ended_while_publishing_fails_reach_other_processes_later(
    redis_url,
):
    """A logout on a process that cannot publish: once it can again, every process's streams
    catch up, and a stream that catches up re-checks its session."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    publisher = await cluster.add(RedisBroker(proxy.url_through(redis_url), prefix=prefix))
    listener = await cluster.add(redis_broker(redis_url, prefix))
    try:
        here = await publisher.hub.subscribe(1, session_key="ended")
        remote = await listener.hub.subscribe(1, session_key="ended")
        proxy.cut()
        await publisher.hub.end_sessions(1, ["ended"])  # the control cannot leave this process
        assert here.closed_reason == "session_ended"
        assert not remote.closed
        proxy.restore()
        async with asyncio.timeout(10):
            while CATCH_UP not in remote.take():
                await remote.wait()
    finally:
        await cluster.close()
        await proxy.close()


async def test_redis_second_stream_waits_for_the_first_streams_subscription(redis_url):
    """Two tabs of one user open at once: neither is ready before Redis confirms."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    proxy = await TcpProxy.to_url(redis_url).start()
    cluster = Cluster()
    await cluster.add(redis_broker(redis_url, prefix))
    listener = await cluster.add(redis_broker(proxy.url_through(redis_url), prefix))
    try:
        proxy.stall()  # the SUBSCRIBE goes out, its confirmation cannot come back yet
        first = asyncio.create_task(listener.hub.subscribe(6))
        second = asyncio.create_task(listener.hub.subscribe(6))
        for _ in range(20):
            await asyncio.sleep(0)  # let both run as far as they can without Redis
        assert not first.done()
        assert not second.done(), "a stream was ready before its events could reach it"
        proxy.restore()
        subscribers = await asyncio.gather(first, second)
        event = cluster.first.event(6)
        await cluster.first.publish(event)
        for subscriber in subscribers:
            assert events_of(await receive_events(subscriber, 1)) == [event]
    finally:
        await cluster.close()
        await proxy.close()
