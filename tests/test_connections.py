"""Connection and request limits of the server itself: what a misbehaving client cannot do.

Half-open connections (slowloris), a head that never ends, bodies too large or stalled, and a
forged X-Forwarded-For, against a real uvicorn on a real port. The flood and the memory check run
the server as a child process, whose file descriptors and memory are its own.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import Request

from tests.support.api import PASSWORD, ApiUser
from tests.support.flood import Flood
from tests.support.raw_http import RawConnection, request_head
from tests.support.server import LiveServer, ServerProcess
from tests.support.services import require_redis
from tests.support.settings import FAST_HASHING, backend, make_settings
from tidings.connections import ConnectionLimits, LimitedHttpToolsProtocol
from tidings.middleware import BODY_TIMEOUTS_BY_PATH
from tidings.server import uvicorn_config

HEALTH = request_head("GET", "/api/health")
LOGIN = "/api/auth/login"


@asynccontextmanager
async def child_server(tmp_path: Path, **settings: str) -> AsyncIterator[ServerProcess]:
    """``tidings serve`` in a child process on SQLite, with these settings (env names)."""
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}",
        "LOG_LEVEL": "warning",
        **{name.upper(): str(value) for name, value in FAST_HASHING.items()},
        **settings,
    }
    server = ServerProcess(env, log=tmp_path / "server.log")
    await server.start()
    try:
        yield server
    finally:
        server.terminate()
        try:
            await server.wait(exit_timeout=20)
        finally:
            await server.kill()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# Many connections


@pytest.mark.skipif(backend() != "sqlite-memory", reason="a child server on its own SQLite file")
@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 20_000, reason="needs 20,000 open files"
)
async def test_twenty_thousand_half_open_connections_lock_nobody_out(tmp_path: Path) -> None:
    # The header timeout is long, so that only the connection limit (default: the open-file
    # limit of 20,000 less 100) stands between the flood and the file descriptors.
    async with (
        child_server(tmp_path, HEADER_TIMEOUT_SECONDS="600") as server,
        Flood(server.port, 20_000, processes=5) as flood,
    ):
        assert server.process is not None
        held = await flood.held(timeout=40)
        assert held.opened == 20_000, held

        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            health = await client.get("/api/health")
            assert health.status_code == 200, health.text
        newcomer = await ApiUser(server.url, "newcomer").register()
        await newcomer.aclose()
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            login = await client.post(LOGIN, json={"username": "newcomer", "password": PASSWORD})
            assert login.status_code == 200, login.text
        assert open_files(server.process.pid) < 20_000

        released = await flood.release(timeout=40)
        # At least the excess over the limit was evicted, oldest first, and never refused.
        assert released.dropped >= 100, released
        assert released.answered == 0, released

        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            assert (await client.get("/api/health")).status_code == 200
    assert "Too many open files" not in (tmp_path / "server.log").read_text()


@pytest.mark.settings(max_connections=3)
async def test_a_new_connection_evicts_the_oldest_idle_one(server: LiveServer) -> None:
    # A request in progress (its body awaited: the server said "100 Continue") is never evicted.
    busy = await RawConnection.open(server.port)
    first_idle = await RawConnection.open(server.port)
    second_idle = await RawConnection.open(server.port)
    later: list[RawConnection] = []
    try:
        await busy.send(request_head("POST", LOGIN, "Content-Length: 100", "Expect: 100-continue"))
        assert (await busy.response()).status == 100
        await first_idle.send(b"GET /api/health HTTP/1.1\r\n")  # half a head
        # second_idle has sent nothing at all.

        for _ in range(2):
            newcomer = await RawConnection.open(server.port)
            later.append(newcomer)
            await newcomer.send(HEALTH)
            assert (await newcomer.response()).status == 200
        # Two newcomers: the two oldest idle connections made room, the busy one stayed.
        assert await first_idle.closed_within(10)
        assert await second_idle.closed_within(10)
        assert busy.is_open()
        # The first newcomer, idle now (keep-alive), is the oldest idle one left.
        assert later[0].is_open()
    finally:
        for connection in (busy, first_idle, second_idle, *later):
            connection.close()


@pytest.mark.settings(max_connections=2)
async def test_when_every_connection_is_busy_a_new_one_is_refused(server: LiveServer) -> None:
    busy = [await RawConnection.open(server.port) for _ in range(2)]
    refused = None
    try:
        for connection in busy:
            await connection.send(
                request_head("POST", LOGIN, "Content-Length: 100", "Expect: 100-continue")
            )
            assert (await connection.response()).status == 100
        refused = await RawConnection.open(server.port)
        await refused.send(HEALTH)
        response = await refused.response()
        assert response.status == 503
        assert response.json()["code"] == "too_many_connections"
        assert await refused.closed_within(10)
        assert all(connection.is_open() for connection in busy)
    finally:
        for connection in busy:
            connection.close()
        if refused is not None:
            refused.close()


def test_the_limits_survive_the_trip_to_a_worker_process(tmp_path: Path) -> None:
    # uvicorn's Multiprocess pickles the Config for each worker (spawn).
    settings = make_settings(tmp_path, max_connections=123, header_timeout_seconds=4.5)
    config = pickle.loads(pickle.dumps(uvicorn_config(settings)))
    assert config.limits == ConnectionLimits(max_connections=123, header_timeout_seconds=4.5)
    config.load()
    assert config.http_protocol_class is LimitedHttpToolsProtocol


@pytest.mark.skipif(backend() != "sqlite-memory", reason="a child server on its own SQLite file")
async def test_every_worker_cuts_off_a_slow_head(tmp_path: Path) -> None:
    redis_url = await require_redis()
    async with child_server(
        tmp_path,
        WORKERS="2",
        REDIS_URL=redis_url,
        REDIS_PREFIX=f"test-{uuid.uuid4().hex[:10]}",
        HEADER_TIMEOUT_SECONDS="0.5",
    ) as server:
        for _ in range(4):  # the kernel spreads them over the workers
            connection = await RawConnection.open(server.port)
            try:
                await connection.send(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
                await trickle_until_closed(connection)
            finally:
                connection.close()


# Heads


@pytest.mark.settings(header_timeout_seconds=0.5)
async def test_a_head_sent_byte_by_byte_is_cut_off(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        await trickle_until_closed(connection)
        assert connection.buffer == b""  # closed without an answer
    finally:
        connection.close()


@pytest.mark.settings(header_timeout_seconds=0.5)
async def test_a_kept_alive_connection_must_send_its_next_head_in_time(
    server: LiveServer,
) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(HEALTH)
        assert (await connection.response()).status == 200
        # uvicorn's own keep-alive timer stops at the first byte; the head timer does not.
        await connection.send(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
        await trickle_until_closed(connection)
    finally:
        connection.close()


async def trickle_until_closed(connection: RawConnection) -> None:
    """Send one byte at a time, never ending the head, until the server closes (bounded)."""
    for _ in range(300):  # 30 s at most
        try:
            await connection.send(b"a")
        except OSError:
            return
        if await connection.closed_within(0.1):  # also the pace of the trickle
            return
    raise AssertionError("the server kept a never-ending head open")


async def test_an_endless_head_is_refused_with_431(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(b"GET /api/health HTTP/1.1\r\nX-Endless: ")
        for _ in range(64):  # 4 MiB at most; the cap is far below
            try:
                await connection.send(b"a" * 65536)
            except OSError:
                break
        response = await connection.response()
        assert response.status == 431
        assert response.json()["code"] == "head_too_large"
        assert await connection.closed_within(10)
    finally:
        connection.close()


async def test_an_unfinished_header_in_a_first_read_is_refused_with_431(
    server: LiveServer,
) -> None:
    """A header that never ends, all in the connection's first read: the parser reports nothing
    of it, so the read itself must count (or 100 KB would wait for the head timeout)."""
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(b"GET /api/health HTTP/1.1\r\nX-Unfinished: " + b"a" * 100_000)
        response = await connection.response()
        assert response.status == 431
        assert response.json()["code"] == "head_too_large"
    finally:
        connection.close()


async def assert_head_refused(connection: RawConnection) -> None:
    response = await connection.response()
    assert response.status == 431
    assert response.json()["code"] == "head_too_large"
    assert response.headers["connection"] == "close"
    assert await connection.closed_within(10)


async def test_a_large_head_in_one_write_is_refused_with_431(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(request_head("GET", "/api/health", "X-Large: " + "a" * 60_000))
        await assert_head_refused(connection)
    finally:
        connection.close()


async def test_a_large_head_completed_by_its_last_write_is_refused_with_431(
    server: LiveServer,
) -> None:
    head = request_head("GET", "/api/health", "X-Large: " + "a" * 40_000)
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(head[:30_000])
        assert not await connection.answered_within(0.5)  # under the cap so far: no answer
        await connection.send(head[30_000:])
        await assert_head_refused(connection)
    finally:
        connection.close()


async def test_heads_under_the_cap_pass_one_after_another(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        for _ in range(3):  # each head is counted on its own, not added to the last one
            await connection.send(request_head("GET", "/api/health", "X-Pad: " + "a" * 20_000))
            response = await connection.response()
            assert response.status == 200, response.body
    finally:
        connection.close()


async def test_a_head_that_begins_after_a_large_body_is_not_counted_with_it(
    server: LiveServer,
) -> None:
    # One read holds a whole 60 KB request body and the start of the next (pipelined) head.
    body = json.dumps({"username": "nobody", "password": "x" * 60_000}).encode()
    first = request_head(
        "POST", LOGIN, "Content-Type: application/json", f"Content-Length: {len(body)}"
    )
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(first + body + b"GET /api/health HTTP/1.1\r\n")
        assert (await connection.response()).status != 431
        await connection.send(b"Host: 127.0.0.1\r\n\r\n")
        response = await connection.response()
        assert response.status == 200, response.body
    finally:
        connection.close()


# Bodies


@pytest.mark.skipif(backend() != "sqlite-memory", reason="a child server on its own SQLite file")
async def test_a_huge_declared_body_is_refused_without_being_read(tmp_path: Path) -> None:
    async with child_server(tmp_path) as server:
        assert server.process is not None
        before = rss_bytes(server.process.pid)
        connection = await RawConnection.open(server.port)
        try:
            await connection.send(
                request_head(
                    "POST", LOGIN, "Content-Type: application/json", "Content-Length: 314572800"
                )
                + b'{"username": "'
            )
            response = await connection.response()
            assert response.status == 413
            assert response.json()["code"] == "body_too_large"
            assert response.headers["connection"] == "close"
            sent = 0
            for _ in range(512):  # keep trickling: 32 MiB at most, refused long before
                try:
                    await connection.send(b"a" * 65536)
                except OSError:
                    break
                sent += 65536
            assert await connection.closed_within(10)
        finally:
            connection.close()
        grown = rss_bytes(server.process.pid) - before
        assert sent < 32 * 1024 * 1024
        assert grown < 16 * 1024 * 1024, f"server RSS grew by {grown} bytes"


async def test_a_chunked_body_is_refused_once_past_the_limit(server: LiveServer) -> None:
    limit = server.settings.max_body_bytes
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(
            request_head(
                "POST", LOGIN, "Content-Type: application/json", "Transfer-Encoding: chunked"
            )
        )
        chunk = b"x" * 8192
        for _ in range(limit // len(chunk) + 2):
            await connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = await connection.response()
        assert response.status == 413
        assert response.json()["code"] == "body_too_large"
        assert response.headers["connection"] == "close"
        assert await connection.closed_within(10)
    finally:
        connection.close()


async def test_a_chunked_body_under_the_limit_reaches_the_route(server: LiveServer) -> None:
    body = json.dumps({"username": "nobody", "password": "wrong password"}).encode()
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(
            request_head(
                "POST", LOGIN, "Content-Type: application/json", "Transfer-Encoding: chunked"
            )
        )
        for piece in (body[:10], body[10:]):
            await connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        await connection.send(b"0\r\n\r\n")
        response = await connection.response()
        assert response.status == 401, response.body
    finally:
        connection.close()


@pytest.mark.settings(body_timeout_seconds=0.5)
async def test_a_stalled_body_gets_408(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(
            request_head("POST", LOGIN, "Content-Type: application/json", "Content-Length: 100")
            + b'{"username"'
        )
        response = await connection.response(timeout=15)
        assert response.status == 408
        assert response.json()["code"] == "body_timeout"
        assert response.headers["connection"] == "close"
        assert await connection.closed_within(10)
    finally:
        connection.close()


async def trickle_body_until_answered(connection: RawConnection) -> None:
    """Send a body one byte at a time, a tenth of a second apart (far below the body timeout
    between bytes), never finishing it, until the server answers (bounded)."""
    for _ in range(300):  # 30 s at most, and fewer bytes than the declared Content-Length
        try:
            await connection.send(b" ")
        except OSError:
            return
        if await connection.answered_within(0.1):  # also the pace of the trickle
            return
    raise AssertionError("the server kept a never-ending body open")


def trickled_login() -> bytes:
    return request_head("POST", LOGIN, "Content-Type: application/json", "Content-Length: 1000")


async def assert_body_timed_out(connection: RawConnection) -> None:
    response = await connection.response()
    assert response.status == 408
    assert response.json()["code"] == "body_timeout"
    assert response.headers["connection"] == "close"
    assert await connection.closed_within(10)


@pytest.mark.settings(body_timeout_seconds=1.0)
async def test_a_body_that_keeps_trickling_gets_408_once_its_time_is_up(server: LiveServer) -> None:
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(trickled_login())
        await trickle_body_until_answered(connection)
        await assert_body_timed_out(connection)
    finally:
        connection.close()


@pytest.mark.settings(body_timeout_seconds=600)
async def test_a_route_may_have_its_own_body_deadline(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(BODY_TIMEOUTS_BY_PATH, LOGIN, 1.0)
    connection = await RawConnection.open(server.port)
    try:
        await connection.send(trickled_login())
        await trickle_body_until_answered(connection)
        await assert_body_timed_out(connection)
    finally:
        connection.close()


# Proxy headers


def add_client_echo(server: LiveServer) -> None:
    async def client_address(request: Request) -> dict[str, str | None]:
        return {"host": request.client.host if request.client else None}

    server.app.add_api_route("/test/client", client_address)


FORGED = {"X-Forwarded-For": "203.0.113.7"}


async def test_x_forwarded_for_is_ignored_by_default(server: LiveServer) -> None:
    add_client_echo(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response = await client.get("/test/client", headers=FORGED)
    assert response.json() == {"host": "127.0.0.1"}


@pytest.mark.settings(trusted_proxies="127.0.0.1")
async def test_x_forwarded_for_is_believed_from_a_trusted_proxy_only(server: LiveServer) -> None:
    add_client_echo(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as proxy:
        response = await proxy.get("/test/client", headers=FORGED)
    assert response.json() == {"host": "203.0.113.7"}

    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=server.url, timeout=10, transport=other) as client:
        response = await client.get("/test/client", headers=FORGED)
    assert response.json() == {"host": "127.0.0.2"}
