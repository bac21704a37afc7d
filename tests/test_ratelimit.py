"""The rate limiter never goes unlimited: with its Redis gone, each process counts in its own
memory until Redis answers again; only storage errors are caught. Per-address limits key an
IPv6 client by its /64."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import fields
from pathlib import Path

import httpx
import pytest
from limits import parse
from limits.aio.storage import RedisStorage

from tests.api_helpers import assert_error
from tests.support.server import LiveServer
from tests.support.services import TcpProxy, require_redis
from tests.support.settings import make_settings, reset_postgres
from tidings.ratelimit import Limit, Limits, RateLimiter, address_key


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    relay = await TcpProxy.to_url(await require_redis()).start()
    yield relay
    await relay.close()


async def test_limits_are_counted_per_process_while_the_limiters_redis_is_unreachable(
    tmp_path: Path, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
):
    redis_url = await require_redis()
    settings = make_settings(
        tmp_path,
        redis_url=proxy.url_through(redis_url),
        rate_limit_register="1/hour",
        login_attempts_per_address=2,
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

            async def wrong_login(username: str) -> httpx.Response:
                body = {"username": username, "password": "wrong password"}
                return await client.post("/api/auth/login", json=body)

            assert (await register("ann")).status_code == 201
            assert_error(await register("ben"), 429, "rate_limited")  # Redis counts
            proxy.cut()
            with caplog.at_level(logging.WARNING, logger="tidings.ratelimit"):
                # Not a 500, and not unlimited: this process counts from zero, alone.
                assert (await register("ben")).status_code == 201
                assert_error(await register("cat"), 429, "rate_limited")
                for name in ("x1", "x2"):
                    assert_error(await wrong_login(name), 401, "invalid_credentials")
                assert_error(await wrong_login("x3"), 429, "rate_limited")
            assert "rate limits are counted in this process only" in caplog.text

            # Redis back (and the fallback period over, without waiting it out): Redis counts
            # again, with what it counted before the outage.
            proxy.restore()
            server.ctx.limiter._fallback_until = 0.0
            with caplog.at_level(logging.WARNING, logger="tidings.ratelimit"):
                assert_error(await register("dan"), 429, "rate_limited")
            assert "rate limits are shared again" in caplog.text
            assert proxy.connections_made >= 2
    finally:
        await server.stop()


async def test_a_programming_error_in_the_limiter_is_not_taken_for_a_redis_outage():
    redis_url = await require_redis()
    storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="t-bug")
    limit = Limit("test", parse("1/hour"))
    limiter = RateLimiter(storage, Limits(*(limit,) * len(fields(Limits))))

    async def broken(*_args: object, **_kwargs: object) -> bool:
        raise TypeError("a bug")

    storage.acquire_entry = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(TypeError, match="a bug"):
            await limiter.hit(limit, "key", detail="refused")
        assert not limiter._failing
    finally:
        await limiter.close()


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::1", "::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_address_key_is_the_ipv4_address_or_the_ipv6_64(address: str, key: str):
    assert address_key(address) == key


def test_two_addresses_in_one_ipv6_64_share_a_key_and_other_64s_do_not():
    assert address_key("2001:db8:a:b:1::1") == address_key("2001:db8:a:b:9:8:7:6")
    assert address_key("2001:db8:a:b::1") != address_key("2001:db8:a:c::1")
    assert address_key("198.51.100.1") != address_key("198.51.100.2")
