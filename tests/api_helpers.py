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
from tidings.realtime.log import events_page, head
from tidings.realtime.models import EventRecord


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
    """A position in the event log; ``new()`` returns what each user's stream gained since.

    Reads every user's share of the log (their own events and their conversations'), so an
    event that reaches someone unexpected shows up.
    """

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.position = 0
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
        async with self.server.ctx.db.query_session() as session:
            top = await head(session)
            if top == self.position:
                return found
            users = (await session.execute(select(User.id, User.username))).all()
            for user_id, username in users:
                events = await session.run_sync(events_page, user_id, self.position, top, limit=top)
                assert events is not None, f"{username}'s events after {self.position} are gone"
                if events:
                    found[username] = [e.type for e in events]
                    self.payloads[username] = [validate_event(e) for e in events]
            self.position = top
        return found


async def db_user(server: LiveServer, user: ApiUser) -> User:
    """The ORM row of an API user, for calling actions directly."""
    async with server.ctx.db.query_session() as session:
        row = await session.get(User, user.id)
    assert row is not None
    return row


async def recorded(server: LiveServer, events: list[StoredEvent]) -> list[StoredEvent]:
    """The log entries at the positions of ``events``, as the log holds them."""
    async with server.ctx.db.query_session() as session:
        rows = await session.execute(
            select(
                EventRecord.pos,
                EventRecord.type,
                EventRecord.data,
                EventRecord.user_id,
                EventRecord.channel_id,
            )
            .where(EventRecord.pos.in_([e.pos for e in events]))
            .order_by(EventRecord.pos)
        )
        return [StoredEvent(p, t, d, user_id=u, channel_id=c) for p, t, d, u, c in rows]


async def friends(make_user: Any, *names: str) -> list[ApiUser]:
    """Register users; the first becomes friends with each of the others."""
    users = [await make_user(name) for name in names]
    for other in users[1:]:
        await users[0].befriend(other)
    return users
