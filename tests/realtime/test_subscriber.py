"""A stream's mailbox (``Subscriber``): items an idle stream takes at once, and their order when
it cannot."""

from __future__ import annotations

import asyncio

from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import HEARTBEAT, Item, Subscriber


class _Socket:
    """What ``deliver_now`` writes to: takes items until told it is full."""

    def __init__(self) -> None:
        self.full = False
        self.written: list[Item] = []

    def deliver_now(self, item: Item) -> bool:
        if self.full:
            return False
        self.written.append(item)
        return True


async def _parked(subscriber: Subscriber) -> asyncio.Task[None]:
    """The stream's task, parked in ``wait`` (as between deliveries)."""
    waiting = asyncio.ensure_future(subscriber.wait())
    await asyncio.sleep(0)  # let it park: wait() registers its waiter on its first step
    assert not waiting.done()
    return waiting


async def test_an_idle_stream_takes_items_at_once_and_queues_them_in_order_when_it_cannot():
    socket = _Socket()
    subscriber = Subscriber(1, 1 << 20)
    subscriber.deliver_now = socket.deliver_now
    waiting = await _parked(subscriber)

    assert subscriber.offer(HEARTBEAT)  # written at once; the task stays parked
    assert socket.written == [HEARTBEAT]
    assert not waiting.done()

    first, second, third = (StoredEvent(pos, "test", "{}", user_id=1) for pos in (1, 2, 3))
    socket.full = True
    subscriber.offer(first)  # refused: queued, the task woken to write it
    socket.full = False
    subscriber.offer(second)  # the socket would take it, but it must not overtake the first
    await waiting
    assert subscriber.take() == [first, second]
    assert socket.written == [HEARTBEAT]

    subscriber.offer(third)  # the task is busy writing (not parked): queued
    assert subscriber.take() == [third]

    subscriber.close("disconnect")
    assert not subscriber.offer(HEARTBEAT)  # closed: nothing more, written or queued
    assert socket.written == [HEARTBEAT]
