"""Accepted messages/s on PostgreSQL: 1 and 3 server processes behind nginx, sharing Redis.

``python -m bench.cluster_writes [--nodes 1 3] [--clients 64] [--seconds 10] [--out FILE]``

Starts ``tidings cluster --nodes N`` (the servers and nginx, from ``deploy/nginx.conf``) on the
machine's PostgreSQL (database ``tidings_bench``, emptied first) and Redis, pinned to the
server core; registers ``clients`` pairs of friends with a DM through the proxy; then the same
closed loop as the suite's writes scenario (``bench.loadgen`` ``hammer``, on the load core):
``clients`` connections POST messages back to back for ``seconds``. Writes a Markdown table
(default ``bench/results/cluster_writes.md``) and prints it. PostgreSQL and Redis run
unpinned: on this 2-core machine they share the cores with everything else, which the figures
include.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench import procs
from bench.pool import LoadGen

POSTGRES = os.environ.get(
    "TIDINGS_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/tidings_bench"
)
REDIS = os.environ.get("TIDINGS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


async def _reset_database(url: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    name = dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/test")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def _wait_healthy(url: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout), httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{url}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def _pairs(url: str, count: int, prefix: str) -> list[list[Any]]:
    """``count`` senders, each with a friend and a DM: ``[cookie header, conversation id]``."""
    items: list[list[Any]] = []
    cookie_name = "tidings_session"
    for k in range(count):
        clients = []
        for role in ("s", "r"):
            client = httpx.AsyncClient(base_url=url, timeout=30)
            response = await client.post(
                "/api/auth/register",
                json={"username": f"{prefix}{role}{k}", "password": PASSWORD},
            )
            response.raise_for_status()
            clients.append(client)
        sender, recipient = clients
        asked = await sender.post("/api/friends/request", json={"username": f"{prefix}r{k}"})
        asked.raise_for_status()
        request_id = asked.json()["request"]["id"]
        (await recipient.post(f"/api/friends/requests/{request_id}/accept")).raise_for_status()
        me = (await recipient.get("/api/auth/me")).json()["user"]["id"]
        dm = await sender.post("/api/conversations", json={"type": "direct", "user_id": me})
        dm.raise_for_status()
        items.append([f"{cookie_name}={sender.cookies.get(cookie_name)}", dm.json()["id"]])
        for client in clients:
            await client.aclose()
    return items


async def measure(nodes: int, clients: int, seconds: float, core: int | None) -> dict[str, Any]:
    await _reset_database(POSTGRES)
    port = procs.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": POSTGRES,
        "REDIS_URL": REDIS,
        "REDIS_PREFIX": f"bench-{os.getpid()}-{nodes}",
        "LOG_LEVEL": "warning",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "ARGON2_PARALLELISM": "1",
        "RATE_LIMIT_REGISTER": "1000000/second",
        "RATE_LIMIT_SEND": "1000000/second",
        "RATE_LIMIT_FRIEND_REQUEST": "1000000/second",
        "RATE_LIMIT_FRIEND_REQUEST_TARGET": "1000000/second",
        "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
    }
    command = [procs.python(), "-m", "tidings.cli", "cluster", "--nodes", str(nodes)]
    command += ["--port", str(port), "--base-port", str(procs.free_port() + 100)]
    cluster = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, {core})) if core is not None else None,
    )
    url = f"http://127.0.0.1:{port}"
    sender = LoadGen(None, "127.0.0.100")
    try:
        await _wait_healthy(url)
        items = await _pairs(url, clients, f"n{nodes}x")
        await sender.start()
        reply = await sender.call(
            "hammer",
            timeout=seconds + 90,
            host="127.0.0.1",
            port=port,
            clients=clients,
            duration_s=seconds,
            items=items,
        )
    finally:
        await sender.close()
        if cluster.returncode is None:
            cluster.send_signal(signal.SIGTERM)
            await asyncio.wait_for(cluster.wait(), 60)
    lat = sorted(x / 1000 for x in reply["lat_us"])
    return {
        "nodes": nodes,
        "clients": clients,
        "accepted": reply["ok"],
        "errors": reply["errors"],
        "per_s": reply["ok"] / reply["elapsed_s"],
        "p50_ms": statistics.median(lat) if lat else None,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] if lat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_writes", description=__doc__)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results/cluster_writes.md"))
    args = parser.parse_args()
    procs.install_reaper()
    server_core, load_core = procs.cores()
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})
    results = []
    try:
        for nodes in args.nodes:
            started = time.monotonic()
            results.append(asyncio.run(measure(nodes, args.clients, args.seconds, server_core)))
            print(f"{nodes} node(s): {json.dumps(results[-1])} ({time.monotonic() - started:.0f}s)")
    finally:
        procs.reap_all()
    lines = [
        "# Accepted messages/s on PostgreSQL, behind nginx (`python -m bench.cluster_writes`)",
        "",
        f"{args.clients} clients POST back to back for {args.seconds:.0f} s through nginx; the "
        "server processes pinned to one core, the load generator to the other; PostgreSQL, "
        "Redis and nginx unpinned (2 cores in all).",
        "",
        "| processes | accepted/s | errors | POST p50 | POST p99 |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['nodes']} | {r['per_s']:,.0f} | {r['errors']} | {r['p50_ms']:.1f} ms | "
            f"{r['p99_ms']:.1f} ms |"
        )
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
