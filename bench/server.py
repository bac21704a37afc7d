"""The server under test: a ``tidings serve`` subprocess on 127.0.0.1 with a temp SQLite DB."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

from bench import procs
from bench.client import HttpConn

_ROOT = str(Path(__file__).resolve().parent.parent)
_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text as {name: value}, labelled series summed per name (and kept by label)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        name, labels, value = m.group(1), m.group(2), float(m.group(3))
        out[name] = out.get(name, 0.0) + value
        if labels:
            out[name + labels] = value
    return out


class TidingsServer:
    def __init__(
        self,
        workdir: Path,
        core: int | None,
        *,
        heartbeat_seconds: float = 30.0,
        traced: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.core = core
        self.port = procs.free_port()
        self.host = "127.0.0.1"
        self.db_path = workdir / "tidings.db"
        self.heartbeat_seconds = heartbeat_seconds
        self.traced = traced
        self.extra_env = extra_env or {}
        self.pid = 0
        self.log_path = workdir / "server.log"
        self.code = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.db_path}",
            "HEARTBEAT_SECONDS": str(self.heartbeat_seconds),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "8",
            "ARGON2_PARALLELISM": "1",
            "LOG_LEVEL": "warning",
            # The load generators are a few clients sending far beyond any per-person limit.
            "RATE_LIMIT_REGISTER": "1000000/second",
            "RATE_LIMIT_SEND": "1000000/second",
            "RATE_LIMIT_FRIEND_REQUEST": "1000000/second",
            "RATE_LIMIT_FRIEND_REQUEST_TARGET": "1000000/second",
            "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
            **self.extra_env,
        }
        if "REDIS_URL" not in self.extra_env:
            env.pop("REDIS_URL", None)
        if self.traced:  # bench.traced_server must be importable from the server's cwd
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        module = "bench.traced_server" if self.traced else "tidings.cli"
        argv = [
            procs.python(),
            "-m",
            module,
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        proc = procs.spawn(
            procs.pinned(argv, self.core),
            env=env,
            stdout=log,
            stderr=log,
            cwd=str(self.workdir),
        )
        log.close()
        self.pid = proc.pid
        self.code = await asyncio.to_thread(procs.git_state)
        deadline = time.monotonic() + 60
        conn = HttpConn(self.host, self.port)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = await conn.request("GET", "/api/health")
                if status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError("server did not become healthy in 60 s")

    def stop(self) -> None:
        if self.pid:
            procs.stop(self.pid, grace=15.0)
            self.pid = 0

    async def metrics(self) -> dict[str, float]:
        conn = HttpConn(self.host, self.port)
        try:
            _, body = await conn.request("GET", "/metrics")
        finally:
            conn.close()
        return parse_metrics(body.decode())

    def rss(self) -> int:
        return procs.rss_bytes(self.pid)

    def cpu(self) -> float:
        return procs.cpu_seconds(self.pid)

    def requests_total(self, m: dict[str, float]) -> float:
        return m.get("tidings_request_latency_seconds_count", 0.0)
