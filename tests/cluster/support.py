"""Several ``tidings serve`` processes on one PostgreSQL database and one Redis, and the people
who use them: each person signs in once and may talk to, and hold streams on, any process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import ApiUser
from tests.support.server import ServerProcess
from tests.support.settings import FAST_HASHING, reset_postgres
from tests.support.sse import EventStreamReader, SSEFrame, open_stream


def node_env(database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of one server process of a test cluster."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "LOG_LEVEL": "warning",
        "WORKERS": "1",
        **{key.upper(): str(value) for key, value in FAST_HASHING.items()},
        **extra,
    }


class Cluster:
    """N server processes sharing a database and a Redis channel prefix."""

    def __init__(self, database_url: str, redis_url: str, log_dir: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"
        self.log_dir = log_dir
        self.nodes: list[ServerProcess] = []

    async def start(self, count: int, *, redis_urls: Sequence[str] | None = None) -> Cluster:
        """Reset the database and start ``count`` processes (the first one migrates it)."""
        await reset_postgres(self.database_url)
        for index in range(count):
            redis_url = redis_urls[index] if redis_urls else self.redis_url
            env = node_env(self.database_url, redis_url, self.prefix)
            self.nodes.append(ServerProcess(env, log=self.log_dir / f"node{index}.log"))
        await self.nodes[0].start()
        await asyncio.gather(*(node.start() for node in self.nodes[1:]))
        return self

    async def stop(self) -> None:
        for node in self.nodes:
            node.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    await node.wait(20)
                except TimeoutError:
                    await node.kill()

    def logs(self) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("node*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


class Person:
    """A signed-in user with a client per process (one cookie jar) and open tabs."""

    def __init__(self, user: ApiUser) -> None:
        self.api = user
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.tabs: list[Tab] = []

    @classmethod
    async def register(cls, node: ServerProcess, username: str) -> Person:
        return cls(await ApiUser(node.url, username).register())

    @property
    def id(self) -> int:
        return self.api.id

    @property
    def username(self) -> str:
        return self.api.username

    def on(self, node: ServerProcess | str) -> httpx.AsyncClient:
        """This person's client for ``node`` (a process, or a URL such as the proxy's)."""
        url = node if isinstance(node, str) else node.url
        client = self._clients.get(url)
        if client is None:
            client = httpx.AsyncClient(base_url=url, cookies=self.api.client.cookies, timeout=30)
            self._clients[url] = client
        return client

    async def call(
        self, node: ServerProcess | str, method: str, path: str, json: Any = None, status: int = 200
    ) -> Any:
        response = await self.on(node).request(method, path, json=json)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def open_tab(self, node: ServerProcess | str, last_event_id: str | None = None) -> Tab:
        tab = Tab(self, node, await open_stream(self.on(node), last_event_id=last_event_id))
        self.tabs.append(tab)
        return tab

    async def aclose(self) -> None:
        for tab in self.tabs:
            await tab.close()
        for client in self._clients.values():
            await client.aclose()
        await self.api.aclose()


class Tab:
    """One open stream of a person, and every event frame it received."""

    def __init__(self, person: Person, node: ServerProcess | str, reader: EventStreamReader):
        self.person = person
        self.node = node
        self.reader = reader
        self.frames: list[SSEFrame] = []
        self.connected: dict[str, Any] | None = None

    async def wait_connected(self) -> dict[str, Any]:
        frame = await self.reader.next()
        assert frame.event == "connected", frame
        self.connected = frame.json
        return frame.json

    async def expect(self, types: Iterable[str], timeout: float = 10) -> list[SSEFrame]:
        """The next frames have exactly these event types (replay or live, no control frames)."""
        types = list(types)
        frames = await self.reader.next_events(len(types), timeout)
        assert [f.event for f in frames] == types, (
            f"{self.person.username}: {[(f.event, f.id) for f in frames]} != {types}"
        )
        self.frames.extend(frames)
        return frames

    @property
    def last_id(self) -> str:
        return self.frames[-1].id or "0" if self.frames else "0"

    async def close(self) -> None:
        await self.reader.close()


def assert_gap_free(frames: Sequence[SSEFrame], first: int = 1) -> None:
    """Event ids run first, first+1, ... with nothing missing or repeated."""
    ids = [int(f.id or 0) for f in frames]
    assert ids == list(range(first, first + len(ids))), ids


async def close_all(people: Iterable[Person]) -> None:
    for person in people:
        with contextlib.suppress(Exception):
            await person.aclose()
