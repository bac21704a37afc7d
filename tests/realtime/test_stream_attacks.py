"""Attacks on the stream against a server in its own process (issue 9): its memory and its
answers are its own. Bounded in count and time, on 127.0.0.1.

* 100 clients replay a large log and never read: memory stays bounded, and the write deadline
  frees every one of them;
* a reconnect storm (200 stream opens a second): no 5xx, and health checks keep answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support.api import ApiUser
from tests.support.server import ServerProcess
from tests.support.settings import FAST_HASHING
from tests.support.sse import open_stream
from tidings.db import Database
from tidings.friends.events import FriendUpdateEvent
from tidings.realtime import log

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc"
)

READERS_PER_USER = 25
USERS = 4
EVENTS_PER_USER = 1000
EVENT_BYTES = 4000
MEMORY_BOUND_MIB = 100
"""100 streams x the per-stream worst case in the README (~0.5 MiB) plus allocator slack.
Before issue 9 each of these streams held its whole replay: ~4 MiB each, 400 MiB in all."""


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _server(tmp_path: Path, **env: str) -> ServerProcess:
    return ServerProcess(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}",
            "LOG_LEVEL": "warning",
            "RATE_LIMIT_REGISTER": "1000/minute",
            **{key.upper(): str(value) for key, value in FAST_HASHING.items()},
            **env,
        },
        log=tmp_path / "server.log",
    )


async def _streams_open(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/health")).json()["streams"])


async def test_never_reading_replay_clients_keep_memory_bounded(tmp_path: Path) -> None:
    server = _server(
        tmp_path,
        MAX_STREAMS_PER_USER=str(READERS_PER_USER),
        STREAM_WRITE_TIMEOUT_SECONDS="3",
    )
    await server.start()
    users = [await ApiUser(server.url, f"reader{n}").register() for n in range(USERS)]
    sockets: list[socket.socket] = []
    try:
        # Each user's log: 1,000 events of ~4 KB, written straight into the server's database.
        db = Database(server.env["DATABASE_URL"])
        event = FriendUpdateEvent.model_validate(
            {"friend": dict(users[0].user, display_name="x" * EVENT_BYTES), "status": "added"}
        )
        async with db.write() as session:
            await log.record(
                session,
                [
                    log.PendingEvent(event, user_id=user.id)
                    for user in users
                    for _ in range(EVENTS_PER_USER)
                ],
            )
        await db.dispose()

        async with httpx.AsyncClient(base_url=server.url, timeout=10) as probe:
            assert server.process is not None
            before = _rss_mib(server.process.pid)
            name = "tidings_session"
            for user in users:
                cookie = user.client.cookies.get(name)
                for _ in range(READERS_PER_USER):
                    sock = socket.socket()
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    sock.connect(("127.0.0.1", server.port))
                    sock.sendall(
                        f"GET /api/events?last_event_id=0 HTTP/1.1\r\nHost: x\r\n"
                        f"Cookie: {name}={cookie}\r\n\r\n".encode()
                    )
                    sockets.append(sock)
            # Watch the server while the streams stall and the write deadline frees them.
            peak = before
            seen_all = False
            async with asyncio.timeout(60):
                while True:
                    peak = max(peak, _rss_mib(server.process.pid))
                    open_now = await _streams_open(probe)
                    seen_all = seen_all or open_now == USERS * READERS_PER_USER
                    if seen_all and open_now == 0:
                        break
                    await asyncio.sleep(0.05)  # sampling memory: there is no event to await
            growth = peak - before
            print(f"RSS before {before:.0f} MiB, peak {peak:.0f} MiB, growth {growth:.0f} MiB")
            assert growth < MEMORY_BOUND_MIB
            metrics = (await probe.get("/metrics")).text
            assert f"tidings_stream_stalls_total {float(USERS * READERS_PER_USER)}" in metrics
            # And the server still serves.
            assert (await probe.get("/api/health")).status_code == 200
    finally:
        for sock in sockets:
            sock.close()
        for user in users:
            await user.aclose()
        server.terminate()
        await server.wait()


STORM_SECONDS = 10
STORM_RATE = 200


async def test_reconnect_storm_gets_no_5xx_and_health_keeps_answering(tmp_path: Path) -> None:
    server = _server(tmp_path)
    await server.start()
    users = [await ApiUser(server.url, f"storm{n}").register() for n in range(20)]
    statuses: dict[int, int] = {}
    health_latencies: list[float] = []
    health_statuses: set[int] = set()
    failures: list[BaseException] = []

    async def reconnect(client: httpx.AsyncClient, hold: float) -> None:
        try:
            headers = {"Last-Event-ID": str(random.randrange(3))}
            async with client.stream("GET", "/api/events", headers=headers) as response:
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                async with asyncio.timeout(hold):
                    async for _ in response.aiter_bytes():
                        pass
        except TimeoutError:
            pass  # held as long as planned
        except httpx.HTTPError as exc:
            failures.append(exc)

    async def check_health(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            response = await client.get("/api/health")
            health_latencies.append(time.perf_counter() - started)
            health_statuses.add(response.status_code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    clients = [
        httpx.AsyncClient(base_url=server.url, cookies=u.client.cookies, timeout=10, limits=limits)
        for u in users
    ]
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as health_client:
            checker = asyncio.create_task(check_health(health_client, stop))
            tasks = []
            loop = asyncio.get_running_loop()
            start = loop.time()
            for n in range(STORM_SECONDS * STORM_RATE):
                # Paced by the clock, not by sleeping a fixed time per open.
                await asyncio.sleep(max(0.0, start + n / STORM_RATE - loop.time()))
                client = clients[n % len(clients)]
                tasks.append(asyncio.create_task(reconnect(client, random.uniform(0.05, 1.0))))
            async with asyncio.timeout(60):
                await asyncio.gather(*tasks)
            stop.set()
            await checker
    finally:
        for client in clients:
            await client.aclose()
        for user in users:
            await user.aclose()
        server.terminate()
        await server.wait()
    print(
        f"stream answers {statuses}; health: {len(health_latencies)} checks, "
        f"max {max(health_latencies) * 1000:.0f} ms"
    )
    assert not failures, failures[:3]
    assert sum(statuses.values()) == STORM_SECONDS * STORM_RATE
    assert set(statuses) == {200}, statuses
    assert health_statuses == {200}


async def test_a_stream_dropped_with_a_request_pipelined_behind_it_stops_nobody_else(
    tmp_path: Path,
) -> None:
    """A client opens a stream with another request pipelined behind it on the same connection,
    then drops the connection. uvicorn then marks the later request gone, not the stream, and
    (uvloop) refuses writes to the lost socket: the hub's write to that stream must fail alone,
    while every other stream keeps getting its events and heartbeats."""
    server = _server(tmp_path, HEARTBEAT_SECONDS="1")
    await server.start()
    alice = await ApiUser(server.url, "alice").register()
    bob = await ApiUser(server.url, "bob").register()
    try:
        await alice.befriend(bob)
        dm = await alice.dm(bob)
        stream = await open_stream(bob.client)
        assert (await stream.next()).event == "connected"
        cookie = "; ".join(f"{name}={value}" for name, value in alice.client.cookies.items())
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = f"Host: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n"
        writer.write(
            f"GET /api/events HTTP/1.1\r\n{head}GET /api/health HTTP/1.1\r\n{head}".encode()
        )
        await writer.drain()
        assert b"event: connected" in await reader.readuntil(b"event: connected")
        writer.transport.abort()
        for n in range(3):  # alice's dropped stream is a member too: each message goes to it
            await alice.send(dm["id"], f"m{n}")
            frame = await stream.next()
            assert frame.json["message"]["content"] == f"m{n}"
        # The heartbeat timer still runs (it beats the dropped stream too).
        assert (await stream.next(skip_heartbeats=False)).comment == "heartbeat"
        await stream.close()
    finally:
        await alice.aclose()
        await bob.aclose()
        server.terminate()
        await server.wait()
