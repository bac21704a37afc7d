"""The Redis broker: events travel between server processes over Redis pub/sub.

Channel layout (the prefix is ``tidings`` unless ``REDIS_PREFIX`` says otherwise):

* ``<prefix>:feed`` carries every committed batch, once, to every process: a group message is
  one PUBLISH whatever its member count, and each process's hub hands it to its own local
  members. Every process subscribes to it.
* ``<prefix>:u:<id>``, one per user, carries ephemeral events for one user's streams (``x``:
  ``[[type, data], ...]``, typing, presence). A process subscribes to the channels of the users
  whose streams it holds.
* ``<prefix>:control`` carries controls to every process: "these sessions of user U ended"
  and "these users changed" (``c``; rare, and every process may cache those sessions and
  users) and "catch up".

A process hands its own batches to its hub directly (no round trip through Redis; they keep
flowing while Redis is away); the copy that comes back is recognised by its origin and skipped.

The guarantee when Redis fails: no event is silently lost, because every event is in the log
before it is published, and each hub's sequencer reads from the log what did not arrive:

* A batch that arrives after a later one was lost: the sequencer sees the gap and reads it.
* The subscription lives on one connection of our own (not redis-py's ``PubSub``, which
  reconnects and resubscribes by itself, hiding exactly the moment we must know about). When it
  breaks, or stops answering PINGs (a half-open TCP connection), the listener reconnects with
  backoff, resubscribes, waits for Redis to confirm, and only then asks the hub to catch up: it
  reads the log up to its head, and every stream re-checks its session.
* A failed PUBLISH (Redis down, or only our connection to it) is not retried batch by batch: a
  background task waits for Redis to answer and then asks every process, on the control channel,
  to catch up. Meanwhile requests never wait on a dead Redis.
* ``watch`` returns only once Redis confirmed the user's channel (or the connection is down, in
  which case the catch-up on restore covers the stream).

Ephemeral events are published once and never queued or resent: while Redis is away they are
lost, which is what "ephemeral" means.
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

from tidings.realtime.events import Batch, EphemeralEvent, MembershipChange, StoredEvent
from tidings.realtime.hub import Receiver

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
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = uuid.uuid4().hex[:12]
        self.client_name = re.sub(r"[^A-Za-z0-9_.:-]", "_", f"tidings-sub-{prefix}-{self.origin}")
        """The subscription connection's CLIENT SETNAME (operators and tests can find it)."""
        self.max_backoff = max_backoff
        self.ping_interval = ping_interval
        self.connected = asyncio.Event()
        """Set while every watched channel is subscribed and confirmed."""
        self.subscriptions_restored = 0
        """How many times the subscription was (re)established and streams told to catch up."""
        self.control_channel = f"{prefix}:control"
        self.feed_channel = f"{prefix}:feed"
        self._receiver: Receiver | None = None
        self._watched: set[int] = set()
        self._publisher: Redis | None = None
        self._sub_pool: ConnectionPool | None = None
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._confirmations: dict[str, deque[asyncio.Future[bool]]] = defaultdict(deque)
        self._last_received = 0.0
        self._listener: asyncio.Task[None] | None = None
        self._catch_up_owed = False
        """A publish failed: once Redis answers, every process must catch up from the log."""
        self._resender: asyncio.Task[None] | None = None

    def channel_for(self, user_id: int) -> str:
        return f"{self.prefix}:u:{user_id}"

    # Lifecycle

    async def start(self, receiver: Receiver) -> None:
        self._receiver = receiver
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
        if self._catch_up_owed and self._publisher is not None:
            # One last try, so other processes' streams need not wait for a gap fill.
            with contextlib.suppress(TimeoutError, *_PUBLISH_ERRORS):
                await asyncio.wait_for(self._send_catch_up(), timeout=2.0)
        if self._publisher is not None:
            await self._publisher.aclose()
        if self._sub_pool is not None:
            await self._sub_pool.disconnect()
        self._receiver = None

    # Publishing

    async def publish_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        """Apply the control here at once, then send it to the other processes.

        If that fails, the control is not kept: instead, once Redis answers again, every
        process is asked to catch up, and a stream that catches up re-checks its session. So a
        logout made while this process cannot publish still ends the session's streams
        elsewhere, later.
        """
        if self._receiver is not None:
            self._receiver.on_control(user_id, control)
        assert self._publisher is not None
        if self._resender is None:
            payload = json.dumps({"o": self.origin, "u": user_id, "c": control})
            try:
                # On the control channel, not the user's: every process may hold state for
                # the user's sessions (streams, the cache of signed-in sessions).
                await self._publisher.publish(self.control_channel, payload)
                return
            except _PUBLISH_ERRORS:
                self._owe_catch_up()
                raise
        self._catch_up_owed = True  # Redis is failing already: no need to wait on it

    async def publish_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        """Deliver here at once, then one PUBLISH per addressee (one round trip). Raises if
        Redis fails; nothing is kept to resend."""
        if self._receiver is not None:
            self._receiver.on_ephemeral(events)
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

    async def publish(self, batch: Batch) -> None:
        """One PUBLISH on the feed for the whole batch. Raises if Redis fails; then every
        process is asked to catch up from the log once Redis answers again."""
        if self._resender is not None:
            self._catch_up_owed = True  # Redis is failing: do not make the caller wait on it
            return
        assert self._publisher is not None
        payload = json.dumps(
            {
                "o": self.origin,
                "b": [
                    batch.first,
                    batch.last,
                    [[e.pos, e.user_id, e.channel_id, e.type, e.data] for e in batch.events],
                    [[m.pos, m.channel_id, m.user_id, m.joined] for m in batch.memberships],
                ],
            }
        )
        try:
            await self._publisher.publish(self.feed_channel, payload)
        except _PUBLISH_ERRORS:
            self._owe_catch_up()
            raise

    def _owe_catch_up(self) -> None:
        self._catch_up_owed = True
        self._start_resender()

    async def _send_catch_up(self) -> None:
        """Ask every process to catch up from the log (something we published was lost)."""
        assert self._publisher is not None
        self._catch_up_owed = False
        try:
            message = json.dumps({"o": self.origin, "catch_up": True})
            await self._publisher.publish(self.control_channel, message)
        except BaseException:
            self._catch_up_owed = True
            raise

    def _start_resender(self) -> None:
        """One resend task at a time, however many publishes fail together."""
        if self._resender is None or self._resender.done():
            self._resender = asyncio.create_task(self._resend(), name="tidings-redis-resend")

    async def _resend(self) -> None:
        backoff = _MIN_BACKOFF
        try:
            while self._catch_up_owed:
                await asyncio.sleep(backoff)
                try:
                    await self._send_catch_up()
                except _PUBLISH_ERRORS as exc:
                    logger.warning("Redis still unreachable for publishing (%s)", exc)
                    backoff = min(backoff * 2, self.max_backoff)
            logger.info("Redis reachable again: every process catches up from the log")
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
                lambda: [
                    self.control_channel,
                    self.feed_channel,
                    *map(self.channel_for, sorted(self._watched)),
                ],
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
            if self._receiver is not None:
                self._receiver.catch_up_all()
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
        receiver = self._receiver
        try:
            payload = json.loads(raw)
            if payload["o"] == self.origin or receiver is None:
                return
            name = channel.decode()
            if name == self.feed_channel:
                batch = self._batch(payload["b"])
                receiver.on_batch(batch)
                return
            if name == self.control_channel:
                if payload.get("catch_up") is True:
                    receiver.catch_up_all()
                elif "c" in payload:
                    user_id, control = payload["u"], payload["c"]
                    if type(user_id) is not int or not isinstance(control, dict):
                        raise TypeError("a control names a user and is an object")
                    receiver.on_control(user_id, control)
                return
            user_id = payload["u"]
            if type(user_id) is not int or name != self.channel_for(user_id):
                raise ValueError("message addressed to another channel")
            if "c" in payload:
                control = payload["c"]
                if not isinstance(control, dict):
                    raise TypeError("a control must be an object")
                receiver.on_control(user_id, control)
                return
            events = [self._ephemeral(user_id, item) for item in payload["x"]]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            logger.warning("ignored a malformed message on %r", channel)
            return
        if events:
            receiver.on_ephemeral(events)

    @staticmethod
    def _batch(item: Any) -> Batch:
        first, last, events, memberships = item
        if type(first) is not int or type(last) is not int or first > last:
            raise ValueError("bad batch positions")
        return Batch(
            first,
            last,
            tuple(RedisBroker._event(e) for e in events),
            tuple(RedisBroker._membership(m) for m in memberships),
        )

    @staticmethod
    def _event(item: Any) -> StoredEvent:
        pos, user_id, channel_id, type_, data = item
        if type(pos) is not int or not isinstance(type_, str) or not isinstance(data, str):
            raise TypeError("bad event fields")
        if (user_id is None) == (channel_id is None):
            raise ValueError("an event is for a user or for a channel")
        if not all(x is None or type(x) is int for x in (user_id, channel_id)):
            raise TypeError("bad event addressee")
        if "\n" in type_ or "\n" in data or "\r" in data or "\r" in type_:
            raise ValueError("an event must fit one SSE data line")
        return StoredEvent(pos, type_, data, user_id=user_id, channel_id=channel_id)

    @staticmethod
    def _membership(item: Any) -> MembershipChange:
        pos, channel_id, user_id, joined = item
        if not all(type(x) is int for x in (pos, channel_id, user_id)) or type(joined) is not bool:
            raise TypeError("bad membership change")
        return MembershipChange(pos, channel_id, user_id, joined)

    @staticmethod
    def _ephemeral(user_id: int, item: Any) -> EphemeralEvent:
        type_, data = item
        if not isinstance(type_, str) or not isinstance(data, str):
            raise TypeError("bad ephemeral event fields")
        if "\n" in type_ or "\n" in data or "\r" in data or "\r" in type_:
            raise ValueError("an event must fit one SSE data line")
        return EphemeralEvent(user_id, type_, data)
