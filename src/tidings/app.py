"""The application factory and its lifespan: the app's routes, middleware and services."""

from __future__ import annotations

import asyncio
import contextlib
from collections import ChainMap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

import tidings.events  # noqa: F401  (registers every domain's events: the stream's OpenAPI lists them)
from tidings import __version__
from tidings.accounts.profile_routes import AVATAR_UPLOAD_PATH
from tidings.accounts.profile_routes import router as profiles_router
from tidings.accounts.routes import router as accounts_router
from tidings.accounts.streams import AccountStreamSessions
from tidings.attachments import actions as attachment_actions
from tidings.attachments.routes import UPLOAD_PATH
from tidings.attachments.routes import router as attachments_router
from tidings.blocks.routes import router as blocks_router
from tidings.bootstrap import router as bootstrap_router
from tidings.bots.routes import router as bots_router
from tidings.collector import SurvivorFreezer
from tidings.config import Settings
from tidings.context import build_context, close_context
from tidings.conversations.attention_routes import router as attention_router
from tidings.conversations.group_routes import GROUP_AVATAR_PATH
from tidings.conversations.group_routes import router as groups_router
from tidings.conversations.mute_routes import router as mute_router
from tidings.conversations.routes import plain_routes as conversation_plain_routes
from tidings.conversations.routes import router as conversations_router
from tidings.errors import install_error_handlers
from tidings.friends.routes import router as friends_router
from tidings.middleware import (
    BODY_LIMITS_BY_PATH,
    BODY_TIMEOUTS_BY_PATH,
    RequestBodyLimitMiddleware,
    RequestMetricsMiddleware,
    SameOriginWritesMiddleware,
    SecurityHeadersMiddleware,
)
from tidings.notifications.routes import router as notifications_router
from tidings.openapi import document_security
from tidings.operations import router as operations_router
from tidings.presence.routes import router as presence_router
from tidings.realtime import log
from tidings.realtime.endpoint import EVENTS_PATH, mount_event_stream
from tidings.realtime.metrics import Metrics
from tidings.search.routes import router as search_router
from tidings.server import end_streams_on_shutdown_signals
from tidings.tokens.routes import router as tokens_router
from tidings.web.assets import manifest
from tidings.web.releases import publish_release
from tidings.web.routes import mount_web
from tidings.webhooks.routes import router as webhooks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. Nothing is opened until the lifespan starts."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await build_context(settings, metrics)
        app.state.ctx = ctx
        end_streams_on_shutdown_signals(asyncio.get_running_loop())
        pruning = log.prune_periodically(
            ctx.db,
            every_seconds=settings.prune_interval_seconds,
            max_age=timedelta(seconds=settings.event_retention_seconds),
        )
        tasks = [asyncio.create_task(pruning, name="tidings-prune")]
        sweeping_attachments = attachment_actions.sweep_periodically(
            ctx, every_seconds=settings.attachment_sweep_seconds
        )
        tasks.append(asyncio.create_task(sweeping_attachments, name="tidings-attachments"))
        freezer = SurvivorFreezer()
        if settings.gc_sweep_seconds > 0:
            freezer.install()
            sweeping = freezer.sweep_periodically(settings.gc_sweep_seconds)
            tasks.append(asyncio.create_task(sweeping, name="tidings-gc"))
        try:
            # This release's static files, for the other release's processes in a rolling deploy.
            await publish_release(ctx.db, manifest(), settings.static_releases_kept)
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            freezer.uninstall()
            await close_context(ctx)

    app = FastAPI(
        title="Tidings",
        version=__version__,
        description="Self-hosted real-time social messaging: REST API plus one SSE stream per tab.",
        lifespan=lifespan,
    )
    mount_event_stream(app, AccountStreamSessions())
    _document_security(app)
    # The plain routes first, so that they are matched before their FastAPI declarations.
    app.router.routes.extend(conversation_plain_routes)
    for router in (
        accounts_router,
        profiles_router,
        friends_router,
        blocks_router,
        conversations_router,
        groups_router,
        mute_router,
        attention_router,
        presence_router,
        tokens_router,
        bots_router,
        webhooks_router,
        notifications_router,
        attachments_router,
        search_router,
        bootstrap_router,
        operations_router,
    ):
        app.include_router(router)
    mount_web(app)
    install_error_handlers(app)
    app.add_middleware(
        RequestBodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        # Uploads: their own size limit (enforced while reading) and time for the whole body,
        # in front of the module's tables (a view of them: what is added there still counts).
        limits_by_path=ChainMap(
            {
                UPLOAD_PATH: settings.max_upload_bytes,
                AVATAR_UPLOAD_PATH: settings.max_avatar_bytes,
                GROUP_AVATAR_PATH: settings.max_avatar_bytes,
            },
            BODY_LIMITS_BY_PATH,
        ),
        timeouts_by_path=ChainMap(
            {UPLOAD_PATH: settings.upload_timeout_seconds}, BODY_TIMEOUTS_BY_PATH
        ),
    )
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics, stream_path=EVENTS_PATH)
    app.add_middleware(SameOriginWritesMiddleware, public_url=settings.public_url)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory tidings.app:create_app_from_env``."""
    return create_app(Settings())


def _document_security(app: FastAPI) -> None:
    """The bearer token and the session cookie, in the OpenAPI document."""
    build_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_security(build_schema())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
