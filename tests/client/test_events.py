"""The client's event iterator on a real server: typed events, durable ones with ids and
ephemeral ones without; ``Resync`` handed over; a silent stream reconnected; and a server
restart mid-stream that loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.api_helpers import friends
from tests.client.conftest import ClientFor, server_env, token_for
from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.server import LiveServer, ServerProcess
from tests.support.settings import reset_postgres
from tests.support.sse import open_stream
from tidings.db import utcnow
from tidings.realtime import log
from tidings.realtime.models import EventRecord
from tidings_client import (
    AsyncTidings,
    Connected,
    DurableEvent,
    Event,
    FriendRequestEvent,
    MessageEvent,
    NotificationEvent,
    Resync,
    Tidings,
    TidingsError,
    Typing,
    UnknownEvent,
)
from tidings_client._stream import MAX_DELAY, Frame, FrameParser, Reconnect


class Collector:
    """Runs ``client.events()`` in the background; the test awaits what it yields."""

    def __init__(self, client: AsyncTidings, last_event_id: str | int | None = None) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.seen: list[Event] = []
        self._task = asyncio.create_task(self._run(client, last_event_id))

    async def _run(self, client: AsyncTidings, last_event_id: str | int | None) -> None:
        async for event in client.events(last_event_id=last_event_id):
            self.seen.append(event)
            await self.events.put(event)

    async def next(self, *kinds: type[Event], timeout: float = 30) -> Event:
        """The next event of one of these classes (others skipped: presence and the like)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if not kinds or isinstance(event, kinds):
                    return event

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def collecting(
    client: AsyncTidings, last_event_id: str | int | None = None
) -> AsyncIterator[Collector]:
    collector = Collector(client, last_event_id)
    try:
        yield collector
    finally:
        await collector.close()


