"""The machine's PostgreSQL and Redis for tests, and a TCP proxy to cut a connection to them.

A test that needs a service asks for it here: it skips with the reason when the service is not
there, except where ``TIDINGS_REQUIRE_SERVICES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.settings import redis_url


def services_required() -> bool:
    return os.environ.get("TIDINGS_REQUIRE_SERVICES") == "1"


def missing(reason: str) -> None:
    """Skip the test, or fail it where the services are required."""
    if services_required():
        pytest.fail(f"{reason} (TIDINGS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


async def require_redis() -> str:
    """The test Redis URL, once it answers PING."""
    from redis.asyncio import Redis

    url = redis_url()
    if not url:
        missing("no Redis: TIDINGS_TEST_REDIS_URL is not set (source scripts/services)")
    assert url is not None
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        missing(f"Redis at {url} does not answer: {exc}")
    finally:
        await client.aclose()
    return url


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def require_postgres(database: str) -> str:
    """A SQLAlchemy URL of ``database`` on the test PostgreSQL server, created if missing."""
    import asyncpg

    url = os.environ.get("TIDINGS_TEST_POSTGRES_URL")  # the server's, not a worker's database
    if not url:
        missing("no PostgreSQL: TIDINGS_TEST_POSTGRES_URL is not set (source scripts/services)")
    assert url is not None
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except Exception as exc:
        missing(f"PostgreSQL at {dsn} does not answer: {exc}")
        raise
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    return _with_database(url, database)


class TcpProxy:
    """A TCP relay on 127.0.0.1 in front of a service, whose connections a test can cut.

    ``cut()`` closes every relayed connection and refuses new ones (they are accepted and
    closed at once) until ``restore()``: to the processes behind it, the service went away.
    ``stall()`` keeps connections open but relays nothing (a half-open connection, as when a
    network path dies silently) until ``restore()``.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepting = True
        self.connections_made = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def to_url(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379)

    def url_through(self, url: str) -> str:
        """``url`` pointed at this proxy instead of the service."""
        parts = urlsplit(url)
        netloc = f"127.0.0.1:{self.port}"
        if parts.username or parts.password:
            netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections_made += 1
        self._writers.update((writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        for pipe in pipes:
            pipe.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)

    def cut(self) -> None:
        """Drop every relayed connection and refuse new ones."""
        self.accepting = False
        for writer in list(self._writers):
            if (transport := writer.transport) is not None:
                transport.abort()
        self._writers.clear()

    def stall(self) -> None:
        """Relay nothing more, on open connections and new ones, until ``restore()``."""
        self._flowing.clear()

    def restore(self) -> None:
        self.accepting = True
        self._flowing.set()

    async def close(self) -> None:
        self.cut()
        self._flowing.set()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class RedisServer:
    """A private ``redis-server`` on a free port, that a test may stop and start again."""

    def __init__(self, port: int, log: str) -> None:
        self.port = port
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> RedisServer:
        import shutil

        from redis.asyncio import Redis

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--logfile", self.log, "--daemonize", "no"),
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            async with asyncio.timeout(10):
                while True:  # readiness probe
                    if self.process.returncode is not None:
                        raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                    with contextlib.suppress(Exception):
                        if await client.ping():
                            return self
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        self.process = None
