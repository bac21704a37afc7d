"""Where events leave: ``GET /api/events``, one Server-Sent Events stream per tab.

A plain ASGI app rather than a FastAPI route with a streaming response: a stream lives for hours,
and everything on its stack is held for that long, so it keeps only its subscriber, one task
that notices the client leaving, and the coroutine writing frames.

Ordering, the subtle part. On connect the stream subscribes to the hub *first*, then reads the
log's head position, then replays the user's events after the client's ``Last-Event-ID`` up to
that position (their own and their conversations', ``log.events_page``). Live events that
arrive meanwhile wait in the subscriber and are written only if newer than what was sent. The
hub hands events on in log order and complete (its sequencer reads what the broker did not
bring), so nothing is sent twice, nothing is skipped, and the order is the commit order.

Memory, bounded in bytes: the log is read in pages (``replay_page_events`` / ``_bytes``), each
written before the next is read, so a client that does not read stops the replay where it is;
live events wait in a subscriber with a byte budget; and a stream whose client accepts no
bytes for ``stream_write_timeout_seconds`` is cut off by the hub's stall sweep. The worst case
per stream is in the README ("Limits and abuse").

Sessions: a stream belongs to the session that opened it. Ending that session (logout, password
change) closes it through the hub on every process; re-subscribing first and checking the
session after closes the window in which an ending could be missed; a broker reconnect makes
every stream check its session again; an expiring session ends its streams at the next beat.

Endings: on shutdown or when the broker asks, streams end with a clean end of body (never a 5xx
or 204, which would stop a browser from reconnecting). When the server is at a limit or its
database is busy, an opening stream is answered 200 with a long ``retry:`` and ended at once,
so browsers come back later instead of giving up. A client that stopped reading is cut off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request
from starlette.types import Receive, Scope, Send

from tidings.context import AppContext
from tidings.db import utcnow
from tidings.errors import ApiError, error_response
from tidings.realtime import log
from tidings.realtime.events import EphemeralEvent, StoredEvent
from tidings.realtime.gate import Overloaded
from tidings.realtime.hub import CATCH_UP, HEARTBEAT, Item, Subscriber

logger = logging.getLogger(__name__)

HEARTBEAT_FRAME = b": heartbeat\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]
CONTROL_EVENT_TYPES = ("connected", "resync", "overloaded")
"""Sent by the stream itself, not by a domain."""
_MAX_ID = 2**63 - 1
FINAL_WRITE_TIMEOUT = 5.0
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)
"""What a busy or unreachable database raises: a stream answers "retry later", never 500."""


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


async def _retry_later(send: Send, retry_ms: int, *, overloaded: bool = False) -> None:
    """200, a ``retry:`` hint and the end: the browser's EventSource reconnects after it.

    When the server sheds load it also says so in an ``overloaded`` control event with the
    delay, for clients (ours) that run their own reconnect timer and never see ``retry:``.
    """
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    body = f"retry: {retry_ms}\n\n"
    if overloaded:
        body += f'event: overloaded\ndata: {{"retry_ms": {retry_ms}}}\n\n'
    await send({"type": "http.response.body", "body": body.encode(), "more_body": False})


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who opened the stream, as plain values (no request or ORM objects live on)."""

    user_id: int
    session_key: str
    expires_in: float


class StreamSessions(Protocol):
    """The sign-in sessions streams belong to, supplied by the app: realtime knows no accounts."""

    def session_key(self, ctx: AppContext, request: HTTPConnection) -> str | None:
        """The key of the sign-in a request names (not yet checked), or None; may raise the
        app's 401 for a malformed credential."""

    def check_page(self, request: HTTPConnection, user_id: int) -> None:
        """Raise the app's 401 when the request comes from a web page of another user than
        the session's (someone else signed in on the browser since the page opened)."""

    def live_session(self, session: Session, session_key: str) -> tuple[int, datetime] | None:
        """The user id and expiry of that session if it is live (a read: ``run_query``)."""

    def is_signed_in(self, session: Session, user_id: int, session_key: str) -> bool:
        """Whether that session of the user's is still live (a read: ``run_query``)."""


class _SessionEnded(Exception):
    """The stream's session ended while it was being opened."""