async def test_events_arrive_typed(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    carol = await make_user("carol")
    dm = (await alice.dm(bob))["id"]
    client = await client_for(bob, "read")
    async with collecting(client) as events:
        connected = await events.next(Connected)
        assert isinstance(connected, Connected) and connected.user_id == bob.id
        sent = await alice.send(dm, "hello")
        message = await events.next(MessageEvent)
        assert isinstance(message, MessageEvent) and isinstance(message.id, int)
        assert message.message.id == sent["id"] and message.message.sender.username == "alice"
        await alice.post(f"/api/conversations/{dm}/typing")
        typing = await events.next(Typing)
        assert isinstance(typing, Typing) and typing.user.id == alice.id
        assert not hasattr(typing, "id")  # ephemeral: no position
        await carol.post("/api/friends/request", {"username": "bob"})
        request = await events.next(FriendRequestEvent)
        notice = await events.next(NotificationEvent)
        assert isinstance(request, FriendRequestEvent) and request.request.requester.id == carol.id
        assert isinstance(notice, NotificationEvent) and notice.notification.actor.id == carol.id
        assert message.id < request.id < notice.id


async def test_resync_is_handed_over_when_the_log_was_pruned(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    ancient = int((await bob.ok("GET", "/api/conversations"))["last_event_id"])
    for n in range(3):
        await alice.send(dm, f"m{n}")
    async with server.ctx.db.write() as session:
        await session.execute(
            update(EventRecord)
            .where(EventRecord.pos <= ancient + 2)
            .values(created_at=utcnow() - timedelta(days=2))
        )
        await session.run_sync(log.prune_events, max_age=timedelta(days=1))
    current = int((await bob.ok("GET", "/api/conversations"))["last_event_id"])
    client = await client_for(bob)
    async with collecting(client, last_event_id=ancient) as events:
        resync = await events.next(Resync, MessageEvent)
        assert isinstance(resync, Resync)  # before any message: the caller refetches
        assert resync.id == current and resync.last_event_id == str(current)
        after = await alice.send(dm, "after the resync")
        message = await events.next(MessageEvent)
        assert isinstance(message, MessageEvent) and message.message.id == after["id"]
        assert message.id > current


@pytest.mark.settings(sse_retry_ms=50)
async def test_a_silent_stream_is_reconnected_and_resumed(
    server: LiveServer, make_user: MakeUser, client_for: ClientFor
) -> None:
    """No heartbeat within ``read_timeout`` (the server's come every 30 s here): the client
    takes the connection for dead, reconnects and resumes after what it had, even when it
    started live and had seen no event yet."""
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    client = await client_for(bob, read_timeout=0.2)
    async with collecting(client) as events:
        await events.next(Connected)
        await events.next(Connected)  # the first stream went silent: a second one
        sent = [(await alice.send(dm, f"m{n}"))["id"] for n in range(3)]
        got = [await events.next(MessageEvent) for _ in sent]
        await events.next(Connected)  # and again, resuming after the messages
        sent.append((await alice.send(dm, "m3"))["id"])
        got.append(await events.next(MessageEvent))
        assert [e.message.id for e in got if isinstance(e, MessageEvent)] == sent
    ids = [e.id for e in events.seen if isinstance(e, DurableEvent)]
    assert len(ids) == len(set(ids)) == 4


async def _send_until_stored(user: ApiUser, conversation_id: int, text: str) -> int:
    """Send, retrying through a restart with the same client_id (the send is stored once)."""
    body = {"content": text, "client_id": f"restart-{text}"}
    while True:
        with contextlib.suppress(httpx.TransportError):
            response = await user.post(f"/api/conversations/{conversation_id}/messages", body)
            if response.status_code == 201:
                message_id: int = response.json()["message"]["id"]
                return message_id
        await asyncio.sleep(0.05)  # nothing to await: the server is coming back


async def _replayed_ids(url: str, token: str, until_message: int) -> list[int]:
    """The durable ids a fresh replay from 0 gives, up to the event of ``until_message``."""
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        stream = await open_stream(http, last_event_id="0")
        ids: list[int] = []
        try:
            while True:
                frame = await stream.next()
                if frame.id is None:
                    continue
                ids.append(int(frame.id))
                if frame.event == "message" and frame.json["message"]["id"] == until_message:
                    return ids
        finally:
            await stream.close()


async def test_the_iterator_survives_a_server_restart_and_misses_nothing(tmp_path: Path) -> None:
    env = server_env(tmp_path, sse_retry_ms="100")
    if env["DATABASE_URL"].startswith("postgresql"):
        await reset_postgres(env["DATABASE_URL"])
    process = ServerProcess(env, log=tmp_path / "server.log")
    await process.start()
    alice = await ApiUser(process.url, "alice").register()
    bob = await ApiUser(process.url, "bob").register()
    try:
        await alice.befriend(bob)
        dm = (await alice.dm(bob))["id"]
        group = (await alice.group("Book club", bob))["id"]
        token = await token_for(bob)
        async with AsyncTidings(process.url, token) as client:
            async with collecting(client, last_event_id=0) as events:
                await events.next(Connected)
                before = [await _send_until_stored(alice, dm, f"before-{n}") for n in range(5)]
                for _ in before:
                    await events.next(MessageEvent)
                # Sends go on while the server stops and starts again (same port, same database).
                sender = asyncio.create_task(_sends(alice, dm, group, count=20))
                process.terminate()
                assert await process.wait() in (0, -15)
                await process.start()
                await sender
                last = await _send_until_stored(alice, group, "last")
                while True:
                    event = await events.next(MessageEvent)
                    if isinstance(event, MessageEvent) and event.message.id == last:
                        break
            connects = [e for e in events.seen if isinstance(e, Connected)]
            assert len(connects) >= 2  # it did reconnect
            got = [e.id for e in events.seen if isinstance(e, DurableEvent)]
        assert len(got) == len(set(got))  # nothing twice
        assert got == sorted(got)
        assert got == await _replayed_ids(process.url, token, last)  # nothing missed
    finally:
        await alice.aclose()
        await bob.aclose()
        process.terminate()
        await process.kill()


async def _sends(alice: ApiUser, dm: int, group: int, *, count: int) -> None:
    for n in range(count):
        await _send_until_stored(alice, dm if n % 2 else group, f"during-{n}")


async def test_the_sync_iterator_yields_the_same_events(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    since = int((await bob.ok("GET", "/api/conversations"))["last_event_id"])
    sent = [(await alice.send(dm, f"m{n}"))["id"] for n in range(2)]
    token = await token_for(bob, "read")

    def read_two() -> list[Event]:
        got: list[Event] = []
        with Tidings(server.url, token) as client:
            for event in client.events(last_event_id=since):
                if isinstance(event, MessageEvent):
                    got.append(event)
                if len(got) == 2:
                    return got  # leaving the loop closes the stream
        raise AssertionError("the iterator ended")

    got = await asyncio.to_thread(read_two)
    assert [e.message.id for e in got if isinstance(e, MessageEvent)] == sent


def _frames(parser: FrameParser, text: str) -> list[Frame]:
    return [f for line in text.split("\n") if (f := parser.feed(line)) is not None]


def test_the_reconnect_policy_backs_off_and_honours_the_server() -> None:
    """The waits between attempts (no server: the policy alone)."""
    state = Reconnect(last_event_id=None)
    parser = FrameParser()
    [connected] = _frames(
        parser, 'retry: 1000\n\nevent: connected\ndata: {"user_id": 1, "last_event_id": "7"}\n\n'
    )
    assert isinstance(state.handle(connected, parser), Connected)
    assert state.base_delay == 1.0 and state.last_event_id == "7"
    assert state.headers()["Last-Event-ID"] == "7"
    waits = [state.delay() for _ in range(8)]  # failures in a row: doubling, capped, jittered
    for n, wait in enumerate(waits):
        ceiling = min(MAX_DELAY, 2**n)
        assert ceiling / 2 <= wait <= ceiling
    [overloaded] = _frames(FrameParser(), 'event: overloaded\ndata: {"retry_ms": 45000}\n\n')
    assert state.handle(overloaded, parser) is None  # the iterator's own business
    assert state.delay() >= 45
    [message] = _frames(parser, ": heartbeat\n\nid: 9\nevent: message\ndata: {}\n\n")
    unreadable = state.handle(message, parser)
    assert isinstance(unreadable, UnknownEvent) and unreadable.id == 9  # passed on, raw
    assert state.last_event_id == "9"
    state.handle(connected, parser)
    assert state.failures == 0  # a stream opened: back to the first delay


async def test_a_revoked_token_ends_the_iterator_with_the_error(
    server: LiveServer, make_user: MakeUser
) -> None:
    """The stream ends at once and reconnecting is refused for good (401): the iterator raises
    instead of trying forever."""
    alice = await make_user("alice")
    created = await alice.ok("POST", "/api/tokens", {"name": "x", "scopes": ["read"]}, 201)
    async with AsyncTidings(server.url, created["secret"]) as client:
        events = client.events()
        assert isinstance(await anext(events), Connected)
        await alice.ok("DELETE", f"/api/tokens/{created['token']['id']}", status=204)
        with pytest.raises(TidingsError) as ended:
            async with asyncio.timeout(30):
                await anext(events)
        assert ended.value.status == 401 and ended.value.code
