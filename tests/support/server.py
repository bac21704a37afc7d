"""Real uvicorn servers on ephemeral ports: in this process, or as child processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tidings.app import create_app
from tidings.config import Settings
from tidings.context import AppContext
from tidings.server import uvicorn_config


class _InProcessServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The test process keeps its own signal handlers.
        yield


class LiveServer:
    """The Tidings app under uvicorn on 127.0.0.1:<free port>, in the test's event loop.

    Running in-process lets tests look at the hub (subscriber counts) and the database.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn_config(
            settings, self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = _InProcessServer(config)
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(20):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("server exited during startup")
                await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._task is None:
            return
        if self.server.started:
            self.ctx.hub.close_all("shutdown")
        self.server.should_exit = True
        async with asyncio.timeout(20):
            await self._task
        self._task = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``tidings serve`` as a child process, configured through the environment."""

    def __init__(self, env: dict[str, str], *, port: int | None = None, log: Path | None = None):
        self.port = port or free_port()
        self.env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, startup_timeout: float = 30) -> None:
        out: Any = subprocess.DEVNULL
        if self.log is not None:
            out = await asyncio.to_thread(open, self.log, "ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tidings.cli", "serve", env=self.env, stdout=out, stderr=out
        )
        async with asyncio.timeout(startup_timeout), httpx.AsyncClient() as client:
            while True:  # readiness probe: nothing to await but the port answering
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.url}/api/health")).status_code == 200:
                        return
                await asyncio.sleep(0.05)

    def terminate(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def wait(self, exit_timeout: float = 30) -> int:
        assert self.process is not None
        async with asyncio.timeout(exit_timeout):
            return await self.process.wait()
