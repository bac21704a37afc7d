"""The hub's sequencer and channel index, on one node over a real event log (SQLite file).

The sequencer hands committed batches to streams strictly in position order and complete:
a batch that comes early is held; what does not come is read from the log after the gap wait.
The channel index says which local users a channel's event goes to: their memberships, loaded
from the log when their first stream opens and kept current by the membership changes that
travel with the batches (or are read with them from the log).

One node with the memory broker: batches reach the hub only through ``hub.publish`` on it (as
from the app's write transactions, in whatever order concurrent writers publish), or not at all
(a writer that died between commit and publish). Where a read of the log must happen at an exact
point, the node's real log reader is held at a ``Gate`` (``tests/realtime/nodes.py``). The same
behaviour across processes (Redis) is in ``test_brokers.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import exc as sqlalchemy_exc

from tests.realtime.nodes import (
    WAIT,
    Cluster,
    Gate,
    Node,
    ObservedHub,
    events_of,
    expect_exactly,
    make_log,
    to_channel,
    to_user,
)
from tidings.realtime import hub as hub_module
from tidings.realtime.brokers.memory import MemoryBroker
from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import CATCH_UP, Item, Subscriber
from tidings.realtime.log import prune_events
from tidings.realtime.metrics import Metrics

CHANNEL = 100
OTHER_CHANNEL = 200


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(*await make_log(tmp_path))
    try:
        await cluster.add(MemoryBroker())
        yield cluster
    finally:
        await cluster.close()


@pytest.fixture
def node(cluster: Cluster) -> Node:
    return cluster.first


@pytest.fixture
def users(cluster: Cluster) -> list[int]:
    return cluster.users


async def yield_until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition()`` holds (for a state reached without awaiting
    anything: a task's first steps)."""
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never reached")


async def prune_everything(node: Node) -> int:
    """Prune every event so far, as the pruning job does with events past the retention."""
    async with node.db.write() as session:
        return await session.run_sync(lambda sync: prune_events(sync, max_age=timedelta(0)))


async def receive_until_closed_or(subscriber: Subscriber, last: StoredEvent) -> list[Item]:
    """Take items until ``last`` is among them or the subscriber is closed."""
    items: list[Item] = []
    async with asyncio.timeout(WAIT):
        while not subscriber.closed and last not in items:
            await subscriber.wait()
            items.extend(subscriber.take())
    return items


# The sequencer


async def test_held_batches_and_the_gaps_between_them_are_handed_on_in_position_order(
    node: Node, users: list[int]
):
    """Four commits; the second and fourth are published (fourth first), the first and third
    never: the hub reads exactly the two gaps from the log, each once, and streams get all
    four in order."""
    user = users[0]
    subscriber = await node.hub.subscribe(user)
    batches = [await node.write(to_user(user, f"commit {n}")) for n in range(1, 5)]
    await node.hub.publish(batches[3])
    await node.hub.publish(batches[1])
    assert events_of(subscriber.take()) == []
    await expect_exactly(subscriber, [b.events[0] for b in batches])
    assert node.log.batch_reads == [
        (batches[0].first - 1, batches[0].last),
        (batches[1].last, batches[2].last),
    ]
    assert node.gap_fills == 2


async def test_a_batch_that_comes_twice_or_overlaps_what_was_handed_on_is_handed_on_once(
    node: Node, users: list[int]
):
    """A broker may bring a batch again (a resend), or one the hub has read from the log."""
    user = users[0]
    subscriber = await node.hub.subscribe(user)
    first = await node.publish(to_user(user, "one"))
    node.hub.on_batch(first)  # a second copy
    lost = await node.write(to_user(user, "two"))
    later = await node.write(to_user(user, "three"))
    node.hub.on_batch(later)  # early: held
    node.hub.on_batch(later)  # and again while held
    await expect_exactly(subscriber, [*first.events, *lost.events, *later.events])
    node.hub.on_batch(lost)  # the lost one, late: read from the log already
    node.hub.on_batch(later)
    barrier = await node.publish(to_user(user, "barrier"))
    await expect_exactly(subscriber, list(barrier.events))


