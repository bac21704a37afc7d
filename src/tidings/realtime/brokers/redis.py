"""The Redis broker: events travel between server processes over Redis pub/sub.

Channel layout: one channel per user (``<prefix>:u:<id>``; the prefix is ``tidings`` unless
``REDIS_PREFIX`` says otherwise). A process subscribes to the channels of the users whose
streams it holds (first stream: SUBSCRIBE, last one gone: UNSUBSCRIBE), so an event costs one
PUBLISH per addressee per transaction (pipelined: one round trip for a whole fan-out) and
reaches only the processes that hold that addressee; nobody filters traffic meant for others.

Events for streams in this process are delivered directly as well, without waiting for Redis:
lower latency, and they keep flowing while Redis is away. The copy that comes back through
Redis is recognised by its origin and skipped (streams would drop it by id anyway).

Faults: if the subscription connection drops, the listener reconnects with backoff,
resubscribes, and asks the hub to make every local stream catch up from the event log: events
published meanwhile by other processes arrive late but in order, never silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import DeliverFn

logger = logging.getLogger(__name__)

_CONFIRM_TIMEOUT = 5.0


class RedisBroker:
    """Publishes per-user batches; subscribes to the users this process holds streams of."""

    def __init__(self, url: str, *, prefix: str = "tidings", max_backoff: float = 5.0) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = uuid.uuid4().hex[:12]
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._deliver: DeliverFn | None = None
        self._on_reconnect: Callable[[], None] = lambda: None
        self._watched: set[int] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._listener: asyncio.Task[None] | None = None

    def channel_for(self, user_id: int) -> str:
        return f"{self.prefix}:u:{user_id}"

    def _client(self) -> Redis:
        return Redis.from_url(
            self.url,
            retry=Retry(ExponentialBackoff(cap=1.0), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=30,
            socket_keepalive=True,
        )

    async def start(self, deliver: DeliverFn, on_reconnect: Callable[[], None]) -> None:
        self._deliver = deliver
        self._on_reconnect = on_reconnect
        self._redis = self._client()
        self._listener = asyncio.create_task(self._listen(), name="tidings-redis-listener")
        # Fail fast on a wrong URL at startup, but do not refuse to start if Redis is just down.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=5.0)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._redis is not None:
            await self._redis.aclose()
        self._deliver = None

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        if self._deliver is not None:
            self._deliver(events)
        assert self._redis is not None
        by_user: dict[int, list[list[Any]]] = defaultdict(list)
        for event in events:
            by_user[event.user_id].append([event.seq, event.type, event.data])
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, items in by_user.items():
                payload = json.dumps({"o": self.origin, "u": user_id, "e": items})
                pipe.publish(self.channel_for(user_id), payload)
            await pipe.execute()

    async def watch(self, user_id: int) -> None:
        self._watched.add(user_id)
        pubsub = self._pubsub
        if pubsub is None or not self.connected.is_set():
            return  # subscribed on (re)connect; the stream catches up from the log then
        channel = self.channel_for(user_id)
        confirmation = asyncio.get_running_loop().create_future()
        self._confirmations[channel] = confirmation
        try:
            await pubsub.subscribe(channel)
            # Only once Redis confirms are later PUBLISHes sure to reach us.
            await asyncio.wait_for(asyncio.shield(confirmation), _CONFIRM_TIMEOUT)
        except (RedisConnectionError, RedisTimeoutError, TimeoutError):
            logger.warning("subscribing to %s failed; will resubscribe on reconnect", channel)
        finally:
            self._confirmations.pop(channel, None)

    async def unwatch(self, user_id: int) -> None:
        self._watched.discard(user_id)
        if self._pubsub is not None and self.connected.is_set():
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                await self._pubsub.unsubscribe(self.channel_for(user_id))

    async def _listen(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                await self._connect_and_listen(first)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("Redis subscription lost (%s); retrying in %.1fs", exc, backoff)
            self.connected.clear()
            first = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _connect_and_listen(self, first: bool) -> None:
        assert self._redis is not None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        pubsub = self._pubsub = self._redis.pubsub()
        # A control channel keeps the connection subscribed even with no streams open.
        channels = [self.channel_for(u) for u in self._watched]
        await pubsub.subscribe(f"{self.prefix}:control", *channels)
        self.connected.set()
        if not first:
            logger.info("Redis subscription restored; streams catch up from the event log")
            self._on_reconnect()
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind == "message":
                self._handle(message["data"])
            elif kind == "subscribe":
                channel = message["channel"]
                name = channel.decode() if isinstance(channel, bytes) else channel
                future = self._confirmations.get(name)
                if future is not None and not future.done():
                    future.set_result(None)

    def _handle(self, raw: bytes | str) -> None:
        try:
            payload = json.loads(raw)
            if payload["o"] == self.origin or self._deliver is None:
                return
            user_id = int(payload["u"])
            events = [StoredEvent(user_id, int(seq), str(t), str(d)) for seq, t, d in payload["e"]]
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed message on a Tidings channel")
            return
        self._deliver(events)
