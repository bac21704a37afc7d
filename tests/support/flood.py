"""A crowd of half-open connections (slowloris), held from other processes.

20,000 sockets do not fit in one process next to the test's own (the open-file limit is 20,000
per process), so each attacker is a process of its own, connecting from its own 127.0.0.x source
address. Each sends a partial request head on every connection and then nothing, reports how many
it opened, holds them until told to let go (or until its own deadline, so that a failed test
never leaves them behind), and then reports how many the server had dropped meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

PARTIAL_HEAD = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Waiting: "


@dataclass(frozen=True)
class Held:
    opened: int
    """Connections that connected and took the partial head."""
    failed: int
    """Connections that could not even connect."""


@dataclass(frozen=True)
class Released:
    dropped: int
    """Connections the server had closed (evicted) while they were held."""
    answered: int
    """Connections that got a response (a refusal) instead."""


def _attack(  # runs in the attacker process
    port: int, source: str, count: int, control: Connection, hold_seconds: float
) -> None:
    sockets: list[socket.socket] = []
    failed = 0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10)
        try:
            sock.bind((source, 0))
            sock.connect(("127.0.0.1", port))
            sock.sendall(PARTIAL_HEAD)
        except OSError:
            failed += 1
            sock.close()
            continue
        sockets.append(sock)
    control.send(Held(opened=len(sockets), failed=failed))
    control.poll(hold_seconds)  # the test's "let go", or the deadline
    dropped = answered = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            data = sock.recv(1)
        except BlockingIOError:
            pass  # still open, nothing received
        except OSError:
            dropped += 1  # reset: evicted
        else:
            if data:
                answered += 1
            else:
                dropped += 1  # closed
        sock.close()
    with contextlib.suppress(OSError):
        control.send(Released(dropped=dropped, answered=answered))


class Flood:
    """``async with Flood(port, 20_000, processes=5) as flood: held = await flood.held()``."""

    def __init__(
        self, port: int, connections: int, *, processes: int, hold_seconds: float = 120
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.controls: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        per_process, extra = divmod(connections, processes)
        for index in range(processes):
            ours, theirs = context.Pipe()
            count = per_process + (1 if index < extra else 0)
            source = f"127.0.0.{index + 2}"
            process = context.Process(
                target=_attack, args=(port, source, count, theirs, hold_seconds), daemon=True
            )
            self.controls.append(ours)
            self.processes.append(process)

    async def __aenter__(self) -> Flood:
        for process in self.processes:
            process.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
        for process in self.processes:
            await asyncio.to_thread(process.join, 10)

    async def held(self, timeout: float) -> Held:
        """Once every attacker has opened its connections: the totals."""
        reports = await self._collect(timeout)
        return Held(
            opened=sum(r.opened for r in reports if isinstance(r, Held)),
            failed=sum(r.failed for r in reports if isinstance(r, Held)),
        )

    async def release(self, timeout: float) -> Released:
        """Let go of every connection; what the server had done to them meanwhile."""
        for control in self.controls:
            control.send("release")
        reports = await self._collect(timeout)
        return Released(
            dropped=sum(r.dropped for r in reports if isinstance(r, Released)),
            answered=sum(r.answered for r in reports if isinstance(r, Released)),
        )

    async def _collect(self, timeout: float) -> list[object]:
        def receive_all() -> list[object]:
            deadline = time.monotonic() + timeout
            reports = []
            for control in self.controls:
                if not control.poll(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError("an attacker process did not report in time")
                reports.append(control.recv())
            return reports

        return await asyncio.to_thread(receive_all)
