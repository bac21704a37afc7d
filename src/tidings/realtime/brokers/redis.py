"""The Redis broker: events travel between server processes over Redis pub/sub.

Channel layout: one channel per user (``<prefix>:u:<id>``; the prefix is ``tidings`` unless
``REDIS_PREFIX`` says otherwise) plus one ``<prefix>:control`` channel. A process subscribes to
the channels of the users whose streams it holds (first stream: SUBSCRIBE, last one gone:
UNSUBSCRIBE), so a transaction costs one PUBLISH per addressee (pipelined: one round trip for
its whole fan-out), each reaching only the processes that hold that addressee; nobody filters
traffic meant for others. A process with no streams receives nothing but control messages.

Controls (e.g. "these sessions ended") travel on the same per-user channels as a message with a
``c`` field instead of events, so they reach exactly the processes holding that user's streams.
Ephemeral events (typing, presence) do too, as ``x``: ``[[type, data], ...]`` without ids. They
are published once and never queued or resent: while Redis is away they are lost (and only
they: durable events are in the log).

Events for streams in this process are delivered directly as well, without waiting for Redis:
lower latency, and they keep flowing while Redis is away. The copy that comes back through
Redis is recognised by its origin and skipped.

The guarantee when Redis fails: no event is silently lost, because every event is in the event
log before it is published, and the broker makes streams re-read the log whenever Redis may have
dropped something:

* The subscription lives on one connection of our own (not redis-py's ``PubSub``, which
  reconnects and resubscribes by itself, hiding exactly the moment we must know about). When it
  breaks, or stops answering PINGs (a half-open TCP connection), the listener reconnects with
  backoff, resubscribes to every watched channel, waits for Redis to confirm them, and only
  then calls ``on_reconnect``: every local stream catches up from the log. Anything published
  while we were not subscribed was committed before that catch-up reads the log.
* A failed PUBLISH (Redis down, or only our connection to it) keeps the events (bounded: past
  ``max_unsent`` it keeps a flag instead) and a background task resends them once Redis answers;
  after an overflow it asks every process, on the control channel, to catch up all its streams.
  While that task runs, new events are queued rather than published, so requests never wait on
  a dead Redis. Streams drop the late copies by id.
* ``watch`` returns only once Redis confirmed the subscription (or the connection is down, in
  which case the catch-up on restore covers the stream): a stream reads the log only after any
  event published from then on is sure to reach it.

Not covered: a process killed between commit and publish. Its events are in the log; streams on
other processes get them with their user's next event (gap fill) or on their next reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tidings.realtime.events import EphemeralEvent, StoredEvent
from tidings.realtime.hub import ControlFn, DeliverFn

logger = logging.getLogger(__name__)

_SUBSCRIBE_CHUNK = 1000
_MIN_BACKOFF = 0.1
_PUBLISH_ERRORS = (RedisError, OSError)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _SessionLost(Exception):
    """The subscription connection is gone or no longer answers."""


class RedisBroker:
    """Publishes per-user batches; subscribes to the users this process holds streams of."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tidings",
        max_backoff: float = 5.0,
        ping_interval: float = 5.0,
        max_unsent: int = 10_000,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = uuid.uuid4().hex[:12]
        self.client_name = re.sub(r"[^A-Za-z0-9_.:-]", "_", f"tidings-sub-{prefix}-{self.origin}")
        """The subscription connection's CLIENT SETNAME (operators and tests can find it)."""
        self.max_backoff = max_backoff
        self.ping_interval = ping_interval
        self.max_unsent = max_unsent
        self.connected = asyncio.Event()
        """Set while every watched channel is subscribed and confirmed."""
        self.subscriptions_restored = 0
        """How many times the subscription was (re)established and streams told to catch up."""
        self.control_channel = f"{prefix}:control"
        self._deliver: DeliverFn | None = None
        self._on_reconnect: Callable[[], None] = lambda: None
        self._on_control: ControlFn | None = None
        self._watched: set[int] = set()
        self._publisher: Redis | None = None
        self._sub_pool: ConnectionPool | None = None
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._confirmations: dict[str, deque[asyncio.Future[bool]]] = defaultdict(deque)
        self._last_received = 0.0
        self._listener: asyncio.Task[None] | None = None
        self._unsent: list[StoredEvent] = []
        self._unsent_overflowed = False
        self._resender: asyncio.Task[None] | None = None

    def channel_for(self, user_id: int) -> str:
        return f"{self.prefix}:u:{user_id}"

    # Lifecycle

    async def start(
        self,
        deliver: DeliverFn,
        on_reconnect: Callable[[], None],
        on_control: ControlFn | None = None,
    ) -> None:
        self._deliver = deliver
        self._on_reconnect = on_reconnect
        self._on_control = on_control
        # Publishing: short timeouts and one immediate retry (a pooled connection that died
        # with a Redis restart), so a request never waits long on a Redis that is away.
        self._publisher = Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_timeout=2,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 1),
        )
        # Subscribing: no retries inside redis-py; the listener owns reconnection.
        self._sub_pool = ConnectionPool.from_url(
            self.url,
            socket_connect_timeout=5,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
            client_name=self.client_name,
            protocol=2,  # messages come back as plain replies (RESP3 would route them elsewhere)
        )
        self._listener = asyncio.create_task(self._listen(), name="tidings-redis-listener")
        # Wait a little for the subscription, but start even if Redis is down: requests and
        # local streams work without it, and streams catch up once it is back.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=5.0)

    async def stop(self) -> None:
        for task in (self._listener, self._resender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._listener = self._resender = None
        if (self._unsent or self._unsent_overflowed) and self._publisher is not None:
            # One last try, so other processes' streams need not wait for a gap fill.
            with contextlib.suppress(TimeoutError, *_PUBLISH_ERRORS):
                await asyncio.wait_for(self._flush_unsent(), timeout=2.0)
        if self._publisher is not None:
            await self._publisher.aclose()
        if self._sub_pool is not None:
            await self._sub_pool.disconnect()
        self._deliver = None
        self._on_control = None

    # Publishing

    async def publish_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        """Apply the control here at once, then send it to the other processes.

        If that fails, the control is not kept: instead, once Redis answers again, every
        process is asked to catch up all its streams (as after an overflow of unsent events),
        and a stream that catches up re-checks its session. So a logout made while this
        process cannot publish still ends the session's streams elsewhere, later.
        """
        if self._on_control is not None:
            self._on_control(user_id, control)
        assert self._publisher is not None
        if self._resender is None:
            payload = json.dumps({"o": self.origin, "u": user_id, "c": control})
            try:
                await self._publisher.publish(self.channel_for(user_id), payload)
                return
            except _PUBLISH_ERRORS:
                self._unsent_overflowed = True
                self._start_resender()
                raise
        self._unsent_overflowed = True  # Redis is failing already: no need to wait on it

    async def publish_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        """Deliver here at once, then one PUBLISH per addressee (one round trip). Raises if
        Redis fails; nothing is kept to resend."""
        if self._deliver is not None:
            self._deliver(events)
        if self._resender is not None:
            return  # Redis is failing: do not make the caller wait on it; they are lost
        assert self._publisher is not None
        by_user: dict[int, list[list[str]]] = defaultdict(list)
        for event in events:
            by_user[event.user_id].append([event.type, event.data])
        async with self._publisher.pipeline(transaction=False) as pipe:
            for user_id, items in by_user.items():
                payload = json.dumps({"o": self.origin, "u": user_id, "x": items})
                pipe.publish(self.channel_for(user_id), payload)
            await pipe.execute()

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        if self._deliver is not None:
            self._deliver(events)
        if self._resender is not None:
            self._defer(events)  # Redis is failing: queue behind what is already waiting
            return
        try:
            await self._publish_now(events)
        except _PUBLISH_ERRORS:
            self._defer(events)
            self._start_resender()
            raise

    async def _publish_now(self, events: Sequence[StoredEvent]) -> None:
        assert self._publisher is not None
        by_user: dict[int, list[list[Any]]] = defaultdict(list)
        for event in events:
            by_user[event.user_id].append([event.seq, event.type, event.data])
        async with self._publisher.pipeline(transaction=False) as pipe:
            for user_id, items in by_user.items():
                payload = json.dumps({"o": self.origin, "u": user_id, "e": items})
                pipe.publish(self.channel_for(user_id), payload)
            await pipe.execute()

    def _defer(self, events: Sequence[StoredEvent]) -> None:
        if self._unsent_overflowed or len(self._unsent) + len(events) > self.max_unsent:
            # Past the bound, remember only that every process must re-read the log.
            self._unsent.clear()
            self._unsent_overflowed = True
        else:
            self._unsent.extend(events)

    async def _flush_unsent(self) -> None:
        batch, self._unsent = self._unsent, []
        overflowed, self._unsent_overflowed = self._unsent_overflowed, False
        try:
            if batch:
                await self._publish_now(batch)
            if overflowed:
                assert self._publisher is not None
                message = json.dumps({"o": self.origin, "catch_up": True})
                await self._publisher.publish(self.control_channel, message)
        except BaseException:
            if overflowed:
                self._unsent_overflowed = True
            else:
                queued, self._unsent = self._unsent, []
                self._defer(batch)
                self._defer(queued)
            raise

    def _start_resender(self) -> None:
        """One resend task at a time, however many publishes fail together."""
        if self._resender is None or self._resender.done():
            self._resender = asyncio.create_task(self._resend(), name="tidings-redis-resend")

    async def _resend(self) -> None:
        backoff = _MIN_BACKOFF
        try:
            while self._unsent or self._unsent_overflowed:
                await asyncio.sleep(backoff)
                try:
                    await self._flush_unsent()
                except _PUBLISH_ERRORS as exc:
                    logger.warning("Redis still unreachable for publishing (%s)", exc)
                    backoff = min(backoff * 2, self.max_backoff)
            logger.info("Redis reachable again: queued events published")
        finally:
            self._resender = None

    # Subscribing

    async def watch(self, user_id: int) -> None:
        self._watched.add(user_id)
        conn = self._conn
        if conn is None:
            return  # subscribed on reconnect, and the stream catches up from the log then
        with contextlib.suppress(_SessionLost):
            [confirmed] = await self._subscribe(conn, lambda: [self.channel_for(user_id)])
            await confirmed

    async def unwatch(self, user_id: int) -> None:
        self._watched.discard(user_id)
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(_SessionLost):
                await self._send(conn, "UNSUBSCRIBE", self.channel_for(user_id))

    async def _send(self, conn: AbstractConnection, *args: str) -> None:
        """Write a command on the subscription connection, in call order."""
        async with self._send_lock:
            # Checked right before the write: redis-py would silently reconnect otherwise.
            if conn is not self._conn or not conn.is_connected:
                raise _SessionLost
            try:
                await conn.send_command(*args, check_health=False)
            except (RedisError, OSError) as exc:
                raise _SessionLost from exc

    async def _subscribe(
        self, conn: AbstractConnection, channels: Callable[[], Sequence[str]]
    ) -> list[asyncio.Future[bool]]:
        """SUBSCRIBE; return futures that resolve True on Redis's confirmation of each channel.

        ``channels`` is read once the connection is ours to write on, so a watch or unwatch
        that came first is reflected, and one that comes later is written after. Replies come
        in command order: per channel, the n-th confirmation answers the n-th SUBSCRIBE still
        waiting. The futures resolve False if the connection is lost first.
        """
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[bool]] = []
        async with self._send_lock:
            if conn is not self._conn or not conn.is_connected:
                raise _SessionLost
            for chunk in _chunks(channels(), _SUBSCRIBE_CHUNK):
                pending = [loop.create_future() for _ in chunk]
                for channel, future in zip(chunk, pending, strict=True):
                    self._confirmations[channel].append(future)
                futures.extend(pending)
                try:
                    await conn.send_command("SUBSCRIBE", *chunk, check_health=False)
                except (RedisError, OSError) as exc:
                    raise _SessionLost from exc
        return futures

    async def _listen(self) -> None:
        backoff = _MIN_BACKOFF
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected.is_set():
                    backoff = _MIN_BACKOFF
                logger.warning("Redis subscription lost (%s); retrying in %.1fs", exc, backoff)
            finally:
                await self._end_session()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _session(self) -> None:
        assert self._sub_pool is not None
        conn: AbstractConnection = self._sub_pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        loop = asyncio.get_running_loop()
        self._last_received = loop.time()
        # From here on, watch() subscribes on this connection itself; the users watched so far
        # are subscribed below.
        self._conn = conn
        reader = asyncio.create_task(self._read(conn), name="tidings-redis-reader")
        watchdog = asyncio.create_task(self._watchdog(conn), name="tidings-redis-watchdog")
        confirmations: asyncio.Task[bool] | None = None
        try:
            futures = await self._subscribe(
                conn,
                lambda: [self.control_channel, *map(self.channel_for, sorted(self._watched))],
            )
            confirmations = asyncio.create_task(self._all_true(futures))
            done, _ = await asyncio.wait(
                {reader, watchdog, confirmations}, return_when=asyncio.FIRST_COMPLETED
            )
            if confirmations not in done or not confirmations.result():
                raise _SessionLost("connection lost while subscribing")
            self.connected.set()
            self.subscriptions_restored += 1
            if self.subscriptions_restored > 1:
                logger.info("Redis subscription restored; streams catch up from the event log")
            self._on_reconnect()
            await asyncio.wait({reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, watchdog):
                if task.done():
                    task.result()
            raise _SessionLost("subscription ended")
        finally:
            tasks: list[asyncio.Task[Any]] = [reader, watchdog]
            if confirmations is not None:
                tasks.append(confirmations)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    @staticmethod
    async def _all_true(futures: Sequence[asyncio.Future[bool]]) -> bool:
        return all(await asyncio.gather(*futures))

    async def _end_session(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        for waiting in self._confirmations.values():
            for future in waiting:
                if not future.done():
                    future.set_result(False)
        self._confirmations.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    async def _read(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            reply = await conn.read_response(timeout=math.inf, push_request=True)
            self._last_received = loop.time()
            if not isinstance(reply, list) or not reply:
                continue
            kind = reply[0]
            if kind == b"message" and len(reply) == 3:
                self._handle(reply[1], reply[2])
            elif kind == b"subscribe" and len(reply) == 3:
                waiting = self._confirmations.get(reply[1].decode())
                if waiting:
                    future = waiting.popleft()
                    if not future.done():
                        future.set_result(True)

    async def _watchdog(self, conn: AbstractConnection) -> None:
        """Detect a connection that is open but dead: PING when idle, expect an answer."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.ping_interval)
            if loop.time() - self._last_received < self.ping_interval:
                continue
            asked_at = loop.time()
            await self._send(conn, "PING")
            await asyncio.sleep(self.ping_interval)
            if self._last_received < asked_at:
                raise _SessionLost(f"no answer to PING in {self.ping_interval:.1f}s")

    def _handle(self, channel: bytes, raw: bytes) -> None:
        try:
            payload = json.loads(raw)
            if payload["o"] == self.origin:
                return
            if channel.decode() == self.control_channel:
                if payload.get("catch_up") is True:
                    self._on_reconnect()
                return
            user_id = payload["u"]
            if type(user_id) is not int or channel.decode() != self.channel_for(user_id):
                raise ValueError("message addressed to another channel")
            if "c" in payload:
                control = payload["c"]
                if not isinstance(control, dict):
                    raise TypeError("a control must be an object")
                if self._on_control is not None:
                    self._on_control(user_id, control)
                return
            events: list[StoredEvent] | list[EphemeralEvent]
            if "x" in payload:
                events = [self._ephemeral(user_id, item) for item in payload["x"]]
            else:
                events = [self._event(user_id, item) for item in payload["e"]]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            logger.warning("ignored a malformed message on %r", channel)
            return
        if self._deliver is not None and events:
            self._deliver(events)

    @staticmethod
    def _event(user_id: int, item: Any) -> StoredEvent:
        seq, type_, data = item
        if type(seq) is not int or not isinstance(type_, str) or not isinstance(data, str):
            raise TypeError("bad event fields")
        if "\n" in type_ or "\n" in data or "\r" in data:
            raise ValueError("an event must fit one SSE data line")
        return StoredEvent(user_id, seq, type_, data)

    @staticmethod
    def _ephemeral(user_id: int, item: Any) -> EphemeralEvent:
        type_, data = item
        if not isinstance(type_, str) or not isinstance(data, str):
            raise TypeError("bad ephemeral event fields")
        if "\n" in type_ or "\n" in data or "\r" in data or "\r" in type_:
            raise ValueError("an event must fit one SSE data line")
        return EphemeralEvent(user_id, type_, data)
