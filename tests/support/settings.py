"""Settings for tests: a fresh SQLite file, cheap argon2, short timers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tidings.config import Settings

FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost_kib": 8, "argon2_parallelism": 1}


def postgres_url() -> str | None:
    return os.environ.get("TIDINGS_TEST_POSTGRES_URL")


def redis_url() -> str | None:
    return os.environ.get("TIDINGS_TEST_REDIS_URL")


def test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}",
        "redis_url": None,
        "heartbeat_seconds": 30.0,
        "log_level": "warning",
        **FAST_HASHING,
    }
    values.update(overrides)
    return Settings(**values)
