"""Rate limits are shared by every process through Redis: N processes do not allow N times as
much. Two real ``tidings serve`` processes on one SQLite file and one Redis."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.cluster.support import node_env
from tests.support.server import ServerProcess
from tests.support.services import require_redis


async def test_two_processes_sharing_a_redis_share_the_registration_limit(tmp_path: Path):
    redis_url = await require_redis()
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    env = node_env(
        f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}",
        redis_url,
        prefix,
        RATE_LIMIT_REGISTER="3/hour",
    )
    first = ServerProcess(env, log=tmp_path / "node0.log")
    second = ServerProcess(env, log=tmp_path / "node1.log")
    await first.start()  # migrates the file; then the second finds it ready
    await second.start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:

            async def register(node: ServerProcess, username: str) -> httpx.Response:
                body = {"username": username, "password": "correct horse battery"}
                return await client.post(f"{node.url}/api/auth/register", json=body)

            assert (await register(first, "ann")).status_code == 201
            assert (await register(second, "ben")).status_code == 201
            assert (await register(first, "cat")).status_code == 201
            for node in (second, first):  # 3 in all, whichever process counted them
                response = await register(node, "dan")
                assert response.status_code == 429, response.text
                assert response.json()["code"] == "rate_limited"
                assert 1 <= int(response.headers["retry-after"]) <= 3600

        redis = Redis.from_url(redis_url)
        try:  # the counters live under this deployment's prefix
            assert await redis.keys(f"{prefix}:ratelimit:*")
        finally:
            await redis.aclose()
    finally:
        for node in (first, second):
            node.terminate()
        for node in (first, second):
            await node.wait(20)
        print((tmp_path / "node0.log").read_text(), (tmp_path / "node1.log").read_text())