async def test_a_failed_read_of_the_log_is_tried_again(node: Node, users: list[int]):
    user = users[0]
    subscriber = await node.hub.subscribe(user)
    node.log.batch_errors = [sqlalchemy_exc.TimeoutError("QueuePool limit reached")]
    lost = await node.write(to_user(user, "never published"))
    later = await node.publish(to_user(user, "later"))
    await expect_exactly(subscriber, [*lost.events, *later.events])
    assert node.broker_errors == 1
    assert node.gap_fills == 1


async def test_a_gap_pruned_from_the_log_makes_streams_resync_and_later_batches_still_come(
    node: Node, users: list[int]
):
    """The hub cannot read the gap: its streams are told to catch up (each finds out from the
    log that it must resync), or ended (their clients reconnect and resync); either way, what
    comes after the gap is handed on, to them or to the streams opened next."""
    user = users[0]
    subscriber = await node.hub.subscribe(user)
    lost = await node.write(to_user(user, "never published, then pruned"))
    assert await prune_everything(node) == 1
    later = await node.publish(to_user(user, "later"))
    items = await receive_until_closed_or(subscriber, later.events[0])
    assert events_of(items) in ([], list(later.events))
    if not subscriber.closed:
        assert items.index(CATCH_UP) < items.index(later.events[0])
    else:
        await node.hub.unsubscribe(subscriber)
        subscriber = await node.hub.subscribe(user)
        later = await node.publish(to_user(user, "later still"))
        await expect_exactly(subscriber, list(later.events))
    assert node.hub.position == later.last
    assert lost.last < later.first


