"""``tidings cluster``: starts server processes and nginx, serves through it, stops it all."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import uuid

from tests.cluster.support import Person, close_all
from tests.support.services import missing, require_redis
from tests.support.settings import FAST_HASHING
from tidings.cluster import find_nginx, http_ok


def free_consecutive_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1."""
    for _ in range(100):
        base = random.randint(20000, 60000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free consecutive ports")


async def test_cluster_command_serves_through_nginx_and_stops_everything(tmp_path):
    redis_url = await require_redis()
    if find_nginx() is None:
        missing("nginx is not installed (scripts/system-deps installs it)")
    port = free_consecutive_ports(3)
    run_dir = tmp_path / "run"
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"test-{uuid.uuid4().hex[:10]}",
        "LOG_LEVEL": "warning",
        **{key.upper(): str(value) for key, value in FAST_HASHING.items()},
    }
    env.pop("DATABASE_URL", None)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cluster.db'}"
    command = [sys.executable, "-m", "tidings.cli", "cluster", "--nodes", "2"]
    command += ["--port", str(port), "--run-dir", str(run_dir), "--database-url", database_url]
    process = await asyncio.create_subprocess_exec(*command, env=env)
    people: list[Person] = []
    try:
        async with asyncio.timeout(60):
            while not await http_ok("127.0.0.1", port):  # readiness probe
                assert process.returncode is None, "tidings cluster exited"
                await asyncio.sleep(0.1)
        assert await http_ok("127.0.0.1", port + 1)
        assert await http_ok("127.0.0.1", port + 2)
        assert (run_dir / "nginx.pid").exists()

        proxy = f"http://127.0.0.1:{port}"
        alice, bob = people = [
            await Person.register(proxy, "alice"),
            await Person.register(proxy, "bob"),
        ]
        await alice.api.befriend(bob.api)
        dm = await alice.api.dm(bob.api)
        tab = await bob.open_tab(proxy)
        await tab.wait_connected()
        await alice.api.send(dm["id"], "through the proxy")
        [message] = await tab.expect(["message"])
        assert message.json["message"]["content"] == "through the proxy"
    finally:
        await close_all(people)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                status = await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    assert status == 0
    for candidate in (port, port + 1, port + 2):
        assert not await http_ok("127.0.0.1", candidate), f"port {candidate} still answers"
    assert not (run_dir / "nginx.pid").exists()
