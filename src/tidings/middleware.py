"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and slow the event stream)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.errors import error_response
from tidings.realtime.metrics import Metrics

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SameOriginWritesMiddleware:
    """Refuse state-changing requests that a browser sent from another site (CSRF).

    Browsers send ``Sec-Fetch-Site`` and/or ``Origin``. A request with neither comes from a
    non-browser client, which holds its own cookie rather than riding on a browser's, so it passes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if not self._same_origin(headers):
                response = error_response(
                    403, "Cross-site requests are not allowed.", "cross_site_request"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _same_origin(headers: Headers) -> bool:
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = headers.get("origin")
        if origin is None:
            return True
        host = headers.get("host")
        return origin != "null" and host is not None and urlsplit(origin).netloc == host


class SecurityHeadersMiddleware:
    """A Content-Security-Policy without inline scripts, and friends, on every response."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.extra = [
            (b"content-security-policy", self.CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestMetricsMiddleware:
    """Latency of every request but the event stream (whose duration is its lifetime)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, stream_path: str) -> None:
        self.app = app
        self.metrics = metrics
        self.stream_path = stream_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == self.stream_path:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.request_latency.labels(scope["method"], path).observe(
                time.perf_counter() - start
            )
