"""Helpers for the REST API tests: error bodies, and what each write recorded in the event log."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tidings.accounts.models import User
from tidings.events import EventAdapter
from tidings.realtime.events import StoredEvent
from tidings.realtime.log import events_page


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a JSON error ``{detail, code}`` with this status (and code)."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["code"], str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def validate_event(event: StoredEvent) -> Any:
    """Parse an event's data against its schema; the payload's type is the recorded type."""
    payload = EventAdapter.validate_json(event.data)
    assert payload.type == event.type, event
    return payload


class EventLog:
    """Every user's position in the event log; ``new()`` returns what was recorded since.

    Reads the ``event`` table for all users, so an event sent to someone unexpected shows up.
    """

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.positions: dict[int, int] = {}
        self.payloads: dict[str, list[Any]] = {}

    @classmethod
    async def start(cls, server: LiveServer) -> EventLog:
        log = cls(server)
        await log.new()
        return log

    async def new(self) -> dict[str, list[str]]:
        """``{username: [event type, ...]}`` of the events recorded since the last call."""
        found: dict[str, list[str]] = {}
        self.payloads = {}
        async with self.server.ctx.db.read() as session:
            users = (await session.execute(select(User.id, User.username, User.event_seq))).all()
            for user_id, username, seq in users:
                after = self.positions.get(user_id, 0)
                if seq == after:
                    continue
                events = await events_page(session, user_id, after, seq, limit=seq - after)
                assert events is not None, f"gap in {username}'s events after {after}"
                found[username] = [e.type for e in events]
                self.payloads[username] = [validate_event(e) for e in events]
                self.positions[user_id] = seq
        return found


async def db_user(server: LiveServer, user: ApiUser) -> User:
    """The ORM row of an API user, for calling actions directly."""
    async with server.ctx.db.read() as session:
        row = await session.get(User, user.id)
    assert row is not None
    return row


async def recorded(server: LiveServer, events: list[StoredEvent]) -> list[StoredEvent]:
    """The log entries with the same (user, seq) as ``events``, as the log holds them."""
    stored = []
    async with server.ctx.db.read() as session:
        for event in events:
            replay = await events_page(session, event.user_id, event.seq - 1, event.seq, limit=1)
            assert replay is not None
            stored.extend(replay)
    return stored


async def friends(make_user: Any, *names: str) -> list[ApiUser]:
    """Register users; the first becomes friends with each of the others."""
    users = [await make_user(name) for name in names]
    for other in users[1:]:
        await users[0].befriend(other)
    return users
