"""A real SSE client over httpx: reads the raw bytes and parses frames, comments included."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

ATTENTION_EVENTS = frozenset({"presence", "typing", "read_receipt"})
"""Ephemeral events that streams get as people come and go: ``next`` leaves them out unless
asked (``attention=True``), so that a test of other events is not at the mercy of who opened
a stream when."""


@dataclass
class SSEFrame:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comment: str | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class EventStreamReader:
    """Collects frames from ``GET /api/events`` in the background; tests await them."""

    client: httpx.AsyncClient
    last_event_id: str | None = None
    query_last_event_id: str | None = None
    frames: asyncio.Queue[SSEFrame | BaseException] = field(default_factory=asyncio.Queue)
    status_code: int | None = None
    headers: httpx.Headers | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _opened: asyncio.Event = field(default_factory=asyncio.Event)
    body: bytes = b""

    async def open(self) -> EventStreamReader:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(10):
            await self._opened.wait()
        return self

    async def _run(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        params = {}
        if self.query_last_event_id is not None:
            params["last_event_id"] = self.query_last_event_id
        try:
            async with self.client.stream(
                "GET", "/api/events", headers=headers, params=params, timeout=None
            ) as response:
                self.status_code = response.status_code
                self.headers = response.headers
                self._opened.set()
                if response.status_code != 200:
                    self.body = await response.aread()
                    return
                frame = SSEFrame()
                async for line in response.aiter_lines():
                    if line == "":
                        if frame.comment is not None or frame.data or frame.retry is not None:
                            await self.frames.put(frame)
                        frame = SSEFrame()
                        continue
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "":
                        frame.comment = value
                    elif name == "event":
                        frame.event = value
                    elif name == "data":
                        frame.data = f"{frame.data}\n{value}" if frame.data else value
                    elif name == "id":
                        frame.id = value
                    elif name == "retry":
                        frame.retry = int(value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Handed to whoever awaits the next frame; the task itself ends quietly.
            await self.frames.put(exc)
        finally:
            self._opened.set()
            self.ended.set()

    async def next(
        self, timeout: float = 10, *, skip_heartbeats: bool = True, attention: bool = False
    ) -> SSEFrame:
        """The next frame (by default, the next that is not a heartbeat comment, nor a
        presence, typing or read receipt event)."""
        async with asyncio.timeout(timeout):
            while True:
                item = await self.frames.get()
                if isinstance(item, BaseException):
                    raise item
                if item.comment is not None and skip_heartbeats:
                    continue
                if item.retry is not None and not item.data:
                    continue
                if not attention and item.id is None and item.event in ATTENTION_EVENTS:
                    continue
                return item

    async def next_events(self, count: int, timeout: float = 10) -> list[SSEFrame]:
        return [await self.next(timeout) for _ in range(count)]

    async def wait_ended(self, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            await self.ended.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task


async def open_stream(
    client: httpx.AsyncClient, *, last_event_id: str | None = None, query: str | None = None
) -> EventStreamReader:
    """Open a stream and return once its response headers have arrived."""
    reader = EventStreamReader(client, last_event_id=last_event_id, query_last_event_id=query)
    return await reader.open()


async def open_stream_that_never_reads(
    port: int, cookie_name: str, cookie: str | None, *, query: str = ""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends its request for the stream and then stops reading (small buffers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1024)
    writer.transport.pause_reading()
    writer.write(
        f"GET /api/events{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie_name}={cookie}\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer
