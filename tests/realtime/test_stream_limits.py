"""The stream under abuse (issue 9): sessions that end, HEAD, per-user and per-process limits,
paged replay, and clients that stop reading. Real server, real sockets."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from tests.conftest import MakeUser
from tests.support.api import PASSWORD, ApiUser
from tests.support.server import LiveServer
from tests.support.sse import open_stream, open_stream_that_never_reads
from tidings.friends.events import FriendUpdateEvent
from tidings.realtime import log
from tidings.realtime.transaction import Transaction


async def _second_session(server: LiveServer, user: ApiUser) -> httpx.AsyncClient:
    """The same person signed in a second time (another browser)."""
    client = httpx.AsyncClient(base_url=server.url, timeout=30)
    response = await client.post(
        "/api/auth/login", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return client


async def test_logout_ends_that_sessions_streams_at_once_and_no_others(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    other_browser = await _second_session(server, alice)
    ending = await open_stream(alice.client)
    kept = await open_stream(other_browser)
    try:
        await ending.next()
        await kept.next()
        await alice.ok("POST", "/api/auth/logout", status=204)
        await ending.wait_ended()
        assert ending.status_code == 200  # a clean end: the browser reconnects, and gets 401

        # The other browser's stream still delivers.
        await alice.client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        request = await bob.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
        frame = await kept.next()
        assert frame.event == "friend_request"
        assert frame.json["request"]["id"] == request["request"]["id"]
        assert not kept.ended.is_set()
        assert server.ctx.metrics.streams_ended_by_session._value.get() == 1
    finally:
        await ending.close()
        await kept.close()
        await other_browser.aclose()


async def test_password_change_ends_every_stream_of_the_old_sessions(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    other_browser = await _second_session(server, alice)
    here, there = await open_stream(alice.client), await open_stream(other_browser)
    try:
        await here.next()
        await there.next()
        await alice.ok(
            "POST",
            "/api/auth/password",
            {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        )
        await here.wait_ended()
        await there.wait_ended()
        # The cookie the change answered with is the new session's: its stream lives.
        fresh = await open_stream(alice.client)
        assert fresh.status_code == 200
        assert (await fresh.next()).event == "connected"
        await fresh.close()
        stale = await open_stream(other_browser)
        await stale.wait_ended()
        assert stale.status_code == 401
    finally:
        await here.close()
        await there.close()
        await other_browser.aclose()


async def test_logout_everywhere_ends_every_stream(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    other_browser = await _second_session(server, alice)
    streams = [await open_stream(alice.client), await open_stream(other_browser)]
    try:
        for stream in streams:
            await stream.next()
        await alice.ok("POST", "/api/auth/logout-everywhere", status=204)
        for stream in streams:
            await stream.wait_ended()
        assert (await other_browser.get("/api/auth/me")).status_code == 401
        assert (await alice.get("/api/auth/me")).status_code == 401
    finally:
        for stream in streams:
            await stream.close()
        await other_browser.aclose()


@pytest.mark.settings(session_ttl_seconds=1, heartbeat_seconds=0.05)
async def test_a_stream_ends_when_its_session_expires(make_user: MakeUser) -> None:
    alice = await make_user("alice")
    stream = await open_stream(alice.client)
    try:
        assert (await stream.next()).event == "connected"
        await stream.wait_ended()
    finally:
        await stream.close()
    again = await open_stream(alice.client)
    await again.wait_ended()
    assert again.status_code == 401


async def test_head_answers_headers_and_opens_no_stream(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    response = await alice.client.head("/api/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""
    assert server.ctx.hub.subscriber_count() == 0
    # The connection is free for the next request: HEAD left nothing running on it.
    assert (await alice.get("/api/auth/me")).status_code == 200
    assert server.ctx.hub.subscriber_count() == 0
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        assert (await anonymous.head("/api/events")).status_code == 401
    for method in ("POST", "PUT", "DELETE"):
        refused = await alice.client.request(method, "/api/events")
        assert refused.status_code == 405, method
        assert refused.json()["code"] == "method_not_allowed"


@pytest.mark.settings(max_streams_per_user=2)
async def test_opening_one_stream_too_many_closes_the_users_oldest(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    streams = []
    try:
        for _ in range(3):
            stream = await open_stream(alice.client)
            await stream.next()
            streams.append(stream)
        oldest, *newer = streams
        await oldest.wait_ended()
        assert server.ctx.hub.subscriber_count(alice.id) == 2
        await bob.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
        for stream in newer:
            assert (await stream.next()).event == "friend_request"
        # Another user's streams do not count against alice's.
        bobs = await open_stream(bob.client)
        assert (await bobs.next()).event == "connected"
        await bobs.close()
    finally:
        for stream in streams:
            await stream.close()


@pytest.mark.settings(max_connections=102, connection_reserve=100)
async def test_past_the_stream_limit_a_stream_is_told_to_retry_later(
    server: LiveServer, make_user: MakeUser
) -> None:
    assert server.settings.stream_limit == 2
    alice, bob = await make_user("alice"), await make_user("bob")
    held = [await open_stream(alice.client), await open_stream(bob.client)]
    try:
        for stream in held:
            await stream.next()
        turned_away = await open_stream(alice.client)
        first = await turned_away.frames.get()
        await turned_away.wait_ended()
        # 200 (EventSource retries; a 5xx would make it give up), a long retry, nothing else.
        assert turned_away.status_code == 200
        assert not isinstance(first, BaseException)
        assert first.retry is not None
        assert first.retry >= server.settings.overload_retry_ms
        # Said again as a control event, for clients that run their own reconnect timer.
        overloaded = await turned_away.next()
        assert overloaded.event == "overloaded"
        assert overloaded.json == {"retry_ms": first.retry}
        assert overloaded.id is None
        assert turned_away.frames.empty()
        assert server.ctx.metrics.streams_shed._value.get() == 1
        # Ordinary requests still work: the reserve is theirs.
        assert (await alice.get("/api/health")).status_code == 200
    finally:
        for stream in held:
            await stream.close()


@pytest.mark.settings(stream_db_concurrency=1, stream_open_queue=0)
async def test_streams_opening_while_the_database_is_taken_are_shed_not_queued(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    async with server.ctx.stream_gate.slot():  # the one slot is busy
        shed = await open_stream(alice.client)
        await shed.wait_ended()
    assert shed.status_code == 200
    assert server.ctx.metrics.streams_shed._value.get() == 1
    assert server.ctx.hub.subscriber_count() == 0
    opened = await open_stream(alice.client)
    assert (await opened.next()).event == "connected"
    await opened.close()


@pytest.mark.settings(stream_db_concurrency=1, stream_open_wait_seconds=0.2)
async def test_a_stream_open_that_waits_too_long_for_the_database_is_shed(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    async with server.ctx.stream_gate.slot():  # held for longer than the open may wait
        shed = await open_stream(alice.client)
        await shed.wait_ended()
    assert shed.status_code == 200
    assert server.ctx.metrics.streams_shed._value.get() == 1
    assert server.ctx.hub.subscriber_count() == 0


async def _fill_log(server: LiveServer, user: ApiUser, friend: ApiUser, count: int) -> int:
    """Record ``count`` friend_update events of ~4 KiB for ``user``; return the last id."""
    friend_view = dict(friend.user, display_name="x" * 4000)
    event = FriendUpdateEvent.model_validate({"friend": friend_view, "status": "added"})

    def emit(tx: Transaction) -> None:
        tx.emit_to([user.id] * count, event)

    await server.ctx.writer.run(emit)
    async with server.ctx.db.query_session() as session:
        return await log.head(session)


@pytest.mark.settings(replay_page_events=7, replay_page_bytes=10_000)
async def test_replay_is_read_in_pages_and_arrives_whole_in_order(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    last = await _fill_log(server, alice, bob, 40)
    stream = await open_stream(alice.client, last_event_id="0")
    try:
        assert (await stream.next()).event == "connected"
        ids = [int((await stream.next()).id or 0) for _ in range(40)]
        assert ids == list(range(last - 39, last + 1))
        # Live events continue right after the replay.
        request = await bob.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
        frame = await stream.next()
        assert (frame.event, frame.id) == ("friend_request", str(last + 1))
        assert frame.json["request"]["id"] == request["request"]["id"]
    finally:
        await stream.close()


@pytest.mark.settings(stream_write_timeout_seconds=0.5)
async def test_a_client_that_stops_reading_is_cut_off_by_the_write_deadline(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await _fill_log(server, alice, bob, 3000)  # ~12 MB: more than any socket buffers hold
    name = server.settings.session_cookie_name
    reader, writer = await open_stream_that_never_reads(
        server.port, name, alice.client.cookies.get(name), query="?last_event_id=0"
    )
    hub = server.ctx.hub
    await asyncio.wait_for(hub.wait_subscriber_count(1, alice.id), 10)
    # Nothing is read, so the replay stalls; the deadline ends the stream.
    await asyncio.wait_for(hub.wait_subscriber_count(0, alice.id), 30)
    assert server.ctx.metrics.stalls._value.get() == 1
    # The server let go of the connection: reading now reaches its end.
    writer.transport.resume_reading()
    with contextlib.suppress(ConnectionResetError):
        async with asyncio.timeout(30):
            while await reader.read(1 << 20):
                pass
    writer.close()


@pytest.mark.settings(replay_page_events=20)
async def test_logout_during_a_replay_stops_it(server: LiveServer, make_user: MakeUser) -> None:
    """A stream busy replaying (reading the log, writing pages) stops when its session ends."""
    alice, bob = await make_user("alice"), await make_user("bob")
    last = await _fill_log(server, alice, bob, 3000)
    stream = await open_stream(alice.client, last_event_id="0")
    try:
        assert (await stream.next()).event == "connected"
        for _ in range(48):
            await stream.next()
        await alice.ok("POST", "/api/auth/logout", status=204)
        await stream.wait_ended(30)
        received = 48
        while not stream.frames.empty():
            item = stream.frames.get_nowait()
            if not isinstance(item, BaseException) and item.id is not None:
                received += 1
        assert received < last // 2, f"{received} of {last} events after the session ended"
    finally:
        await stream.close()


@pytest.mark.settings(max_connections=105, connection_reserve=100)
async def test_streams_opening_at_once_cannot_pass_the_stream_limit(
    server: LiveServer, make_user: MakeUser
) -> None:
    assert server.settings.stream_limit == 5
    users = [await make_user(f"user{n}") for n in range(6)]
    streams = await asyncio.gather(*(open_stream(u.client) for u in users for _ in range(4)))
    try:
        opened = 0
        for stream in streams:
            first = await stream.next()
            opened += first.event == "connected"
        assert 0 < opened <= 5
        assert server.ctx.hub.subscriber_count() <= 5
        assert server.ctx.metrics.streams_shed._value.get() == len(streams) - opened
    finally:
        for stream in streams:
            await stream.close()
