"""The application factory and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tidings import __version__
from tidings.accounts.passwords import make_hasher
from tidings.accounts.routes import router as accounts_router
from tidings.accounts.sessions import SessionCache
from tidings.accounts.streams import AccountStreamSessions
from tidings.bootstrap import router as bootstrap_router
from tidings.collector import SurvivorFreezer
from tidings.config import Settings
from tidings.context import AppContext
from tidings.conversations.routes import plain_routes as conversation_plain_routes
from tidings.conversations.routes import router as conversations_router
from tidings.db import Database
from tidings.deps import ContextDep
from tidings.errors import install_error_handlers
from tidings.events import CONTROL_EVENT_TYPES, EVENT_TYPES
from tidings.friends.routes import router as friends_router
from tidings.middleware import (
    RequestBodyLimitMiddleware,
    RequestMetricsMiddleware,
    SameOriginWritesMiddleware,
    SecurityHeadersMiddleware,
)
from tidings.migrations import upgrade_to_head
from tidings.notifications.routes import router as notifications_router
from tidings.ratelimit import RateLimiter
from tidings.realtime import log
from tidings.realtime.gate import StreamGate
from tidings.realtime.hub import Hub, broker_from_url
from tidings.realtime.metrics import Metrics
from tidings.realtime.stream import EventStream
from tidings.realtime.writer import Writer
from tidings.server import end_streams_on_shutdown_signals
from tidings.web.routes import mount_web

logger = logging.getLogger(__name__)
EVENTS_PATH = "/api/events"


async def build_context(settings: Settings, metrics: Metrics | None = None) -> AppContext:
    """Open the database (migrating it if allowed) and start the hub."""
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
    )


async def close_context(ctx: AppContext) -> None:
    await ctx.writer.stop()
    await ctx.hub.stop()
    await ctx.limiter.close()
    await ctx.db.dispose()


async def _prune_periodically(ctx: AppContext) -> None:
    while True:
        await asyncio.sleep(ctx.settings.prune_interval_seconds)
        try:
            # Not through the writer: two transactions of their own, the floor first (briefly
            # holding the log's head row, which every write takes last), then the deletes.
            max_age = timedelta(seconds=ctx.settings.event_retention_seconds)
            async with ctx.db.write() as session:
                cutoff = await session.run_sync(log.raise_floor, max_age=max_age)
            deleted = 0
            if cutoff is not None:
                async with ctx.db.write() as session:
                    deleted = await session.run_sync(log.delete_below, cutoff)
            if deleted:
                logger.info("pruned %d old events", deleted)
        except Exception:
            logger.exception("pruning the event log failed")


def _events_openapi(schema: dict[str, Any]) -> None:
    """Document the event stream, which is a plain ASGI route FastAPI cannot describe."""
    schema["paths"][EVENTS_PATH] = {
        "get": {
            "tags": ["realtime"],
            "summary": "Server-Sent Events stream of your events",
            "description": (
                f"One stream per tab. Frames carry `id`, `event` ({', '.join(EVENT_TYPES)}, and "
                f"the control events {' and '.join(CONTROL_EVENT_TYPES)}) and one-line JSON "
                "`data`. Resume with the "
                "`Last-Event-ID` header or the `last_event_id` query parameter. The stream ends "
                "when its session ends (logout, password change: reconnecting then gets 401). "
                "When the server is at a limit it answers 200 with only a `retry:` hint and ends, "
                "so that the browser comes back later."
            ),
            "operationId": "events_stream",
            "parameters": [
                {
                    "name": "last_event_id",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                },
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "401": {
                    "description": "Not signed in",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                    },
                },
            },
        }
    }


class TidingsApp(FastAPI):
    """FastAPI, with ``GET /api/events`` served in front of the middleware stack.

    A stream lives for hours, and every middleware layer above it keeps a suspended frame, its
    closures and a ``send`` wrapper for that long (~5 KiB per stream, measured in bench/). None
    of them has anything to do for the stream: CSRF checks are for writes, the latency metric
    skips it, and it sets its own headers.
    """

    event_stream = EventStream(AccountStreamSessions())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == EVENTS_PATH:
            scope["app"] = self
            await self.event_stream(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. Nothing is opened until the lifespan starts."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await build_context(settings, metrics)
        app.state.ctx = ctx
        end_streams_on_shutdown_signals(asyncio.get_running_loop())
        tasks = [asyncio.create_task(_prune_periodically(ctx), name="tidings-prune")]
        freezer = SurvivorFreezer()
        if settings.gc_sweep_seconds > 0:
            freezer.install()
            tasks.append(
                asyncio.create_task(
                    freezer.sweep_periodically(settings.gc_sweep_seconds), name="tidings-gc"
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            freezer.uninstall()
            await close_context(ctx)

    app = TidingsApp(
        title="Tidings",
        version=__version__,
        description="Self-hosted real-time social messaging: REST API plus one SSE stream per tab.",
        lifespan=lifespan,
    )
    # Only reached for methods other than GET (405): TidingsApp serves GET itself.
    app.router.routes.append(Route(EVENTS_PATH, app.event_stream, methods=["GET"]))
    # The plain routes first, so that they are matched before their FastAPI declarations.
    app.router.routes.extend(conversation_plain_routes)
    for router in (
        accounts_router,
        friends_router,
        conversations_router,
        notifications_router,
        bootstrap_router,
    ):
        app.include_router(router)

    @app.get("/api/health", tags=["operations"])
    async def health(ctx: ContextDep) -> JSONResponse:
        """Liveness and database reachability."""
        try:
            async with ctx.db.query_session() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "streams": ctx.hub.subscriber_count()})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    mount_web(app)
    install_error_handlers(app)
    app.add_middleware(
        RequestBodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, stream_path=EVENTS_PATH)
    app.add_middleware(SameOriginWritesMiddleware, public_url=settings.public_url)
    app.add_middleware(SecurityHeadersMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            _events_openapi(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory tidings.app:create_app_from_env``."""
    return create_app(Settings())
