"""Controller side of the load generators: spawn, command, collect."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from typing import Any

from bench import procs


class LoadGen:
    """One ``python -m bench.loadgen`` process, pinned to the load core."""

    _ids = itertools.count(1)

    def __init__(self, core: int | None, src: str) -> None:
        self.core = core
        self.src = src
        self.proc: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ}
        if self.core is not None:
            env["BENCH_CPU"] = str(self.core)
        self.proc = await asyncio.create_subprocess_exec(
            procs.python(),
            "-m",
            "bench.loadgen",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
            limit=1 << 30,
        )
        procs.track(self.proc.pid)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            reply = json.loads(line)
            fut = self.pending.pop(reply.pop("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(reply)
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError("load generator exited"))

    async def call(self, cmd: str, timeout: float = 120.0, **args: Any) -> dict[str, Any]:
        assert self.proc is not None
        assert self.proc.stdin is not None
        cid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[cid] = fut
        self.proc.stdin.write((json.dumps({"cmd": cmd, "id": cid, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise RuntimeError(f"load generator {cmd}: {reply['error']}")
        return reply

    async def close(self) -> None:
        if self.proc is None:
            return
        pid = self.proc.pid
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b'{"cmd": "quit", "id": 0}\n')
            self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), 10)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        procs.stop(pid, grace=2.0)
        if self._reader is not None:
            self._reader.cancel()
        self.proc = None


class Pool:
    """Several load generators, each with its own 127.0.0.x source address."""

    def __init__(self, count: int, core: int | None) -> None:
        self.gens = [LoadGen(core, f"127.0.0.{2 + k}") for k in range(count)]

    async def __aenter__(self) -> Pool:
        await asyncio.gather(*(g.start() for g in self.gens))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(g.close() for g in self.gens), return_exceptions=True)

    async def all(self, cmd: str, timeout: float = 120.0, **args: Any) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(g.call(cmd, timeout, **args) for g in self.gens)))
