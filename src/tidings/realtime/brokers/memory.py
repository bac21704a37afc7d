"""The in-process broker: one server process, events delivered directly."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import DeliverFn


class MemoryBroker:
    """Delivers every published event straight to this process's hub."""

    def __init__(self) -> None:
        self._deliver: DeliverFn | None = None

    async def start(self, deliver: DeliverFn, on_reconnect: Callable[[], None]) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        if self._deliver is not None:
            self._deliver(events)

    async def watch(self, user_id: int) -> None:
        return None

    async def unwatch(self, user_id: int) -> None:
        return None
