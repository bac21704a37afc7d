"""``GET /api/events`` mounted on the app: served in front of its middleware, documented in its
OpenAPI, and any other method answered 405 like every route.

A stream lives for hours, and every middleware layer above it keeps a suspended frame, its
closures and a ``send`` wrapper for that long (~5 KiB per stream, measured in bench/). None of
them has anything to do for the stream: CSRF checks are for writes, the latency metric skips
it, and it sets its own headers. So ``mount_event_stream`` puts the stream in front of the
stack the app builds (``build_middleware_stack``), where it answers its own errors as JSON
(``EventStream``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.realtime.events import durable_event_types
from tidings.realtime.stream import CONTROL_EVENT_TYPES, EventStream, StreamSessions

EVENTS_PATH = "/api/events"


class _StreamInFront:
    """The app's middleware stack, with ``GET /api/events`` taken before it."""

    def __init__(self, stream: EventStream, stack: ASGIApp) -> None:
        self.stream = stream
        self.stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == EVENTS_PATH:
            await self.stream(scope, receive, send)
        else:
            await self.stack(scope, receive, send)


def mount_event_stream(app: FastAPI, sessions: StreamSessions) -> EventStream:
    """Serve the event stream on ``app`` (``sessions``: who a request's session belongs to)."""
    stream = EventStream(sessions)
    # In the route table for the other methods: HEAD (which Starlette adds to a GET route:
    # the headers, opening nothing) and, for the rest, a 405 with the table's Allow header.
    app.router.routes.append(Route(EVENTS_PATH, stream, methods=["GET"]))
    build_stack = app.build_middleware_stack

    def build_with_stream_in_front() -> ASGIApp:
        return _StreamInFront(stream, build_stack())

    app.build_middleware_stack = build_with_stream_in_front  # type: ignore[method-assign]
    _document(app)
    return stream


def _document(app: FastAPI) -> None:
    """Add the stream to the app's OpenAPI document (a plain ASGI route FastAPI cannot describe)."""
    build_schema: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build_schema()
            schema["paths"][EVENTS_PATH] = _operation()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _operation() -> dict[str, Any]:
    return {
        "get": {
            "tags": ["realtime"],
            "summary": "Server-Sent Events stream of your events",
            "description": (
                f"One stream per tab. Frames carry `id`, `event` "
                f"({', '.join(durable_event_types())}, and the control events "
                f"{' and '.join(CONTROL_EVENT_TYPES)}) and one-line JSON `data`. Resume with the "
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
                    "name": "user",
                    "in": "query",
                    "required": False,
                    "description": "The user the opening page is for (the web client's "
                    "`Tidings-User`, which an EventSource cannot send as a header): a session "
                    "of someone else is 401 `session_changed`.",
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
