"""A PostgreSQL + Redis process killed (SIGKILL) while batches of writes are in flight loses no
write it answered 201, and their events replay after the restart (the SQLite case is in
tests/realtime/test_writer.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cluster.support import node_env
from tests.realtime.test_writer import killed_mid_batch_loses_nothing_answered
from tests.support.settings import reset_postgres


async def test_a_process_killed_mid_batch_loses_no_answered_write_postgres(
    services: tuple[str, str], tmp_path: Path
):
    database_url, redis_url = services
    await reset_postgres(database_url)
    env = node_env(database_url, redis_url, f"test-{uuid.uuid4().hex[:10]}")
    await killed_mid_batch_loses_nothing_answered(env, tmp_path / "server.log")