async def test_a_long_gap_is_read_a_page_at_a_time(
    node: Node, users: list[int], monkeypatch: pytest.MonkeyPatch
):
    """Pages end anywhere, inside a commit too; membership changes come with their page."""
    monkeypatch.setattr(hub_module, "FILL_PAGE_POSITIONS", 2)
    user, other = users[:2]
    subscriber = await node.hub.subscribe(user)
    lost = await node.write(*(to_user(user, f"lost {n}") for n in range(3)))
    joined = await node.write(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    member = await node.write(to_channel(CHANNEL, "while a member"))
    later = await node.publish(to_user(other, "shows the gap"), to_user(user, "later"))
    await expect_exactly(
        subscriber, [*lost.events, *joined.events, *member.events, later.events[1]]
    )
    start = lost.first - 1
    assert node.log.batch_reads == [
        (start, start + 2),
        (start + 2, start + 4),
        (start + 4, start + 5),
    ]


@pytest.mark.parametrize("change", ["join", "leave"])
async def test_a_membership_change_pruned_with_a_gap_still_takes_effect(
    node: Node, users: list[int], change: str
):
    """BUG (reported): the hub finds a gap it cannot read (pruned: this process fell behind by
    more than the retention) and skips it, telling its streams to catch up (they resync). But
    the membership changes in that gap are skipped with it: a local user who left a
    conversation in it keeps getting its messages live (and one who joined gets none) for as
    long as they keep a stream open here.

    Either fix passes: the hub brings its index up to date, or it ends the streams (their
    clients reconnect, and the new streams read their channels afresh)."""
    user, other = users[:2]
    members = [user, other] if change == "leave" else [other]
    await node.publish(to_channel(CHANNEL, "created"), joins=[(CHANNEL, m) for m in members])
    subscriber = await node.hub.subscribe(user)
    if change == "leave":
        await node.write(to_channel(CHANNEL, "the user leaves"), leaves=[(CHANNEL, user)])
    else:
        await node.write(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    assert await prune_everything(node) > 0
    message = await node.publish(to_channel(CHANNEL, "said after the change"))
    barrier = await node.publish(to_user(user, "barrier"))

    items = await receive_until_closed_or(subscriber, barrier.events[0])
    if not subscriber.closed:
        expected = [*message.events, *barrier.events] if change == "join" else barrier.events
        assert events_of(items) == list(expected)
        assert CATCH_UP in items
        return
    # Ended: nothing wrong went out before, and the stream its client opens next is right.
    assert change == "join" or message.events[0] not in items
    await node.hub.unsubscribe(subscriber)
    again = await node.hub.subscribe(user)
    message = await node.publish(to_channel(CHANNEL, "said after the reconnect"))
    barrier = await node.publish(to_user(user, "barrier"))
    expected = [*message.events, *barrier.events] if change == "join" else barrier.events
    await expect_exactly(again, list(expected))


async def test_a_hub_without_a_log_hands_on_the_batches_it_is_given(node: Node, users: list[int]):
    """``Hub(log=None)``: "a hub whose broker never loses or reorders" (tests without a
    database, the cluster tests' ephemeral sender). It starts at position 0, so once the log
    has events from before it started, every batch it is given comes "early": with nothing to
    read the gap from, it must still hand them on."""
    user = users[0]
    await node.write(to_user(user, "before the log-less hub started"))
    hub = ObservedHub(MemoryBroker(), metrics=Metrics(), log=None)
    await hub.start()
    try:
        subscriber = await hub.subscribe(user)
        batch = await node.write(to_user(user, "given to it"))
        await hub.publish(batch)
        if hub._fill_task is not None:
            await hub._fill_task
        assert events_of(subscriber.take()) == list(batch.events)
        later = await node.write(to_user(user, "and the next"))
        await hub.publish(later)
        assert events_of(subscriber.take()) == list(later.events)
    finally:
        await hub.stop()


# The channel index


async def test_membership_changes_read_from_the_log_take_effect_at_their_positions(
    node: Node, users: list[int]
):
    """Joins and leaves whose batches were never published arrive with the gap the hub reads,
    several transactions in one read, each change in place among the events."""
    user, other = users[:2]
    subscriber = await node.hub.subscribe(user)
    before = await node.write(to_channel(CHANNEL, "before the user joins"))
    joined = await node.write(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    member = await node.write(to_channel(CHANNEL, "while a member"))
    left = await node.write(to_channel(CHANNEL, "the user leaves"), leaves=[(CHANNEL, user)])
    gone = await node.write(to_channel(CHANNEL, "after the user left"))
    later = await node.publish(to_user(other, "shows the gap"))
    barrier = await node.publish(to_user(user, "barrier"))
    await expect_exactly(subscriber, [*joined.events, *member.events, *barrier.events])
    assert node.log.batch_reads == [(before.first - 1, gone.last)]
    assert later.first == gone.last + 1 and left.last < gone.first


async def test_a_member_who_leaves_and_joins_again_misses_what_was_said_in_between(
    node: Node, users: list[int]
):
    user = users[0]
    live = await node.hub.subscribe(user)
    first = await node.publish(to_channel(CHANNEL, "joins"), joins=[(CHANNEL, user)])
    await node.publish(to_channel(CHANNEL, "leaves"), leaves=[(CHANNEL, user)])
    await node.publish(to_channel(CHANNEL, "while away"))
    again = await node.publish(to_channel(CHANNEL, "joins again"), joins=[(CHANNEL, user)])
    # A stream opened now loads both spans (the first one is over: nothing of it is left).
    opened_later = await node.hub.subscribe(user)
    back = await node.publish(to_channel(CHANNEL, "back"))
    barrier = await node.publish(to_user(user, "barrier"))
    await expect_exactly(live, [*first.events, *again.events, *back.events, *barrier.events])
    await expect_exactly(opened_later, [*back.events, *barrier.events])


async def test_a_users_channels_are_read_again_when_their_first_stream_opens_again(
    node: Node, users: list[int]
):
    """A user with no stream here is not indexed; what changed meanwhile comes from the log."""
    user = users[0]
    await node.publish(to_channel(CHANNEL, "joins"), joins=[(CHANNEL, user)])
    gone = await node.hub.subscribe(user)
    await node.hub.unsubscribe(gone)
    assert all(user not in members for members in node.hub._channel_users.values())
    await node.publish(to_channel(CHANNEL, "leaves while away"), leaves=[(CHANNEL, user)])
    await node.publish(
        to_channel(OTHER_CHANNEL, "joins another while away"), joins=[(OTHER_CHANNEL, user)]
    )
    again = await node.hub.subscribe(user)
    await node.publish(to_channel(CHANNEL, "in the one left"))
    other = await node.publish(to_channel(OTHER_CHANNEL, "in the one joined"))
    barrier = await node.publish(to_user(user, "barrier"))
    await expect_exactly(again, [*other.events, *barrier.events])
    assert gone.take() == []


@pytest.mark.parametrize(
    "arrival",
    [
        "published during the load",
        "read from the log during the load",
        "published after the load",
    ],
)
@pytest.mark.parametrize("read", ["before the change commits", "after the change commits"])
@pytest.mark.parametrize("change", ["join", "leave"])
async def test_a_first_stream_opening_while_the_users_membership_changes_gets_the_right_events(
    node: Node, users: list[int], change: str, read: str, arrival: str
):
    """The user's first stream here reads their channels from the log while a membership
    change (and a channel event before it) is committed and reaches the hub: before that read
    or after it, during the read or only once it is done. Whichever, the index ends up right:
    the channel's later events reach the stream if and only if the user is a member.

    Channel events the hub handed on while the stream was opening do not reach it live (it
    replays them from the log, up to the head it reads once subscribed); those handed on after
    do, as membership says at their position."""
    user, other = users[:2]
    if change == "leave":
        await node.publish(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    gate = node.log.spans_gate = Gate()
    node.log.spans_read_first = read == "before the change commits"
    opening = asyncio.create_task(node.hub.subscribe(user))
    await gate.wait_reached()

    earlier = await node.write(to_channel(CHANNEL, "before the change"))
    if change == "join":
        changed = await node.write(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    else:
        changed = await node.write(to_channel(CHANNEL, "the user leaves"), leaves=[(CHANNEL, user)])
    if arrival == "published during the load":
        await node.hub.publish(earlier)
        await node.hub.publish(changed)
    elif arrival == "read from the log during the load":
        await node.publish(to_user(other, "shows the gap"))
    if arrival != "published after the load":
        await node.hub.until_position(changed.last)
    assert not opening.done()
    gate.open()
    subscriber = await opening
    if arrival == "published after the load":
        await node.hub.publish(earlier)
        await node.hub.publish(changed)

    after = await node.publish(to_channel(CHANNEL, "after the change"))
    barrier = await node.publish(to_user(user, "barrier"))
    expected: list[StoredEvent] = []
    if arrival == "published after the load":
        expected += changed.events if change == "join" else earlier.events
    if change == "join":
        expected += after.events
    await expect_exactly(subscriber, [*expected, *barrier.events])


@pytest.mark.parametrize("how", ["cancelled", "failed"])
async def test_a_stream_opened_while_the_first_one_loads_the_channels_never_goes_without_them(
    node: Node, users: list[int], how: str
):
    """BUG (reported): the user's first stream here is loading their channels and a second
    stream of theirs waits for it; the first one's load then fails (a database error) or is
    cancelled. The second one goes on with no channel index at all: the user's conversations
    never reach it live (nor any later stream of theirs here while it stays open). It should
    either fail to open too (its client retries) or load the channels itself."""
    user = users[0]
    await node.publish(to_channel(CHANNEL, "the user joins"), joins=[(CHANNEL, user)])
    gate = node.log.spans_gate = Gate()
    if how == "failed":
        node.log.spans_error = sqlalchemy_exc.TimeoutError("QueuePool limit reached")
    first = asyncio.create_task(node.hub.subscribe(user))
    await gate.wait_reached()
    second = asyncio.create_task(node.hub.subscribe(user))
    await yield_until(lambda: node.hub.subscriber_count(user) == 2)
    assert not second.done()
    if how == "cancelled":
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
    else:
        gate.open()
        with pytest.raises(sqlalchemy_exc.TimeoutError):
            await first
    node.log.spans_gate = None
    try:
        subscriber = await second
    except Exception:
        assert node.hub.subscriber_count(user) == 0  # it did not open: fine, its client retries
        return
    message = await node.publish(to_channel(CHANNEL, "in the user's conversation"))
    barrier = await node.publish(to_user(user, "barrier"))
    await expect_exactly(subscriber, [*message.events, *barrier.events])


async def test_a_channel_event_reaches_each_stream_of_a_member_once(node: Node, users: list[int]):
    user, other = users[:2]
    await node.publish(to_channel(CHANNEL, "created"), joins=[(CHANNEL, user), (CHANNEL, other)])
    tabs = [await node.hub.subscribe(user) for _ in range(3)]
    others = await node.hub.subscribe(other)
    message = await node.publish(to_channel(CHANNEL, "hello"))
    barrier = await node.publish(to_user(user, "barrier"), to_user(other, "barrier"))
    for tab in tabs:
        await expect_exactly(tab, [*message.events, barrier.events[0]])
    await expect_exactly(others, [*message.events, barrier.events[1]])
