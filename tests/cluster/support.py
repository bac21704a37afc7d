"""Several ``tidings serve`` processes on one PostgreSQL database and one Redis, and the people
who use them: each person signs in once and may talk to, and hold streams on, any process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import ApiUser
from tests.support.server import ServerProcess
from tests.support.settings import FAST_HASHING, GENEROUS_LIMITS, reset_postgres
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
        **{key.upper(): str(value) for key, value in GENEROUS_LIMITS.items()},
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

    async def start(
        self,
        count: int,
        *,
        redis_urls: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Cluster:
        """Reset the database and start ``count`` processes (the first one migrates it), with
        ``env`` added to each one's environment (settings, e.g. ``PRESENCE_GRACE_SECONDS``)."""
        await reset_postgres(self.database_url)
        for index in range(count):
            redis_url = redis_urls[index] if redis_urls else self.redis_url
            node = node_env(self.database_url, redis_url, self.prefix, **(env or {}))
            self.nodes.append(ServerProcess(node, log=self.log_dir / f"node{index}.log"))
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
    async def register(cls, node: ServerProcess | str, username: str) -> Person:
        url = node if isinstance(node, str) else node.url
        return cls(await ApiUser(url, username).register())

    async def current_event_id(self, node: ServerProcess | str) -> int:
        """The log's head as the list routes report it: this person's latest event only if
        the latest write was for them (a message in a conversation of theirs)."""
        return int((await self.call(node, "GET", "/api/conversations"))["last_event_id"])

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
        tab.resumed_from = last_event_id
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
        self.resumed_from: str | None = None

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

    async def read_until(self, event_id: int, timeout: float = 20) -> None:
        """Read frames until the one with ``event_id`` has arrived."""
        async with asyncio.timeout(timeout):
            while int(self.last_id) < event_id:
                self.frames.append(await self.reader.next(timeout))

    @property
    def last_id(self) -> str:
        """The id to resume from: the last event received, else where this stream started."""
        if self.frames and self.frames[-1].id:
            return self.frames[-1].id
        if self.resumed_from is not None:
            return self.resumed_from
        return str((self.connected or {}).get("last_event_id", "0"))

    async def close(self) -> None:
        await self.reader.close()


def assert_in_order(frames: Sequence[SSEFrame], after: int = 0) -> None:
    """Event ids strictly increase from after ``after``: log order, nothing repeated. (Ids are
    positions in the server's one log, so a user's ids have gaps: others' events.)"""
    ids = [int(f.id or 0) for f in frames]
    assert ids == sorted(set(ids)), ids
    assert not ids or ids[0] > after, ids


async def step(expected: dict[Person, list[str]]) -> dict[Person, list[SSEFrame]]:
    """Every tab of each listed person gets exactly these events next (the frames of the last
    tab of each)."""
    received: dict[Person, list[SSEFrame]] = {}
    for person, types in expected.items():
        for tab in person.tabs:
            received[person] = await tab.expect(types)
    return received


async def barrier(sentinel: Person, node: ServerProcess, people: Iterable[Person]) -> None:
    """A last event for each person (a friend request from ``sentinel``): had anyone received
    something a test did not list, it would come first and fail that person's ``expect``."""
    for person in people:
        await sentinel.call(
            node, "POST", "/api/friends/request", {"username": person.username}, 201
        )
        await step({person: ["friend_request", "notification"]})


async def tabs_agree_then_replay(
    person: Person, nodes: Sequence[ServerProcess]
) -> tuple[list[SSEFrame], list[SSEFrame]]:
    """Check that the person's tabs, on whichever processes, received the same frames in log
    order; then replay from where their first tab started, on a process other than that tab's.
    Returns (what the first tab received, what the replay gave)."""
    first = person.tabs[0]
    reference = first.frames
    assert_in_order(reference)
    for tab in person.tabs[1:]:
        assert [(f.id, f.event, f.data) for f in tab.frames] == [
            (f.id, f.event, f.data) for f in reference
        ], person.username
    other = next(node for node in nodes if node is not first.node)
    started = str((first.connected or {})["last_event_id"])
    replay = await person.open_tab(other, started)
    await replay.wait_connected()
    replayed = await replay.reader.next_events(len(reference))
    assert [(f.id, f.event) for f in replayed] == [(f.id, f.event) for f in reference]
    return reference, replayed


async def close_all(people: Iterable[Person]) -> None:
    for person in people:
        with contextlib.suppress(Exception):
            await person.aclose()


class NginxProcess:
    """Real nginx (``nginx -c <conf> -g 'daemon off;'``) with a config from deploy/nginx.conf."""

    def __init__(self, upstreams: Sequence[str], run_dir: Path, port: int) -> None:
        from tidings.cluster import TEMPLATE, render_nginx_conf

        self.port = port
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.conf = run_dir / "nginx.conf"
        self.conf.write_text(
            render_nginx_conf(
                TEMPLATE.read_text(),
                listen=f"127.0.0.1:{port}",
                upstreams=upstreams,
                run_dir=run_dir,
            )
        )
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> NginxProcess:
        from tests.support.services import missing
        from tidings.cluster import find_nginx, http_ok

        nginx = find_nginx()
        if nginx is None:
            missing("nginx is not installed (scripts/system-deps installs it)")
        assert nginx is not None
        error_log = str(self.run_dir / "nginx-error.log")
        self.process = await asyncio.create_subprocess_exec(
            nginx, "-e", error_log, "-c", str(self.conf), "-g", "daemon off;"
        )
        async with asyncio.timeout(20):
            while not await http_ok("127.0.0.1", self.port):  # readiness probe
                if self.process.returncode is not None:
                    raise RuntimeError(f"nginx exited: {self.error_log()}")
                await asyncio.sleep(0.05)
        return self

    def error_log(self) -> str:
        path = self.run_dir / "nginx-error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
