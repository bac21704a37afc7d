"""The in-process broker: one server process, events delivered directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidings.realtime.events import EphemeralEvent, StoredEvent
from tidings.realtime.hub import ControlFn, DeliverFn


class MemoryBroker:
    """Delivers every published event straight to this process's hub."""

    def __init__(self) -> None:
        self._deliver: DeliverFn | None = None
        self._on_control: ControlFn | None = None

    async def start(
        self,
        deliver: DeliverFn,
        on_reconnect: Callable[[], None],
        on_control: ControlFn | None = None,
    ) -> None:
        self._deliver = deliver
        self._on_control = on_control

    async def stop(self) -> None:
        self._deliver = None
        self._on_control = None

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        if self._deliver is not None:
            self._deliver(events)

    async def publish_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        if self._on_control is not None:
            self._on_control(user_id, control)

    async def publish_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        if self._deliver is not None:
            self._deliver(events)

    async def watch(self, user_id: int) -> None:
        return None

    async def unwatch(self, user_id: int) -> None:
        return None
