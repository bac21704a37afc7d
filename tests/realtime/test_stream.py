"""The SSE endpoint against a real uvicorn server, read by a real streaming client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.ephemeral import Nudge
from tests.support.server import LiveServer
from tests.support.sse import EventStreamReader, open_stream, open_stream_that_never_reads
from tidings.accounts.streams import AccountStreamSessions
from tidings.db import utcnow
from tidings.events import EventAdapter
from tidings.friends.events import FriendUpdateEvent
from tidings.realtime import log
from tidings.realtime.models import EventRecord
from tidings.realtime.transaction import Transaction


async def _pair(make_user: MakeUser) -> tuple[ApiUser, ApiUser, int]:
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    dm = await alice.dm(bob)
    return alice, bob, dm["id"]


async def _current_id(server: LiveServer) -> int:
    """The log's head: the id of the latest event, whoever it was for."""
    async with server.ctx.db.query_session() as session:
        return await log.head(session)


async def _ids_until(stream: EventStreamReader, last_id: int) -> list[int]:
    """Read frames until the one with id ``last_id``; return every id seen."""
    ids: list[int] = []
    while not ids or ids[-1] < last_id:
        frame = await stream.next()
        assert frame.id is not None, frame
        EventAdapter.validate_json(frame.data)
        ids.append(int(frame.id))
    return ids


