"""HTTP/1.1 by hand on a plain socket, for clients that misbehave on purpose.

httpx cannot send half a head, lie about a body or stall mid-body, and it hides whether the
server closed the connection. Every wait here is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, port: int, source: str = "127.0.0.1", timeout: float = 10) -> RawConnection:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((source, 0))
        try:
            async with asyncio.timeout(timeout):
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def send(self, data: bytes, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            await self.loop.sock_sendall(self.sock, data)

    async def _read_more(self) -> bytes:
        data = await self.loop.sock_recv(self.sock, 65536)
        self.buffer += data
        return data

    async def response(self, timeout: float = 10) -> RawResponse:
        """The next response (its head and a Content-Length body)."""
        async with asyncio.timeout(timeout):
            while b"\r\n\r\n" not in self.buffer:
                if not await self._read_more():
                    raise ConnectionError(f"closed before a response: {self.buffer!r}")
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(self.buffer) < length:
                if not await self._read_more():
                    raise ConnectionError("closed in the middle of a response body")
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawResponse(int(status_line.split(" ")[1]), headers, body)

    async def wait_closed(self, timeout: float = 10) -> bytes:
        """Read until the server closes (FIN or reset); what it sent meanwhile."""
        start = len(self.buffer)
        async with asyncio.timeout(timeout):
            try:
                while await self._read_more():
                    pass
            except ConnectionResetError:
                pass
        return self.buffer[start:]

    async def answered_within(self, timeout: float) -> bool:
        """Whether the server sent something, or closed, within ``timeout`` (what it sent is
        kept for ``response``)."""
        if self.buffer:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._read_more()
        except TimeoutError:
            return False
        except ConnectionResetError:
            pass
        return True

    async def closed_within(self, timeout: float) -> bool:
        try:
            await self.wait_closed(timeout)
        except TimeoutError:
            return False
        return True

    def is_open(self) -> bool:
        """Whether the server has neither closed nor reset this connection (by now)."""
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return bool(data)

    def close(self) -> None:
        self.sock.close()


def request_head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()
