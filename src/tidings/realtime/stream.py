"""Where events leave: ``GET /api/events``, one Server-Sent Events stream per tab.

A plain ASGI app rather than a FastAPI route with a streaming response: a stream lives for hours,
and everything on its stack is held for that long, so it keeps only its subscriber, one task
that notices the client leaving, and the coroutine writing frames.

Ordering, the subtle part. On connect the stream subscribes to the hub *first*, then reads the
user's current event id, then replays the log after the client's ``Last-Event-ID`` up to that id.
Live events that arrive meanwhile wait in the subscriber and are written only if newer than what
was sent. Per-user ids have no gaps, so an event that skips ahead (another process published
before this one, or the broker lost one) makes the stream fetch the missing ids from the log.
Nothing is sent twice, nothing is skipped, and the order is the commit order.

Endings: on shutdown or when the broker asks, streams end with a clean end of body (never a 5xx
or 204, which would stop a browser from reconnecting). A stream whose client stopped reading
overflows its buffer and is cut off; its client reconnects and replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from tidings.accounts.deps import authenticated_user_id
from tidings.context import AppContext
from tidings.errors import error_response
from tidings.realtime import log
from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import CATCH_UP, HEARTBEAT, Item, Subscriber

logger = logging.getLogger(__name__)

HEARTBEAT_FRAME = b": heartbeat\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]
_MAX_ID = 2**63 - 1
FINAL_WRITE_TIMEOUT = 5.0


def _resync_frame(seq: int) -> bytes:
    data = json.dumps({"last_event_id": str(seq)})
    return f"id: {seq}\nevent: resync\ndata: {data}\n\n".encode()


def parse_event_id(raw: str | None) -> int | None:
    """A client's Last-Event-ID as a sequence number; None when absent or not one of ours."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= _MAX_ID else None


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream:
    """The ASGI app behind ``GET /api/events``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx: AppContext = scope["app"].state.ctx
        # Only plain values survive into the long-lived part: no request or ORM objects.
        user_id, raw_last = await _identify(ctx, scope)
        if user_id is None:
            await error_response(401, "Sign in first.", "not_authenticated")(scope, receive, send)
            return
        if ctx.hub.shutting_down:
            # This process is stopping: answer 200 and end, so the browser retries elsewhere.
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            retry = f"retry: {ctx.settings.sse_retry_ms}\n\n".encode()
            await send({"type": "http.response.body", "body": retry, "more_body": False})
            return
        await _Stream(ctx, user_id, raw_last).run(receive, send)


async def _identify(ctx: AppContext, scope: Scope) -> tuple[int | None, str | None]:
    """The signed-in user's id and the id the client resumes from, if any."""
    request = Request(scope)
    user_id = await authenticated_user_id(ctx, request.cookies)
    raw_last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    return user_id, raw_last


class _Stream:
    """One connected tab."""

    __slots__ = ("ctx", "cursor", "raw_last_event_id", "user_id")

    def __init__(self, ctx: AppContext, user_id: int, raw_last_event_id: str | None) -> None:
        self.ctx = ctx
        self.user_id = user_id
        self.raw_last_event_id = raw_last_event_id
        self.cursor = 0  # the id of the last event written to this client

    async def run(self, receive: Receive, send: Send) -> None:
        hub = self.ctx.hub
        subscriber = await hub.subscribe(self.user_id)
        subscriber.task = asyncio.current_task()
        listener = asyncio.ensure_future(_wait_for_disconnect(receive))
        listener.add_done_callback(lambda _: subscriber.close("disconnect"))
        try:
            head = await self._open()
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await self._write(send, subscriber, head)
            while True:
                await subscriber.wait()
                if subscriber.closed:
                    break
                chunk = await self._render(subscriber.take())
                if chunk:
                    await self._write(send, subscriber, chunk)
        except asyncio.CancelledError:
            if subscriber.closed_reason not in ("overflow", "shutdown"):
                raise
            # Cut off while blocked writing to a client that stopped reading. Returning without
            # ending the body makes uvicorn drop the connection.
            logger.warning("dropped a stream of user %s: client not reading", self.user_id)
            return
        finally:
            listener.cancel()
            await hub.unsubscribe(subscriber)
        if subscriber.closed_reason == "disconnect":
            return
        # A clean end of body: the browser reconnects (to another process, on shutdown) and
        # replays what it missed. A client that stopped reading cannot hold us here for long.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FINAL_WRITE_TIMEOUT):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, subscriber: Subscriber, body: bytes) -> None:
        subscriber.in_send = True
        try:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            subscriber.in_send = False

    async def _open(self) -> bytes:
        """The first bytes: retry interval, ``connected``, then a replay or a ``resync``."""
        ctx = self.ctx
        parts = [f"retry: {ctx.settings.sse_retry_ms}\n\n".encode()]
        async with ctx.db.read() as session:
            current = await log.current_seq(session, self.user_id)
            connected = json.dumps({"user_id": self.user_id, "last_event_id": str(current)})
            parts.append(f"event: connected\ndata: {connected}\n\n".encode())
            self.cursor = current
            if self.raw_last_event_id is not None:
                last = parse_event_id(self.raw_last_event_id)
                replay = None
                if last is not None and last <= current:
                    replay = await log.replay_events_after(session, self.user_id, last, current)
                if replay is None:
                    ctx.metrics.resyncs.inc()
                    parts.append(_resync_frame(current))
                else:
                    ctx.metrics.replays.inc()
                    ctx.metrics.replayed_events.inc(len(replay))
                    ctx.metrics.events_delivered.inc(len(replay))
                    parts.extend(event.frame() for event in replay)
        return b"".join(parts)

    async def _render(self, items: list[Item]) -> bytes:
        parts: list[bytes] = []
        delivered = 0
        for item in items:
            if item is HEARTBEAT:
                parts.append(HEARTBEAT_FRAME)
            elif item is CATCH_UP:
                parts.extend(await self._fill_gap(None))
            elif isinstance(item, StoredEvent):
                if item.seq <= self.cursor:
                    continue  # replayed already, or delivered twice by the broker
                if item.seq > self.cursor + 1:
                    parts.extend(await self._fill_gap(item.seq - 1))
                parts.append(item.frame())
                self.cursor = item.seq
                delivered += 1
        if delivered:
            self.ctx.metrics.events_delivered.inc(delivered)
        return b"".join(parts)

    async def _fill_gap(self, up_to: int | None) -> list[bytes]:
        """Frames from the log for the events after ``cursor`` up to ``up_to`` (None: latest)."""
        async with self.ctx.db.read() as session:
            if up_to is None:
                up_to = await log.current_seq(session, self.user_id)
            if up_to <= self.cursor:
                return []
            events = await log.replay_events_after(session, self.user_id, self.cursor, up_to)
        self.ctx.metrics.gap_fills.inc()
        if events is None:
            self.ctx.metrics.resyncs.inc()
            self.cursor = up_to
            return [_resync_frame(up_to)]
        self.cursor = up_to
        self.ctx.metrics.events_delivered.inc(len(events))
        return [event.frame() for event in events]
