"""The per-app services that routes and actions need, built once in the lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from argon2 import PasswordHasher

from tidings.accounts.passwords import make_hasher
from tidings.accounts.sessions import SessionCache
from tidings.attachments.storage import BlobStore, open_store
from tidings.config import Settings
from tidings.db import Database
from tidings.migrations import upgrade_to_head
from tidings.presence.tracker import PresenceConfig, PresenceTracker
from tidings.ratelimit import RateLimiter
from tidings.realtime import log
from tidings.realtime.gate import StreamGate
from tidings.realtime.hub import Hub, broker_from_url
from tidings.realtime.metrics import Metrics
from tidings.realtime.writer import Writer
from tidings.webhooks.delivery import WebhookDispatcher

logger = logging.getLogger(__name__)

STOP_SECONDS = 8.0
"""How long one service may take to stop before shutdown goes on without it (logged)."""


@dataclass(slots=True)
class AppContext:
    settings: Settings
    db: Database
    hub: Hub
    sessions: SessionCache
    writer: Writer
    metrics: Metrics
    password_hasher: PasswordHasher
    limiter: RateLimiter
    stream_gate: StreamGate
    attachment_store: BlobStore
    presence: PresenceTracker
    webhooks: WebhookDispatcher


async def build_context(settings: Settings, metrics: Metrics | None = None) -> AppContext:
    """Open the database (migrating it if allowed), start the hub and the writer."""
    metrics = metrics or Metrics()
    db = Database(
        settings.database_url,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        postgres_lock_timeout_ms=settings.postgres_lock_timeout_ms,
    )
    if settings.auto_migrate:
        await upgrade_to_head(db.write_engine)
    hub = Hub(
        broker_from_url(settings.redis_url, prefix=settings.redis_prefix),
        metrics=metrics,
        buffer_bytes=settings.stream_buffer_bytes,
        heartbeat_seconds=settings.heartbeat_seconds,
        max_streams_per_user=settings.max_streams_per_user,
        write_timeout_seconds=settings.stream_write_timeout_seconds,
        log=log.DatabaseLog(db),
        gap_wait_seconds=settings.sequencer_gap_wait_ms / 1000,
    )
    await hub.start()
    writer = Writer(
        db,
        hub,
        batch_max=settings.write_batch_max,
        batch_wait_seconds=settings.write_batch_wait_ms / 1000,
        queue_timeout_seconds=settings.db_pool_timeout_seconds,
    )
    await writer.start()
    sessions = SessionCache(settings.session_cache_seconds)
    hub.sessions_ended_listeners.append(sessions.sessions_ended)
    hub.users_changed_listeners.append(sessions.users_changed)
    presence = PresenceTracker.for_deployment(
        settings.redis_url,
        settings.redis_prefix,
        hub,
        db,
        PresenceConfig(
            grace_seconds=settings.presence_grace_seconds,
            away_seconds=settings.presence_away_seconds,
            hold_seconds=settings.presence_hold_seconds,
            group_limit=settings.presence_group_limit,
        ),
        metrics,
    )
    await presence.start()
    webhooks = WebhookDispatcher(db, writer, hub, settings, metrics)
    await webhooks.start()
    metrics.db_queries.set_function(lambda: db.query_count)
    metrics.write_batches.set_function(lambda: writer.batches)
    metrics.writes.set_function(lambda: writer.actions)
    return AppContext(
        settings=settings,
        db=db,
        hub=hub,
        sessions=sessions,
        writer=writer,
        metrics=metrics,
        password_hasher=make_hasher(settings),
        limiter=RateLimiter.from_settings(settings),
        stream_gate=StreamGate(
            settings.stream_db_concurrency,
            settings.stream_open_queue,
            settings.stream_open_wait_seconds,
        ),
        attachment_store=open_store(settings, db),
        presence=presence,
        webhooks=webhooks,
    )


async def close_context(ctx: AppContext) -> None:
    """Stop webhook deliveries (they write), the writer (its queued writes first), presence,
    the hub, the limiter, the attachment store and the database. Each gets a bounded time:
    a service stuck on the network or a lock is named in the log and the rest still stop."""
    webhook_seconds = ctx.settings.webhook_timeout_seconds + STOP_SECONDS
    await _stop_within("webhook deliveries", ctx.webhooks.stop(), webhook_seconds)
    await _stop_within("writer", ctx.writer.stop(), 2 * STOP_SECONDS)
    await _stop_within("presence", ctx.presence.stop())
    await _stop_within("hub", ctx.hub.stop())
    await _stop_within("rate limiter", ctx.limiter.close())
    await _stop_within("attachment store", ctx.attachment_store.close())
    await _stop_within("database", ctx.db.dispose())


async def _stop_within(name: str, stopping: Awaitable[None], seconds: float = STOP_SECONDS) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stopping
    except TimeoutError:
        logger.error(
            "shutdown: the %s did not stop within %.0f s; going on without it", name, seconds
        )
    except Exception:
        logger.exception("shutdown: stopping the %s failed", name)
