"""A deliberately small HTTP/1.1 client over real sockets: SSE streams and keep-alive requests.

No httpx here: one load-generator process holds thousands of streams, and an asyncio ``Protocol``
per stream (a few hundred bytes of state, parsing in ``data_received``) is what lets a single
core keep up. Latency probes are embedded in message contents as ``b|<msgid>|<sched_ns>`` so a
recipient computes its latency on its own, with the system-wide ``CLOCK_MONOTONIC``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

PROBE = re.compile(rb'"content":"b\|(\d+)\|(\d+)"')
"""The latency probe inside a message event's JSON payload."""
ANY_PROBE = re.compile(rb"b\|(\d+)\|(\d+)")
PRESENCE = re.compile(rb'"user_id":(\d+),"status":"(\w+)"')
"""Whose status a ``presence`` event's payload announces, and which."""


def probe_content(msg_id: int, sched_ns: int) -> str:
    return f"b|{msg_id}|{sched_ns}"


@dataclass(slots=True)
class Arrival:
    msg_id: int
    user_id: int
    sched_ns: int
    arrival_ns: int


@dataclass
class StreamStats:
    """Shared by all streams of one load-generator process."""

    bytes_in: int = 0
    heartbeats: int = 0
    frames: int = 0
    message_frames: int = 0
    arrivals: list[Arrival] = field(default_factory=list)
    presence: dict[tuple[int, int, str], int] = field(default_factory=dict)
    """(stream's user, user announced, status) -> ``presence`` frames received."""


class SSEStream(asyncio.Protocol):
    """One ``GET`` of an event stream: parses chunked HTTP and SSE frames as bytes arrive."""

    __slots__ = (
        "_body",
        "_chunk_left",
        "_chunked",
        "_headers_done",
        "_raw",
        "closed",
        "opened",
        "request",
        "stats",
        "status",
        "transport",
        "user_id",
    )

    def __init__(self, request: bytes, user_id: int, stats: StreamStats) -> None:
        self.request = request
        self.user_id = user_id
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self._raw = bytearray()
        self._body = bytearray()
        self._headers_done = False
        self._chunked = False
        self._chunk_left = -1  # -1: expecting a size line; -2: expecting the CRLF after data
        self.status = 0
        self.opened: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before open (status {self.status})"))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.stats.bytes_in += len(data)
        if not self._headers_done:
            self._raw += data
            end = self._raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._raw[:end]).lower()
            self.status = int(head[9:12])
            self._chunked = b"transfer-encoding: chunked" in head
            rest = bytes(self._raw[end + 4 :])
            self._raw = bytearray()
            self._headers_done = True
            if self.status != 200:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(f"status {self.status}"))
                self.close()
                return
            data = rest
        if self._chunked:
            self._raw += data
            self._dechunk()
        else:
            self._body += data
        self._frames()

    def _dechunk(self) -> None:
        raw = self._raw
        while raw:
            if self._chunk_left == -1:
                i = raw.find(b"\r\n")
                if i < 0:
                    return
                size = int(bytes(raw[:i]).split(b";")[0], 16)
                del raw[: i + 2]
                if size == 0:
                    return
                self._chunk_left = size
            elif self._chunk_left == -2:
                if len(raw) < 2:
                    return
                del raw[:2]
                self._chunk_left = -1
            else:
                take = min(self._chunk_left, len(raw))
                self._body += raw[:take]
                del raw[:take]
                self._chunk_left -= take
                if self._chunk_left == 0:
                    self._chunk_left = -2

    def _frames(self) -> None:
        body = self._body
        start = 0
        stats = self.stats
        while True:
            end = body.find(b"\n\n", start)
            if end < 0:
                break
            frame = bytes(body[start:end])
            start = end + 2
            if frame.startswith(b":"):
                stats.heartbeats += 1
                continue
            stats.frames += 1
            if b"event: message\n" in frame:
                stats.message_frames += 1
                now = time.monotonic_ns()
                m = PROBE.search(frame)
                if m is not None:
                    stats.arrivals.append(
                        Arrival(int(m.group(1)), self.user_id, int(m.group(2)), now)
                    )
            elif b"event: presence\n" in frame:
                p = PRESENCE.search(frame)
                subject, status = (int(p.group(1)), p.group(2).decode()) if p else (0, "?")
                key = (self.user_id, subject, status)  # unreadable: user 0, status "?"
                stats.presence[key] = stats.presence.get(key, 0) + 1
            elif b"event: connected" in frame and not self.opened.done():
                self.opened.set_result(self.status)
        if start:
            del body[:start]


def stream_request(host: str, path: str, token: str | None, cookie_name: str) -> bytes:
    cookie = f"Cookie: {cookie_name}={token}\r\n" if token else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{cookie}\r\n"
    ).encode()


class HttpConn:
    """One keep-alive HTTP/1.1 connection for plain requests (Content-Length or chunked)."""

    def __init__(self, host: str, port: int, local_host: str | None = None) -> None:
        self.host = host
        self.port = port
        self.local_host = local_host
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.bytes_in = 0
        self.bytes_out = 0

    async def _connect(self) -> None:
        local = (self.local_host, 0) if self.local_host else None
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=local
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.reader = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.writer is None:
                await self._connect()
            try:
                return await self._request_once(method, path, cookie, body, content_type)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _request_once(
        self, method: str, path: str, cookie: str | None, body: bytes | None, content_type: str
    ) -> tuple[int, bytes]:
        assert self.reader is not None
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if body is not None:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        self.writer.write(data)
        self.bytes_out += len(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.bytes_in += len(head)
        status = int(head[9:12])
        lower = head.lower()
        payload = b""
        i = lower.find(b"content-length:")
        if i >= 0:
            length = int(lower[i + 15 : lower.find(b"\r\n", i)])
            payload = await self.reader.readexactly(length)
        elif b"transfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            payload = b"".join(parts)
        self.bytes_in += len(payload)
        if b"connection: close" in lower:
            self.close()
        return status, payload
