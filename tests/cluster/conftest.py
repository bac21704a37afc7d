"""Fixtures for tests that run several real ``tidings serve`` processes.

They always use the machine's PostgreSQL (database ``tidings_test_cluster``, created if missing
and reset per test) and Redis (a channel prefix per test), whichever configuration the rest of
the suite runs in. Without those services they skip with the reason, or fail where
``TIDINGS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import pytest

from tests.cluster.support import Cluster
from tests.support.services import require_postgres, require_redis

CLUSTER_DATABASE = "tidings_test_cluster"

StartCluster = Callable[..., Awaitable[Cluster]]


@pytest.fixture
async def services() -> tuple[str, str]:
    """(PostgreSQL URL of this suite's own database, Redis URL)."""
    return await require_postgres(CLUSTER_DATABASE), await require_redis()


@pytest.fixture
async def start_cluster(services: tuple[str, str], tmp_path: Path) -> AsyncIterator[StartCluster]:
    """``cluster = await start_cluster(3)``: processes stopped (or killed) after the test."""
    database_url, redis_url = services
    clusters: list[Cluster] = []

    async def start(
        count: int,
        *,
        redis_urls: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Cluster:
        cluster = Cluster(database_url, redis_url, tmp_path)
        clusters.append(cluster)
        return await cluster.start(count, redis_urls=redis_urls, env=env)

    yield start
    for cluster in clusters:
        await cluster.stop()
        print(cluster.logs())  # shown by pytest when the test failed
