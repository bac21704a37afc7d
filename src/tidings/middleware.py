"""Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and slow the event stream)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.errors import error_response
from tidings.realtime.metrics import Metrics

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


Origin = tuple[str, str, int]
"""(scheme, host, port): what makes two origins the same."""
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_origin(value: str) -> Origin | None:
    """``https://Example.org`` -> ("https", "example.org", 443); None if it is not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def configured_origins(public_url: str) -> frozenset[Origin]:
    """The origins in ``PUBLIC_URL`` (comma-separated); an entry that is not one is an error."""
    origins = set()
    for entry in filter(None, (part.strip() for part in public_url.split(","))):
        origin = parse_origin(entry)
        if origin is None:
            raise ValueError(f"PUBLIC_URL: {entry!r} is not an http(s) origin")
        origins.add(origin)
    return frozenset(origins)


def listening_origins(scope: Scope) -> frozenset[Origin]:
    """The address this connection reached (``scope["server"]``), loopback names as aliases."""
    server = scope.get("server")
    if not server or server[1] is None:
        return frozenset()
    host, port = str(server[0]).lower(), int(server[1])
    scheme = "https" if scope.get("scheme") == "https" else "http"
    hosts = LOOPBACK_NAMES if host in LOOPBACK_NAMES else {host}
    return frozenset((scheme, name, port) for name in hosts)


class SameOriginWritesMiddleware:
    """Refuse state-changing requests that a browser sent from another site (CSRF).

    Browsers send ``Sec-Fetch-Site``, which pages cannot forge: only same-origin (or typed by
    the user) passes. Older browsers send only ``Origin``: its scheme, host and port must be one
    of ``PUBLIC_URL``'s origins, or, when that is empty, the address the server listens on. The
    ``Host`` header is never the reference: whoever forges the request chooses it too. A request
    with neither header comes from a non-browser client, which holds its own cookie rather than
    riding on a browser's, so it passes. So does one with ``Authorization: Bearer``: a page of
    another site cannot make a browser send that header with a token it does not know, and a
    request with one is judged by its token alone, never by the cookie (``accounts/deps.py``).
    """

    def __init__(self, app: ASGIApp, public_url: str = "") -> None:
        self.app = app
        self.public_origins = configured_origins(public_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            bearer = headers.get("authorization", "")[:7].lower() == "bearer "
            if not bearer and not self._same_origin(headers, scope):
                response = error_response(
                    403, "Cross-site requests are not allowed.", "cross_site_request"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _same_origin(self, headers: Headers, scope: Scope) -> bool:
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site in ("same-origin", "none")
        value = headers.get("origin")
        if value is None:
            return True
        origin = parse_origin(value)
        allowed = self.public_origins or listening_origins(scope)
        return origin is not None and origin in allowed


class SecurityHeadersMiddleware:
    """A Content-Security-Policy without inline scripts, and friends, on every response; and
    ``Cache-Control: no-store`` on those that do not set their own."""

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
                headers = [*message.get("headers", []), *self.extra]
                # What does not say how to cache it (the API's answers, errors) is not kept:
                # it is someone's data, or (a 404 of a new hashed file during a deploy) wrong
                # a moment later. Static files, attachments and the stream say their own.
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
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
            # The template without converters (``{id}``, not ``{id:db_id}``): one label per
            # operation, whether a plain route or FastAPI's served it.
            path = getattr(route, "path_format", "unmatched")
            self.metrics.request_latency.labels(scope["method"], path).observe(
                time.perf_counter() - start
            )


BODY_LIMITS_BY_PATH: dict[str, int] = {
    # Routes whose bodies may exceed MAX_BODY_BYTES, path -> bytes (the upload route's comes
    # from its setting, MAX_UPLOAD_BYTES: app.py). A path with ids names them ``{id}``:
    # "/api/conversations/{id}/avatar" (see ``_by_path``).
}
"""The one place a route gets a larger request body limit than ``max_body_bytes``."""

BODY_TIMEOUTS_BY_PATH: dict[str, float] = {
    # Routes whose whole body may take longer than BODY_TIMEOUT_SECONDS, path -> seconds (the
    # upload route's comes from UPLOAD_TIMEOUT_SECONDS: app.py).
}
"""The one place a route gets more time for its whole request body than ``body_timeout_seconds``."""


class RequestBodyLimitMiddleware:
    """Request bodies are small and keep arriving, or are refused without being read.

    A declared Content-Length above the route's limit gets 413 at once, before a byte of the body
    is read. A chunked body is counted as the app reads it and gets 413 the moment it passes the
    limit. The whole body must arrive within the route's deadline (``body_timeout_seconds``, or
    ``BODY_TIMEOUTS_BY_PATH``), counted from the end of the request head (when the request
    reaches the app): a body still arriving then gets 408, however steadily it trickles, so a
    request cannot hold its connection, which is never evicted while busy, for longer. Both
    carry ``Connection: close`` (the rest of the body is never read), and the app, still inside
    its read, is told the client went away; whatever it sends after that is dropped.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_seconds: float,
        limits_by_path: Mapping[str, int] = BODY_LIMITS_BY_PATH,
        timeouts_by_path: Mapping[str, float] = BODY_TIMEOUTS_BY_PATH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.limits_by_path = limits_by_path
        self.timeouts_by_path = timeouts_by_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _by_path(self.limits_by_path, scope["path"], self.max_body_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse_body(scope, send, 413, limit)
            return
        timeout = _by_path(self.timeouts_by_path, scope["path"], self.body_timeout_seconds)
        deadline = asyncio.get_running_loop().time() + timeout
        await _GuardedBody(scope, receive, send, limit, deadline).run(self.app)


T = TypeVar("T", int, float)
_ID_SEGMENT = re.compile(r"/[0-9]{1,19}(?=/|$)")


def _by_path(table: Mapping[str, T], path: str, default: T) -> T:
    """The path's entry in ``table``: by the path itself, else with its numeric segments
    written ``{id}`` (one regex, and only for paths with a digit)."""
    found = table.get(path)
    if found is None and any(c.isdigit() for c in path):
        found = table.get(_ID_SEGMENT.sub("/{id}", path))
    return default if found is None else found


async def _refuse_body(scope: Scope, send: Send, status: int, limit: int) -> None:
    if status == 413:
        detail, code = f"The request body is larger than {limit} bytes.", "body_too_large"
    else:
        detail, code = "The request body did not arrive in time.", "body_timeout"
    response = error_response(status, detail, code, headers={"Connection": "close"})

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)


class _GuardedBody:
    """One request: its body counted, and held to its deadline, on the way to the app."""

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, limit: int, deadline: float
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.limit = limit
        self.deadline = deadline
        """Event-loop time by which the whole body must have arrived."""
        self.received = 0
        self.body_complete = False
        self.response_started = False
        self.refused = False

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.guarded_receive, self.guarded_send)
        except Exception:
            if not self.refused:
                raise
            # The app failed on the disconnect it was handed after the refusal: expected.

    async def guarded_receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.body_complete:
            return await self.receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self.receive()
        except TimeoutError:
            await self.refuse(408)
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self.refuse(413)
                return {"type": "http.disconnect"}
            self.body_complete = not message.get("more_body", False)
        return message

    async def guarded_send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self.send(message)

    async def refuse(self, status: int) -> None:
        self.refused = True
        if not self.response_started:
            await _refuse_body(self.scope, self.send, status, self.limit)
