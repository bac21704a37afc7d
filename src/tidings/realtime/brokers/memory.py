"""The in-process broker: one server process, nothing to carry between processes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidings.realtime.events import Batch, EphemeralEvent
from tidings.realtime.hub import Receiver


class MemoryBroker:
    """The hub hands its batches to its own streams; controls and ephemeral events are
    delivered straight back to it."""

    def __init__(self) -> None:
        self._receiver: Receiver | None = None

    async def start(self, receiver: Receiver) -> None:
        self._receiver = receiver

    async def stop(self) -> None:
        self._receiver = None

    async def publish(self, batch: Batch) -> None:
        return None  # no other process

    async def publish_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        if self._receiver is not None:
            self._receiver.on_control(user_id, control)

    async def publish_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        if self._receiver is not None:
            self._receiver.on_ephemeral(events)

    async def watch(self, user_id: int) -> None:
        return None

    async def unwatch(self, user_id: int) -> None:
        return None