async def test_without_a_session_answers_401_json(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        stream = await open_stream(anonymous)
        await stream.wait_ended()
    assert stream.status_code == 401
    assert stream.headers is not None
    assert stream.headers["content-type"] == "application/json"
    assert b"Sign in first" in stream.body


async def test_connected_event_and_stream_headers(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    stream = await open_stream(alice.client)
    try:
        assert stream.status_code == 200
        assert stream.headers is not None
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in stream.headers
        retry = await stream.frames.get()
        assert not isinstance(retry, BaseException)
        assert retry.retry == server.settings.sse_retry_ms
        connected = await stream.next()
        assert connected.event == "connected"
        assert connected.json == {"user_id": alice.id, "last_event_id": "0"}
    finally:
        await stream.close()


@pytest.mark.settings(heartbeat_seconds=0.05)
async def test_heartbeat_comments(make_user: MakeUser) -> None:
    alice = await make_user("alice")
    stream = await open_stream(alice.client)
    try:
        assert (await stream.next()).event == "connected"
        frame = await stream.next(skip_heartbeats=False)
        assert frame.comment == "heartbeat"
        assert (await stream.next(skip_heartbeats=False)).comment == "heartbeat"
    finally:
        await stream.close()


async def test_replay_after_disconnect_then_live(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, dm = await _pair(make_user)
    first = await open_stream(bob.client)
    await first.next()  # connected
    await alice.send(dm, "one")
    frames = await first.next_events(1)
    last_seen = frames[-1].id
    assert last_seen is not None
    await first.close()
    await server.ctx.hub.wait_subscriber_count(0, bob.id)

    for text in ("two", "three", "four"):
        await alice.send(dm, text)
    resumed = await open_stream(bob.client, last_event_id=last_seen)
    try:
        connected = await resumed.next()
        assert connected.event == "connected"
        missed = await resumed.next_events(3)
        assert [int(f.id or 0) for f in missed] == list(
            range(int(last_seen) + 1, int(last_seen) + 4)
        )
        contents = [f.json["message"]["content"] for f in missed if f.event == "message"]
        assert contents == ["two", "three", "four"]
        await alice.send(dm, "five")
        live = await resumed.next_events(1)
        assert [int(f.id or 0) for f in live] == [int(last_seen) + 4]
    finally:
        await resumed.close()


async def test_replay_with_query_parameter(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, dm = await _pair(make_user)
    mark = await _current_id(server)
    await alice.send(dm, "while away")
    stream = await open_stream(bob.client, query=str(mark))
    try:
        await stream.next()
        assert [f.event for f in await stream.next_events(1)] == ["message"]
    finally:
        await stream.close()


async def test_events_emitted_during_replay_arrive_once_in_order(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob, dm = await _pair(make_user)
    mark = await _current_id(server)
    for n in range(20):
        await alice.send(dm, f"before {n}")

    async def keep_sending() -> None:
        for n in range(20):
            await alice.send(dm, f"during {n}")

    sender = asyncio.create_task(keep_sending())
    stream = await open_stream(bob.client, last_event_id=str(mark))
    try:
        await stream.next()  # connected
        await sender
        final = await _current_id(server)
        ids = await _ids_until(stream, final)
        assert ids == list(range(mark + 1, final + 1))
    finally:
        await stream.close()


@pytest.mark.parametrize("bogus", ["999999", "not-an-id", "-1", "1.5"])
async def test_unknown_id_gets_resync(server: LiveServer, make_user: MakeUser, bogus: str) -> None:
    alice, bob, dm = await _pair(make_user)
    await alice.send(dm, "x")
    current = await _current_id(server)
    stream = await open_stream(bob.client, last_event_id=bogus)
    try:
        await stream.next()
        resync = await stream.next()
        assert resync.event == "resync"
        assert resync.id == str(current)
        assert resync.json == {"last_event_id": str(current)}
        await alice.send(dm, "after")
        assert (await stream.next()).id == str(current + 1)
    finally:
        await stream.close()


async def test_pruned_id_gets_resync(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, dm = await _pair(make_user)
    ancient = await _current_id(server)
    for n in range(4):
        await alice.send(dm, f"m{n}")
    recent = await _current_id(server)
    async with server.ctx.db.write() as session:
        await session.execute(
            update(EventRecord)
            .where(EventRecord.pos <= ancient + 2)
            .values(created_at=utcnow() - timedelta(days=2))
        )
        pruned = await session.run_sync(log.prune_events, max_age=timedelta(days=1))
        assert pruned == ancient + 2
        left = await session.scalar(select(func.count()).select_from(EventRecord))
    assert left == recent - ancient - 2
    stream = await open_stream(bob.client, last_event_id=str(ancient))
    try:
        await stream.next()
        assert (await stream.next()).event == "resync"
    finally:
        await stream.close()
    # From the floor on, replay is exact again.
    stream = await open_stream(bob.client, last_event_id=str(ancient + 2))
    try:
        await stream.next()
        replayed = await stream.next_events(2)
        assert [f.json["message"]["content"] for f in replayed] == ["m2", "m3"]
    finally:
        await stream.close()


async def test_rolled_back_write_emits_nothing(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, dm = await _pair(make_user)
    stream = await open_stream(bob.client)
    try:
        await stream.next()
        before = await _current_id(server)

        def write_that_fails(tx: Transaction) -> None:
            tx.emit(
                bob.id,
                FriendUpdateEvent(friend=alice.user, status="removed"),  # type: ignore[arg-type]
            )
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await server.ctx.writer.run(write_that_fails)
        assert await _current_id(server) == before
        await alice.send(dm, "committed")
        frame = await stream.next()
        assert frame.event == "message"
        assert frame.id == str(before + 1)
    finally:
        await stream.close()


async def test_disconnect_cleans_up(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    hub = server.ctx.hub
    streams = [await open_stream(alice.client) for _ in range(3)]
    for stream in streams:
        await stream.next()
    assert hub.subscriber_count(alice.id) == 3
    for stream in streams:
        await stream.close()
    await asyncio.wait_for(hub.wait_subscriber_count(0), 10)
    assert hub.subscriber_count() == 0
    assert alice.id not in hub._subscribers
    # No task is left behind: the streams' disconnect listeners have all finished.
    listeners = [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "_wait_for_disconnect"
    ]
    if listeners:
        _, pending = await asyncio.wait(listeners, timeout=10)
        assert not pending


def _friend_update(alice: ApiUser, bob: ApiUser) -> log.PendingEvent:
    event = FriendUpdateEvent(friend=alice.user, status="added")  # type: ignore[arg-type]
    return log.PendingEvent(event, user_id=bob.id)


async def test_gap_in_published_events_is_filled_from_the_log(
    server: LiveServer, make_user: MakeUser
) -> None:
    """An event committed but never published (a lost broker message) still reaches the stream,
    before the later one that revealed the gap."""
    alice, bob, dm = await _pair(make_user)
    stream = await open_stream(bob.client)
    try:
        await stream.next()
        start = await _current_id(server)
        async with server.ctx.db.write() as session:
            await log.record(session, [_friend_update(alice, bob)])
        await alice.send(dm, "next")
        frames = await stream.next_events(2)
        assert [f.event for f in frames] == ["friend_update", "message"]
        assert [int(f.id or 0) for f in frames] == [start + 1, start + 2]
    finally:
        await stream.close()


async def test_catch_up_signal_reads_the_log(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, _ = await _pair(make_user)
    stream = await open_stream(bob.client)
    try:
        await stream.next()
        async with server.ctx.db.write() as session:
            batch = await log.record(session, [_friend_update(alice, bob)])
        assert batch is not None
        server.ctx.hub.catch_up_all()
        frame = await stream.next()
        assert (frame.event, frame.id) == ("friend_update", str(batch.last))
    finally:
        await stream.close()


@pytest.mark.settings(stream_buffer_bytes=30 * 4096)
async def test_slow_consumer_is_cut_off_while_others_keep_receiving(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob, dm = await _pair(make_user)
    hub = server.ctx.hub
    fast = await open_stream(bob.client)
    await fast.next()

    # A client that sends its request and then stops reading.
    name = server.settings.session_cookie_name
    reader, writer = await open_stream_that_never_reads(
        server.port, name, bob.client.cookies.get(name)
    )
    await asyncio.wait_for(hub.wait_subscriber_count(2, bob.id), 10)

    big = "x" * 3990
    sent = 0
    while hub.subscriber_count(bob.id) == 2:
        assert sent < 3000, "the slow stream was never cut off"
        await alice.send(dm, f"{sent} {big}")
        sent += 1
        # The fast tab keeps up: it gets every message.
        frames = await fast.next_events(1)
        assert frames[0].json["message"]["content"].startswith(f"{sent - 1} ")
    assert server.ctx.metrics.overflows._value.get() == 1

    # The server dropped the slow connection: once the client reads again, it gets what was
    # already buffered, then end of file (a browser would reconnect and replay).
    writer.transport.resume_reading()
    async with asyncio.timeout(60):
        while await reader.read(1 << 20):
            pass
    writer.close()
    await fast.close()


async def test_ended_session_gets_401_on_reconnect(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    stream = await open_stream(alice.client)
    await stream.next()
    await stream.close()
    cookie = alice.client.cookies.get(server.settings.session_cookie_name)
    await alice.ok("POST", "/api/auth/logout", status=204)
    async with httpx.AsyncClient(base_url=server.url) as old_tab:
        old_tab.cookies.set(server.settings.session_cookie_name, cookie or "")
        again = await open_stream(old_tab, last_event_id="0")
        await again.wait_ended()
    assert again.status_code == 401


async def test_bootstrap_position_leaves_no_gap(server: LiveServer, make_user: MakeUser) -> None:
    """Fetch state, then something happens, then the stream opens: it arrives anyway."""
    alice, bob, dm = await _pair(make_user)
    snapshot = await bob.ok("GET", "/api/bootstrap")
    assert snapshot["conversations"][0]["id"] == dm
    await alice.send(dm, "between fetch and subscribe")
    stream = await open_stream(bob.client, query=snapshot["last_event_id"])
    try:
        await stream.next()
        frame = await stream.next()
        assert frame.event == "message"
        assert frame.json["message"]["content"] == "between fetch and subscribe"
    finally:
        await stream.close()


async def test_health_and_metrics(server: LiveServer, make_user: MakeUser) -> None:
    alice, bob, dm = await _pair(make_user)
    stream = await open_stream(bob.client)
    await stream.next()
    await alice.send(dm, "counted")
    await stream.next_events(1)
    health = await alice.ok("GET", "/api/health")
    assert health["status"] == "ok"
    metrics = (await alice.get("/metrics")).text
    assert "tidings_streams_open 1.0" in metrics
    assert "tidings_events_published_total" in metrics
    assert "tidings_events_delivered_total" in metrics
    assert "tidings_request_latency_seconds_bucket" in metrics
    # Each operation under its route's template, the plain send route's too.
    sends = 'method="POST",route="/api/conversations/{conversation_id}/messages"'
    assert f"tidings_request_latency_seconds_count{{{sends}}} 1.0" in metrics
    assert 'route="unmatched"' not in metrics
    await stream.close()


async def test_ephemeral_event_reaches_open_streams_without_an_id_and_is_never_replayed(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob, dm = await _pair(make_user)
    bobs = await open_stream(bob.client)
    alices = await open_stream(alice.client)
    try:
        assert (await bobs.next()).event == "connected"
        assert (await alices.next()).event == "connected"
        await alice.send(dm, "before")
        before = await bobs.next_events(1)
        assert (await alices.next()).event == "message"
        last_durable = before[-1].id
        assert last_durable is not None

        await server.ctx.hub.send_ephemeral([bob.id], Nudge(text="alice is typing"))
        await alice.send(dm, "after")
        nudge, *after = await bobs.next_events(2)
        assert (nudge.event, nudge.id) == ("test_nudge", None)
        assert nudge.json == {"type": "test_nudge", "text": "alice is typing"}
        # Durable ids carry on from the last one: the ephemeral event took no number.
        assert [int(f.id or 0) for f in after] == [int(last_durable) + 1]
        # Not to the sender's own streams: only the addressees get it.
        assert (await alices.next()).event == "message"
    finally:
        await bobs.close()
        await alices.close()

    # Reconnect from before it: the replay has only the durable events.
    resumed = await open_stream(bob.client, last_event_id=last_durable)
    try:
        assert (await resumed.next()).event == "connected"
        replayed = await resumed.next_events(1)
        assert [f.event for f in replayed] == ["message"]
        assert [f.id for f in replayed] == [f.id for f in after]
        await alice.send(dm, "live again")
        assert (await resumed.next()).event == "message"
    finally:
        await resumed.close()
    async with server.ctx.db.query_session() as session:
        logged = await session.scalars(select(EventRecord.type))
        assert "test_nudge" not in set(logged)


async def test_an_unexpected_failure_opening_a_stream_is_a_json_500(
    server: LiveServer, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream is served in front of the app's error handlers: a failure nobody expected
    while opening it (here, checking the session) is still the JSON 500 of every route."""
    alice = await make_user("alice")

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug in the session check")

    monkeypatch.setattr(AccountStreamSessions, "live_session", broken)
    response = await alice.get("/api/events")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Internal server error.", "code": "internal_error"}
