"""Settings, read once from the environment (prefix-free names such as ``DATABASE_URL``)."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Literal

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
    """Failed sign-ins per username *and* client address per window: another address's
    failures never lock the owner out."""
    login_window_seconds: int = 300

    heartbeat_seconds: float = 30.0
    sse_retry_ms: int = 2000

    # Streams: memory per stream is bounded in bytes (README, "Limits and abuse").
    stream_buffer_bytes: int = 256 * 1024
    """Bytes of live events queued for one stream before it counts as too slow and is closed."""
    stream_write_timeout_seconds: float = 20.0
    """A stream whose client accepts no bytes for this long is cut off (it reconnects, replays)."""
    replay_page_events: int = 200
    replay_page_bytes: int = 64 * 1024
    """Replay and gap fill read the log in pages of at most this many events and bytes."""
    max_streams_per_user: int = 8
    """Open streams per user and process; opening one more closes that user's oldest."""
    stream_db_concurrency: int = 8
    """Streams opening, replaying or catching up that may use the database at once."""
    stream_open_queue: int = 1024
    """Stream opens waiting for the database beyond this are told to retry later."""
    stream_open_wait_seconds: float = 5.0
    """A stream open that waited this long for the database is told to retry later."""
    overload_retry_ms: int = 10_000
    """The ``retry:`` hint (jittered up to twice this) sent when a stream is shed."""

    # Connections (checked by the server itself, not only behind nginx).
    max_connections: int = 0
    """Open connections per process; 0: the open-file limit minus 100 (database, Redis, files)."""
    connection_reserve: int = 100
    """Connections kept free of streams for other requests: streams max out at the rest."""
    header_timeout_seconds: float = 10.0
    """A request's head (line and headers) must arrive within this, from connect or keep-alive."""
    body_timeout_seconds: float = 30.0
    """A request must send the whole body within this, counted from the end of its head (408
    otherwise; per route: ``BODY_TIMEOUTS_BY_PATH`` in ``middleware.py``)."""
    max_body_bytes: int = 64 * 1024
    """Largest request body (JSON routes); larger is refused with 413 before it is read."""
    keep_alive_seconds: float = 5.0
    trusted_proxies: str = ""
    """Comma-separated addresses (or CIDRs) whose X-Forwarded-For/-Proto are believed."""
    public_url: str = ""
    """Comma-separated origins the app is served at (``https://chat.example.org``); browser
    writes from any other origin are refused. Empty: the address the server listens on."""

    # Rate limits, shared by all processes through Redis when REDIS_URL is set
    # (syntax of the ``limits`` library: "10/hour", "30 per 10 seconds").
    rate_limit_register: str = "10/hour"
    """Registrations per client address."""
    rate_limit_send: str = "30/10 seconds"
    """Messages, edits, reactions and group changes per user and conversation (one budget)."""
    rate_limit_friend_request: str = "30/hour"
    """Friend requests per sender."""
    rate_limit_friend_request_target: str = "3/day"
    """Friend requests per sender and addressee."""
    friend_request_cooldown_seconds: int = 24 * 3600
    """After a decline, the sender may not ask the same person again for this long."""
    login_attempts_per_address: int = 50
    """Failed sign-ins per client address (any usernames) per window."""

    # Database under load.
    db_pool_timeout_seconds: float = 5.0
    """Waiting longer than this for a pooled connection (on SQLite, also for this process's
    turn to write) answers 503 instead."""
    sqlite_busy_timeout_ms: int = 5000
    """How long a SQLite write waits for a lock held by another process before 503."""
    postgres_lock_timeout_ms: int = 5000
    """How long a PostgreSQL statement waits for a row or table lock before 503 (without it, a
    lock held elsewhere, e.g. by a migration, would hold requests open indefinitely)."""

    # Attachments (``tidings/attachments``).
    max_upload_bytes: int = 25 * 1024 * 1024
    """Largest attachment (25 MiB): a larger upload is refused with 413 as soon as its
    Content-Length says so, or while it is read once it passes this."""
    upload_timeout_seconds: float = 600.0
    """An upload's whole body must arrive within this (408 otherwise)."""
    max_avatar_bytes: int = 10 * 1024 * 1024
    """Largest avatar upload (10 MiB; a user's or a group's): 413 past it."""
    max_image_pixels: int = 50_000_000
    """Larger images (width x height, from their header) are refused with 413 before decoding
    (a WebP: more than a fifth of it). A decode takes up to ~8 bytes per allowed pixel."""
    attachment_storage: Literal["auto", "directory", "database"] = "auto"
    """Where attachments' bytes are kept: ``directory`` (``ATTACHMENTS_DIR``), ``database`` (for
    several processes sharing no disk), or ``auto``: the database on PostgreSQL, else a
    directory."""
    attachments_dir: str = ""
    """The directory of the ``directory`` storage; empty: ``attachments/`` beside the SQLite
    database file (or in the working directory)."""
    attachment_orphan_seconds: int = 24 * 3600
    """Uploads not sent with a message within this are deleted (with their bytes, once no
    other attachment uses them)."""
    attachment_sweep_seconds: float = 3600.0
    """How often each process looks for such uploads."""
    rate_limit_upload: str = "100/hour"
    """Uploads per user."""
    rate_limit_search: str = "120/minute"
    """Message searches per user (searching as you type asks a few times per word)."""
    rate_limit_user_search: str = "300/minute"
    """Searches for people per user (the new-chat and add-friend dialogs ask as you type)."""
    rate_limit_block: str = "30/hour"
    """Blocks and unblocks per user: each one tells the other person's tabs (their DM closes
    or opens, presence), so toggling one in a loop would flood them."""
    rate_limit_attention: str = "120/minute"
    """Typing signals and activity reports per user (a tab sends one every few seconds while
    its person types; more is a script)."""

    # Presence (README, "Presence, typing and receipts").
    presence_grace_seconds: float = 15.0
    """A user whose last stream closed stays online this long: a reload, a flapping network
    or a reconnect storm within it announces nothing."""
    presence_away_seconds: float = 300.0
    """With streams open but no activity for this long, a user is away."""
    presence_hold_seconds: float = 60.0
    """How long a process's claim that a user has a stream there lasts unless renewed (every
    third of it): a process that dies stops counting after this."""
    presence_group_limit: int = 100
    """Members of conversations up to this size see each other's presence, typing and read
    receipts live; in larger groups presence and receipts are asked for, typing is not sent."""

    # Outgoing webhooks (``tidings/webhooks``; README, "Webhooks").
    webhook_retry_base_seconds: float = 2.0
    """A failed delivery is retried after this, doubling with each failure in a row (jittered)."""
    webhook_retry_max_seconds: float = 600.0
    """The longest wait between two attempts at one event."""
    webhook_timeout_seconds: float = 10.0
    """One delivery's whole request (connect, send, the answer) must fit in this."""
    webhook_lease_seconds: float = 60.0
    """A process delivers a webhook while it holds its lease (renewed while it works); a process
    that dies lets go of it after this, and another carries on from the cursor."""
    webhook_allow_private_addresses: bool = False
    """Deliver to addresses on this machine or a private network (loopback, private, link-local,
    shared, reserved): off, such URLs are refused (SSRF), checked at each delivery."""

    event_retention_seconds: int = 24 * 3600
    """How long the event log keeps events: a client away longer gets ``resync``."""
    prune_interval_seconds: float = 600.0
    static_releases_kept: int = Field(default=3, ge=0)
    """How many releases of the web client's static files the database keeps (the newest, by
    their last start; ``web/releases.py``), so that during a rolling deploy every process serves
    the other version's content-hashed URLs. 0: none kept (one version at a time); 1 keeps only
    the newest, which defeats rolling deploys."""
    session_cache_seconds: float = 300.0
    """How long a process serves a looked-up session from memory (0: look up every request).
    An ended session is dropped at once on every process; this bounds only other changes (none
    yet: a user's cached fields cannot change). Long enough that someone writing a message a
    minute is not looked up for each (at 10 s, most sends were: a read before every write)."""
    gc_sweep_seconds: float = 600.0
    """The garbage collector freezes what survives each full collection, and collects everything
    once per this interval (``tidings/collector.py``); 0: CPython's default collector."""
    gil_switch_interval_ms: float = 0.5
    """Python's thread switch interval (default 5 ms). The writer and query threads release the
    GIL in every SQLite call and must get it back from a busy event loop: at 5 ms, each of a
    write's statements could wait that long."""
    write_batch_max: int = 64
    """Most writes committed in one transaction (group commit)."""
    write_batch_wait_ms: float = 0.0
    """How long the writer waits for more writes before committing a batch: 0 takes what is
    queued when the previous batch ends (batches grow by themselves under load)."""
    sequencer_gap_wait_ms: float = 20.0
    """How long a process holds a batch that arrived before an earlier one, waiting for that
    one, before reading it from the log (another process published later, or died)."""

    auto_migrate: bool = True
    """Create or upgrade the schema on startup (Alembic)."""

    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def connection_limit(self) -> int:
        """Open connections this process accepts (``max_connections``, or from the file limit)."""
        if self.max_connections > 0:
            return self.max_connections
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return max(2 * self.connection_reserve, soft - 100)

    @property
    def stream_limit(self) -> int:
        """Open streams this process holds: the connection limit less the reserve."""
        return max(1, self.connection_limit - self.connection_reserve)
