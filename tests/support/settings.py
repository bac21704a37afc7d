"""Settings for tests: a fresh SQLite file, cheap argon2, short timers."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tidings.config import Settings

FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost_kib": 8, "argon2_parallelism": 1}
GENEROUS_LIMITS = {
    "rate_limit_register": "1000000/second",
    "rate_limit_send": "1000000/second",
    "rate_limit_friend_request": "1000000/second",
    "rate_limit_friend_request_target": "1000000/second",
    "rate_limit_search": "1000000/second",
    "rate_limit_user_search": "1000000/second",
    "rate_limit_attention": "1000000/second",
    "rate_limit_block": "1000000/second",
    "friend_request_cooldown_seconds": 0,
}
"""Rate limits no behaviour test reaches; tests of the limits set strict ones (settings marker).
The sign-in limits keep their defaults: tests of sign-in read them from the settings."""


def postgres_url() -> str | None:
    """The test database's URL; under pytest-xdist, a database of each worker's own (the
    configured name with ``_gw0``, ``_gw1``... appended: ``reset_postgres`` creates it)."""
    url = os.environ.get("TIDINGS_TEST_POSTGRES_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url and worker:
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=f"{parts.path}_{worker}"))
    return url


def redis_url() -> str | None:
    return os.environ.get("TIDINGS_TEST_REDIS_URL")


def backend() -> str:
    """Which configuration the suite runs in: ``sqlite-memory`` (default) or ``postgres-redis``."""
    return os.environ.get("TIDINGS_TEST_BACKEND", "sqlite-memory")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test's server, in the configuration this run is for.

    On PostgreSQL the database must have been reset by the caller (see ``reset_postgres``).
    """
    if backend() == "postgres-redis":
        database_url, broker_url = postgres_url(), redis_url()
        assert database_url and broker_url, "postgres-redis needs both test service URLs"
    else:
        database_url, broker_url = f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}", None
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": broker_url,
        "redis_prefix": f"test-{uuid.uuid4().hex[:10]}",
        "heartbeat_seconds": 30.0,
        "log_level": "warning",
        # The test process hosts one app after another: the collector's policy (a collection
        # and a freeze at each start) has its own tests, and subprocess servers keep it.
        "gc_sweep_seconds": 0,
        **FAST_HASHING,
        **GENEROUS_LIMITS,
    }
    values.update(overrides)
    return Settings(**values)


async def reset_postgres(url: str) -> None:
    """Empty the test database: drop and recreate its public schema."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:  # a worker's own database, on its first use
        parts = urlsplit(dsn)
        server = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await server.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')
        finally:
            await server.close()
        connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def child_server_env(tmp_path: Path, log_level: str = "warning", **extra: str) -> dict[str, str]:
    """The environment of a ``tidings serve`` child process (``ServerProcess``) for this test
    run's backend, with cheap hashing; ``extra`` settings by name (``sse_retry_ms="100"`` or
    ``SSE_RETRY_MS="100"``)."""
    settings = make_settings(tmp_path)
    env = {
        "DATABASE_URL": settings.database_url,
        "ARGON2_TIME_COST": str(settings.argon2_time_cost),
        "ARGON2_MEMORY_COST_KIB": str(settings.argon2_memory_cost_kib),
        "ARGON2_PARALLELISM": str(settings.argon2_parallelism),
        "REDIS_PREFIX": settings.redis_prefix,
        "GC_SWEEP_SECONDS": "0",
        "LOG_LEVEL": log_level,
        **{key.upper(): str(value) for key, value in GENEROUS_LIMITS.items()},
        **{key.upper(): value for key, value in extra.items()},
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env
