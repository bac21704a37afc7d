"""Settings, read once from the environment (prefix-free names such as ``DATABASE_URL``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'tidings.db'}"


class Settings(BaseSettings):
    """Everything an operator can set. Passed to ``create_app``; never read at import time."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = Field(default_factory=_default_database_url)
    """SQLAlchemy async URL: ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``."""

    redis_url: str | None = None
    """When set, events travel between server processes through Redis pub/sub."""
    redis_prefix: str = "tidings"
    """Namespace of the Redis channels, so several deployments can share one Redis."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    session_cookie_name: str = "tidings_session"
    session_ttl_seconds: int = 30 * 24 * 3600
    cookie_secure: bool = False
    """Set on deployments served over HTTPS so the session cookie is never sent in clear."""

    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 4

    login_attempts_per_window: int = 10
    login_window_seconds: int = 300

    heartbeat_seconds: float = 30.0
    sse_retry_ms: int = 2000
    stream_buffer_events: int = 1000
    """Events queued for one stream before it counts as too slow and is closed."""

    event_retention_seconds: int = 24 * 3600
    event_retention_per_user: int = 1000
    prune_interval_seconds: float = 600.0

    auto_migrate: bool = True
    """Create or upgrade the schema on startup (Alembic)."""

    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