class EventStream:
    """The ASGI app behind ``GET /api/events`` (``HEAD`` answers the headers, opening nothing)."""

    def __init__(self, sessions: StreamSessions) -> None:
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx: AppContext = scope["app"].state.ctx
        if ctx.hub.shutting_down:
            # This process is stopping: answer 200 and end, so the browser retries elsewhere.
            await _retry_later(send, ctx.settings.sse_retry_ms)
            return
        gate = ctx.stream_gate
        if ctx.hub.subscriber_count() + gate.opening >= ctx.settings.stream_limit:
            await self._shed(ctx, send, "the stream limit")
            return
        # Counted as opening until subscribed (``_Stream.run``), so that concurrent opens
        # cannot pass the stream limit together.
        gate.opening += 1
        stream: _Stream | None = None
        try:
            stream = await self._admit(ctx, scope, receive, send)
            if stream is not None:
                await stream.run(receive, send)
        except _SessionEnded:
            await error_response(401, "Sign in first.", "not_authenticated")(scope, receive, send)
        except DATABASE_ERRORS:
            logger.warning("stream open: database unavailable", exc_info=True)
            await self._shed(ctx, send, "the database")
        except Exception:
            if stream is not None and stream.started:
                raise  # mid-stream: the server drops the connection; the browser reconnects
            # Nothing sent yet: the JSON 500 every other route gives (this route is served in
            # front of the app's error handlers).
            logger.exception("stream open failed")
            await error_response(500, "Internal server error.", "internal_error")(
                scope, receive, send
            )
        finally:
            if stream is None or stream.opening:
                gate.opening -= 1

    async def _admit(
        self, ctx: AppContext, scope: Scope, receive: Receive, send: Send
    ) -> _Stream | None:
        """The stream to run, or None once the request is answered (401, HEAD, shed).

        A function of its own so that the request object and its parsed headers are gone
        when the stream starts: only plain values live as long as the stream.
        """
        request = Request(scope)
        try:
            token_hash = self.sessions.session_key(ctx, request)
        except ApiError as error:
            await error_response(error.status_code, error.detail, error.code)(scope, receive, send)
            return None
        try:
            identity = await _identify(ctx, self.sessions, token_hash)
        except Overloaded:
            await self._shed(ctx, send, "too many streams opening")
            return None
        except DATABASE_ERRORS:
            logger.warning("stream open: database unavailable", exc_info=True)
            await self._shed(ctx, send, "the database")
            return None
        if identity is None:
            await error_response(401, "Sign in first.", "not_authenticated")(scope, receive, send)
            return None
        try:
            self.sessions.check_page(request, identity.user_id)
        except ApiError as error:
            await error_response(error.status_code, error.detail, error.code)(scope, receive, send)
            return None
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return None
        raw_last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return _Stream(ctx, self.sessions, identity, raw_last, scope)

    @staticmethod
    async def _shed(ctx: AppContext, send: Send, why: str) -> None:
        """Turn a stream away for now, with a jittered retry so a storm spreads out."""
        ctx.metrics.streams_shed.inc()
        logger.debug("stream turned away for now: %s", why)  # counted in streams_shed
        retry = ctx.settings.overload_retry_ms
        await _retry_later(send, retry + random.randrange(retry + 1), overloaded=True)


async def _identify(
    ctx: AppContext, sessions: StreamSessions, token_hash: str | None
) -> _Identity | None:
    """The stream's user and session, read through the stream gate (may raise Overloaded)."""
    if token_hash is None:
        return None
    async with ctx.stream_gate.slot(may_shed=True):
        found = await ctx.db.run_query(sessions.live_session, token_hash)
    if found is None:
        return None
    user_id, expires_at = found
    return _Identity(user_id, token_hash, (expires_at - utcnow()).total_seconds())


