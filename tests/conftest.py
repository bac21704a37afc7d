"""Fixtures: a real server on a real port with a fresh SQLite file, and signed-in users."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tests.support.settings import make_settings, reset_postgres
from tidings.realtime.events import Batch, StoredEvent


@pytest.fixture
async def server(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LiveServer]:
    """A running server: SQLite file in tmp_path and in-memory hub (or the PostgreSQL + Redis
    configuration, see tests/support/settings.py). ``@pytest.mark.settings(name=value)`` on a
    test overrides settings, e.g. ``heartbeat_seconds=0.05``."""
    marker = request.node.get_closest_marker("settings")
    settings = make_settings(tmp_path, **(marker.kwargs if marker else {}))
    if settings.database_url.startswith("postgresql"):
        await reset_postgres(settings.database_url)
    live = LiveServer(settings)
    await live.start()
    yield live
    await live.stop()


MakeUser = Callable[..., Awaitable[ApiUser]]


@pytest.fixture
async def make_user(server: LiveServer) -> AsyncIterator[MakeUser]:
    """Register users on ``server``: ``alice = await make_user("alice")``."""
    users: list[ApiUser] = []

    async def make(username: str, display_name: str | None = None) -> ApiUser:
        user = await ApiUser(server.url, username).register(display_name)
        users.append(user)
        return user

    yield make
    for user in users:
        await user.aclose()


class Published:
    """The events a server's own writes hand to its hub, in commit order: what actions emit.

    Actions return plain values; a test that asks which events an action recorded wraps it:
    ``with published.during() as events: await actions.send_message(...)``.
    """

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []

    @contextmanager
    def during(self) -> Iterator[list[StoredEvent]]:
        """The events committed from here to the end of the block (filled in at its end)."""
        start = len(self.events)
        caught: list[StoredEvent] = []
        yield caught
        caught.extend(self.events[start:])


@pytest.fixture
def published(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Published:
    """Records every batch ``server``'s writer hands to its hub (``Hub.hand_on_committed``)."""
    hub = server.ctx.hub
    recorder = Published()
    hand_on = hub.hand_on_committed

    def recording(batch: Batch) -> None:
        recorder.events.extend(batch.events)
        hand_on(batch)

    monkeypatch.setattr(hub, "hand_on_committed", recording)
    return recorder
