"""The rate limiter fails open: with its Redis gone, requests go through instead of failing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api_helpers import assert_error
from tests.support.server import LiveServer
from tests.support.services import TcpProxy, require_redis
from tests.support.settings import make_settings, reset_postgres


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    relay = await TcpProxy.to_url(await require_redis()).start()
    yield relay
    await relay.close()


async def test_registration_goes_through_when_the_limiters_redis_is_unreachable(
    tmp_path: Path, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
):
    redis_url = await require_redis()
    settings = make_settings(
        tmp_path, redis_url=proxy.url_through(redis_url), rate_limit_register="1/hour"
    )
    if settings.database_url.startswith("postgresql"):
        await reset_postgres(settings.database_url)
    server = LiveServer(settings)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

            async def register(username: str) -> httpx.Response:
                body = {"username": username, "password": "correct horse battery"}
                return await client.post("/api/auth/register", json=body)

            assert (await register("ann")).status_code == 201
            assert_error(await register("ben"), 429, "rate_limited")  # Redis counts
            proxy.cut()
            with caplog.at_level(logging.WARNING, logger="tidings.ratelimit"):
                assert (await register("ben")).status_code == 201  # not a 500: fail open
            assert "rate limits are not enforced" in caplog.text
    finally:
        await server.stop()