class _Stream:
    """One connected tab."""

    __slots__ = (
        "abort",
        "ctx",
        "cursor",
        "identity",
        "opening",
        "raw_last_event_id",
        "send",
        "sessions",
        "started",
        "subscriber",
        "write_now",
    )

    def __init__(
        self,
        ctx: AppContext,
        sessions: StreamSessions,
        identity: _Identity,
        raw_last_event_id: str | None,
        scope: Scope,
    ) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.identity = identity
        self.raw_last_event_id = raw_last_event_id
        self.cursor = 0  # the id of the last event written to this client
        # The server's way to drop a connection without flushing what the client never read:
        # ``abort(send)``, an ASGI extension of ours (tidings.connections).
        connection = (scope.get("extensions") or {}).get("tidings.connection", {})
        self.abort = connection.get("abort")
        # ``write_now(send, body)``, too: a write in the caller's turn when the socket takes it.
        self.write_now = connection.get("write_now")
        self.send: Send | None = None
        self.subscriber: Subscriber | None = None
        self.opening = True
        """Still counted among the streams opening (``StreamGate.opening``)."""
        self.started = False
        """The response has begun (its status and headers are sent)."""

    @property
    def user_id(self) -> int:
        return self.identity.user_id

    async def run(self, receive: Receive, send: Send) -> None:
        hub = self.ctx.hub
        loop = asyncio.get_running_loop()
        # Counted among the hub's streams from here on (subscribe counts it before its first
        # await, and forgets it if it fails), no longer as opening.
        self.opening = False
        self.ctx.stream_gate.opening -= 1
        subscriber = self.subscriber = await hub.subscribe(
            self.user_id,
            session_key=self.identity.session_key,
            expires_at=loop.time() + self.identity.expires_in,
        )
        subscriber.task = asyncio.current_task()
        listener: asyncio.Future[None] | None = None
        try:
            head, replay_to = await self._open()
            listener = asyncio.ensure_future(_wait_for_disconnect(receive))
            listener.add_done_callback(lambda _: subscriber.close("disconnect"))
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            self.started = True
            await self._write(send, head)
            if replay_to is not None:
                await self._send_log(send, replay_to, replay=True)
            if self.write_now is not None:
                self.send = send
                subscriber.deliver_now = self._deliver_now
            while True:
                await subscriber.wait()
                if subscriber.closed:
                    break
                await self._deliver(send, subscriber.take())
        except asyncio.CancelledError:
            if not subscriber.cancelled_by_close:
                raise  # not ours (e.g. the server stopping): Subscriber.close() did not do it
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            # Closed while blocked writing: to a client that stopped reading (stalled, overflow),
            # or whose session ended. What it has not read is dropped with the connection.
            self._count_ending(subscriber.closed_reason)
            logger.info("dropped a stream of user %s (%s)", self.user_id, subscriber.closed_reason)
            await self._drop_connection(send)
            return
        except DATABASE_ERRORS:
            if not self.started:
                raise  # answered "retry later" by the caller
            logger.warning("stream of user %s: database unavailable", self.user_id, exc_info=True)
            subscriber.close("database")
        finally:
            if listener is not None:
                listener.cancel()
            await hub.unsubscribe(subscriber)
        self._count_ending(subscriber.closed_reason)
        if subscriber.closed_reason == "disconnect":
            return
        # A clean end of body: the browser reconnects (to another process, on shutdown) and
        # replays what it missed, or learns that its session ended (401). A client that does
        # not read cannot take it: its connection is dropped instead of left to flush.
        try:
            async with asyncio.timeout(FINAL_WRITE_TIMEOUT):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            await self._drop_connection(send)

    def _count_ending(self, reason: str | None) -> None:
        if reason in ("session_ended", "session_expired"):
            self.ctx.metrics.streams_ended_by_session.inc()

    async def _drop_connection(self, send: Send) -> None:
        """Close the connection now, discarding unsent bytes (uvicorn would wait to flush them)."""
        if self.abort is not None:
            self.abort(send)
            await asyncio.sleep(0)  # let the server see the connection go before we return

    async def _write(self, send: Send, body: bytes) -> None:
        """Write to the client, unless the stream was closed meanwhile (a session that ended
        gets nothing more). A write the client does not take within the write timeout is
        ended by the hub's stall sweep (``Hub._sweep_stalled``), which cancels this one."""
        subscriber = self.subscriber
        assert subscriber is not None
        if subscriber.closed:
            return
        subscriber.send_started_at = asyncio.get_running_loop().time()
        try:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            subscriber.send_started_at = None

    async def _position(self) -> int:
        """The log's head position; raises _SessionEnded if the stream's session is gone."""
        async with self.ctx.stream_gate.slot():
            signed_in, current = await self.ctx.db.run_query(self._read_position)
        if not signed_in:
            raise _SessionEnded
        return current

    def _read_position(self, session: Session) -> tuple[bool, int]:
        """In one read: whether the stream's session is live, and the log's head."""
        signed_in = self.sessions.is_signed_in(session, self.user_id, self.identity.session_key)
        return signed_in, log.read_head(session)

    async def _open(self) -> tuple[bytes, int | None]:
        """The first bytes (retry interval, ``connected``, maybe ``resync``) and the id up to
        which the log must be replayed after them (None: nothing to replay)."""
        settings = self.ctx.settings
        current = await self._position()
        connected = json.dumps({"user_id": self.user_id, "last_event_id": str(current)})
        head = f"retry: {settings.sse_retry_ms}\n\nevent: connected\ndata: {connected}\n\n"
        self.cursor = current
        if self.raw_last_event_id is None:
            return head.encode(), None
        last = parse_event_id(self.raw_last_event_id)
        if last is None or last > current:
            self.ctx.metrics.resyncs.inc()
            return head.encode() + _resync_frame(current), None
        self.ctx.metrics.replays.inc()
        self.cursor = last
        return head.encode(), current

    def _frame_for(self, item: Item) -> tuple[bytes, int | None] | None:
        """The bytes that write a heartbeat, a stored or an ephemeral event, and the stored
        event's position (to move the cursor to once written); None for an event replayed
        already (or anything else: ``CATCH_UP`` is the stream task's own business). Ephemeral
        events have no position: no duplicate or gap check, no id line (Last-Event-ID stays)."""
        if isinstance(item, StoredEvent):
            return None if item.pos <= self.cursor else (item.frame(), item.pos)
        if item is HEARTBEAT:
            return HEARTBEAT_FRAME, None
        if isinstance(item, EphemeralEvent):
            return item.frame(), None
        return None

    async def _deliver(self, send: Send, items: list[Item]) -> None:
        """Write what the hub brought: events in log order (those replayed already skipped),
        ephemeral events where they came among them."""
        parts: list[bytes] = []
        delivered = 0
        subscriber = self.subscriber
        assert subscriber is not None
        for item in items:
            if subscriber.closed:
                return  # e.g. the session ended during a gap fill: nothing more goes out
            if item is CATCH_UP:
                await self._flush(send, parts)
                try:
                    current = await self._position()
                except _SessionEnded:
                    subscriber.close("session_ended")
                    return
                await self._send_log(send, current)
                continue
            written = self._frame_for(item)
            if written is None:
                continue
            frame, pos = written
            parts.append(frame)
            if pos is not None:
                self.cursor = pos
                delivered += 1
        if delivered:
            self.ctx.metrics.events_delivered.inc(delivered)
        await self._flush(send, parts)

    def _deliver_now(self, item: Item) -> bool:
        """What the hub may hand this stream while it is idle (``Subscriber.offer``): an event
        or a heartbeat, written to the socket at once (True; an event replayed already counts
        as taken). False, nothing written, for ``CATCH_UP`` or when the socket cannot take it
        now: the stream's task then writes it."""
        if item is CATCH_UP:
            return False
        written = self._frame_for(item)
        if written is None:
            return True
        frame, pos = written
        if not self.write_now(self.send, frame):
            return False
        if pos is not None:
            self.cursor = pos
            self.ctx.metrics.events_delivered.inc()
        return True

    async def _flush(self, send: Send, parts: list[bytes]) -> None:
        if parts:
            body = b"".join(parts)
            parts.clear()
            await self._write(send, body)

    async def _send_log(self, send: Send, up_to: int, *, replay: bool = False) -> None:
        """Write the user's events in the log after ``cursor`` up to ``up_to``, a page at a
        time, each page written before the next is read (a ``resync`` instead if some are
        pruned)."""
        settings, metrics = self.ctx.settings, self.ctx.metrics
        assert self.subscriber is not None
        while self.cursor < up_to and not self.subscriber.closed:
            async with self.ctx.stream_gate.slot():
                page = await self.ctx.db.run_query(
                    log.events_page, self.user_id, self.cursor, up_to, settings.replay_page_events
                )
            if page is None:
                metrics.resyncs.inc()
                self.cursor = up_to
                await self._write(send, _resync_frame(up_to))
                return
            # A short page means nothing more for this user up to ``up_to``.
            full = len(page) == settings.replay_page_events
            last_of_page = page[-1].pos if full else up_to
            parts: list[bytes] = []
            size = 0
            for event in page:
                frame = event.frame()
                parts.append(frame)
                size += len(frame)
                self.cursor = event.pos
                if size >= settings.replay_page_bytes:
                    break  # the rest of the page is read again next time round
            else:
                self.cursor = last_of_page
            del page
            metrics.events_delivered.inc(len(parts))
            if replay:
                metrics.replayed_events.inc(len(parts))
            await self._flush(send, parts)
