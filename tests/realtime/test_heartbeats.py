"""Heartbeats: every stream gets one per period, one slice of the users per tick."""

from __future__ import annotations

from tidings.realtime.brokers.memory import MemoryBroker
from tidings.realtime.hub import HEARTBEAT, Hub
from tidings.realtime.metrics import Metrics


async def test_a_period_beats_every_stream_once_a_slice_of_the_users_per_tick():
    hub = Hub(MemoryBroker(), metrics=Metrics(), heartbeat_seconds=3600)  # no timer beat here
    await hub.start()
    try:
        streams = {user: [await hub.subscribe(user)] for user in range(1, 7)}
        streams[4].append(await hub.subscribe(4))  # a second tab
        expired = await hub.subscribe(5, expires_at=1.0)
        beaten: list[list[tuple[int, int]]] = []
        for turn in range(3):
            hub.beat_slice(turn, 3, now=2.0)
            beaten.append(
                [
                    (user, tab)
                    for user, tabs in streams.items()
                    for tab, stream in enumerate(tabs)
                    if stream.take() == [HEARTBEAT]
                ]
            )
        assert beaten == [[(3, 0), (6, 0)], [(1, 0), (4, 0), (4, 1)], [(2, 0), (5, 0)]]
        assert expired.closed_reason == "session_expired"
    finally:
        await hub.stop()
