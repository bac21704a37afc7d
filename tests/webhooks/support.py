"""A webhook receiver for tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def signed_with(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether a request's ``Tidings-Signature`` is the one ``secret`` makes (as a receiver
    checks it)."""
    timestamp = headers["tidings-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["tidings-signature"], "v1=" + expected.hexdigest())


@dataclass(frozen=True)
class Received:
    """One request the receiver got, and how it answered."""

    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def event_id(self) -> str:
        return self.headers["tidings-event-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def verify(self, secret: str) -> dict[str, Any]:
        """Check the signature and timestamp as a receiver should; the payload."""
        timestamp = self.headers["tidings-timestamp"]
        assert abs(int(timestamp) - self.at) < 300, (timestamp, self.at)
        assert signed_with(secret, self.headers, self.body)
        payload = self.payload
        assert payload["id"] == self.event_id
        assert set(payload) == {"id", "type", "data"}
        return payload


class Receiver:
    """A minimal HTTP/1.1 server: answers ``fail_status`` to its first ``fail_first`` requests,
    then ``status`` (or, with ``accept`` set, ``status`` to the requests it accepts); keeps
    every request."""

    def __init__(self, *, fail_first: int = 0, fail_status: int = 500, status: int = 200) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.status = status
        self.accept: Callable[[dict[str, str], bytes], bool] | None = None
        self.requests: list[Received] = []
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            assert lines[0].startswith("POST /hook "), lines[0]
            headers = {}
            for line in lines[1:]:
                if line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if self.accept is not None:
                status = self.status if self.accept(headers, body) else self.fail_status
            else:
                status = self.fail_status if len(self.requests) < self.fail_first else self.status
            answer = f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(answer.encode())
            await writer.drain()
            async with self._changed:
                self.requests.append(Received(headers, body, status, time.time()))
                self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_until(self, predicate: Callable[[Receiver], bool], seconds: float = 30) -> None:
        """Until ``predicate(self)`` holds (checked after each request)."""
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(lambda: predicate(self))
