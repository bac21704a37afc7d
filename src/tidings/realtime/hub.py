"""The event hub: local stream subscriptions, and a pluggable broker between processes.

Shape after encode/broadcaster: a tiny broker interface with one module per backend, chosen by
URL. Diverges from it on purpose:

* every subscriber has a buffer bounded in *bytes*; one that overflows (a client that stopped
  reading) is closed rather than allowed to grow memory, and its client reconnects and replays;
* besides events, the broker carries *controls* addressed to a user's streams on every process:
  "these sessions ended" (logout, password change) closes the streams opened with them at once;
* a user holds a bounded number of streams per process: the oldest gives way to a new one;
* there is no task per subscriber: delivery appends to a list and resolves a future the
  stream is awaiting; heartbeats come from one timer for all streams;
* events arrive already serialized (``StoredEvent``), so fan-out to N streams encodes nothing;
* committed batches are handed to streams strictly in log order, complete: a *sequencer* holds
  a batch that arrives before an earlier one (another process published it first) and, if the
  earlier one does not come within ``gap_wait_seconds`` (its publisher died, the broker lost
  it), reads the missing positions from the log. So each process reads a gap once, not each
  stream, and a stream never has to detect one;
* a channel event (a conversation's) is stored and published once; the hub hands it to the local
  members of the channel, from an index of the channel memberships of the users with a stream
  here, kept current by the membership changes that travel with the batches, in order;
* besides durable events (logged, numbered, replayed), the hub carries *ephemeral* ones
  (``send_ephemeral``: typing, presence): delivered to the addressees' open streams on every
  process like events, never logged, numbered or replayed; if the broker cannot carry them they
  are lost, which is what "ephemeral" means.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Protocol

from tidings.realtime.events import Batch, EphemeralEvent, EventData, MembershipChange, StoredEvent
from tidings.realtime.metrics import Metrics

logger = logging.getLogger(__name__)


class Signal:
    """A marker put in a subscriber's buffer in place of an event."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Signal({self.name})"


HEARTBEAT: Final = Signal("heartbeat")
BEAT_TICK_SECONDS: Final = 1.0
"""Heartbeats go out to one slice of the streams per tick of this length (see ``Hub._beat``)."""
CATCH_UP: Final = Signal("catch_up")
"""Tells a stream to check the event log for anything the broker may have missed."""

Delivery = StoredEvent | EphemeralEvent
"""What the hub puts in a subscriber's buffer besides signals."""
Item = StoredEvent | EphemeralEvent | Signal


SIGNAL_BYTES: Final = 16
"""What a signal counts for in a subscriber's byte budget."""
EVENT_OVERHEAD_BYTES: Final = 32
"""What an event's SSE framing adds to its type and data."""

END_SESSIONS: Final = "end_sessions"
"""Control: close the streams opened with these sessions (``sessions``: a list of keys)."""
USERS_CHANGED: Final = "users_changed"
"""Control: these users (``users``: a list of ids) changed; what a process keeps of them (the
cache of signed-in sessions) is dropped. Their streams stay open."""


FILL_PAGE_POSITIONS: Final = 2000
"""How many positions the sequencer reads from the log at a time when filling a gap."""


def event_size(event: Delivery) -> int:
    """Bytes an event takes in a buffer and on the wire (close enough to count by).

    ``data`` is text: its length is its size in bytes only when it is ASCII (an O(1) check
    in CPython); otherwise it is measured encoded, as it will be written.
    """
    data = event.data
    size = len(data) if data.isascii() else len(data.encode())
    return size + len(event.type) + EVENT_OVERHEAD_BYTES


class Receiver(Protocol):
    """What a broker hands its traffic to: the hub of its process."""

    def on_batch(self, batch: Batch) -> None:
        """A committed batch from another process (or a resend of one)."""

    def on_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        """Ephemeral events for this process's streams."""

    def on_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        """A control addressed to one user's streams."""

    def catch_up_all(self) -> None:
        """The broker may have dropped something: re-read the log, re-check sessions."""


class LogReader(Protocol):
    """The hub's read access to the event log (``tidings.realtime.log.DatabaseLog``)."""

    async def head(self) -> int:
        """The last committed position."""

    async def batch_between(self, after: int, up_to: int) -> Batch | None:
        """Everything at ``after < pos <= up_to``; None if some of it was pruned."""

    async def channel_spans(self, user_id: int, after: int) -> list[tuple[int, int, int | None]]:
        """The user's channel memberships open after ``after``: (channel, joined, left)."""


class Broker(Protocol):
    """Carries committed batches, controls and ephemeral events between processes."""

    async def start(self, receiver: Receiver) -> None:
        """Begin handing the receiver what other processes publish."""

    async def stop(self) -> None: ...

    async def publish(self, batch: Batch) -> None:
        """Send a committed batch to every other process (this one has it already)."""

    async def publish_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        """Send a control (JSON-able) to every process holding a stream of ``user_id``,
        this one included."""

    async def publish_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        """Hand ephemeral events to every process holding a stream of their addressees, this
        one included: at most once, nothing kept to resend."""

    async def watch(self, user_id: int) -> None:
        """This process now holds a stream of ``user_id``."""

    async def unwatch(self, user_id: int) -> None:
        """This process holds no more streams of ``user_id``."""


class Subscriber:
    """One open stream's mailbox: a list of items bounded in bytes, and the future its reader
    awaits."""

    __slots__ = (
        "_bytes",
        "_items",
        "_limit_bytes",
        "_waiter",
        "cancelled_by_close",
        "closed_reason",
        "deliver_now",
        "expires_at",
        "send_started_at",
        "session_key",
        "task",
        "user_id",
    )

    def __init__(
        self,
        user_id: int,
        limit_bytes: int,
        *,
        session_key: str | None = None,
        expires_at: float | None = None,
    ) -> None:
        self.user_id = user_id
        self.session_key = session_key
        """Which sign-in session opened the stream: ending that session ends the stream."""
        self.expires_at = expires_at
        """When that session expires, in the event loop's clock (None: never)."""
        self._limit_bytes = limit_bytes
        self._items: list[Item] = []
        self._bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self.closed_reason: str | None = None
        self.cancelled_by_close = False
        """``close`` cancelled the stream's task (it was blocked writing): its own cancel."""
        self.send_started_at: float | None = None
        """Event-loop time the stream began a write that has not returned yet (None: not
        writing). The hub's sweep closes a stream whose write takes longer than the timeout."""
        self.task: asyncio.Task[object] | None = None
        self.deliver_now: Callable[[Item], bool] | None = None
        """The stream's way to take an item at once while it waits for one (True if it did):
        see ``offer``."""

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    @property
    def in_send(self) -> bool:
        return self.send_started_at is not None

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def offer(self, item: Item) -> bool:
        """Queue an item; close the subscriber instead if it would pass its byte budget."""
        if self.closed_reason is not None:
            return False
        # The stream is idle, waiting for its next item with none queued: it may take this one
        # now (written to its socket in this turn) rather than be woken to write it.
        if self._waiter is not None and not self._items and self.deliver_now is not None:
            try:
                if self.deliver_now(item):
                    return True
            except Exception:
                # Never into the caller (the hub, handing a batch to every stream): this stream
                # stops taking items at once, and its task meets the failure writing this one.
                logger.exception("a stream failed to take an item at once")
                self.deliver_now = None
        size = SIGNAL_BYTES if isinstance(item, Signal) else event_size(item)
        # An empty buffer takes any one item: an event larger than the budget still goes out.
        if self._items and self._bytes + size > self._limit_bytes:
            self.close("overflow")
            return False
        self._items.append(item)
        self._bytes += size
        self._wake()
        return True

    def close(self, reason: str) -> None:
        """Ask the stream to end; a stream stuck writing to a dead client is cancelled."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._wake()
        if self.in_send and self.task is not None and reason != "disconnect":
            self.cancelled_by_close = True
            self.task.cancel()

    def take(self) -> list[Item]:
        items, self._items = self._items, []
        self._bytes = 0
        return items

    async def wait(self) -> None:
        """Return once there is something to take or the subscriber is closed."""
        if self._items or self.closed_reason is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


_running_hubs: weakref.WeakSet[Hub] = weakref.WeakSet()


def close_all_streams(reason: str = "shutdown") -> None:
    """End every open stream of every hub in this process (called when the server stops)."""
    for hub in list(_running_hubs):
        hub.close_all(reason)


class Hub:
    """Routes published events to the local subscribers of their addressees."""

    def __init__(
        self,
        broker: Broker,
        *,
        metrics: Metrics,
        buffer_bytes: int = 256 * 1024,
        heartbeat_seconds: float = 30.0,
        max_streams_per_user: int = 8,
        write_timeout_seconds: float = 20.0,
        log: LogReader | None = None,
        gap_wait_seconds: float = 0.02,
        beat_tick_seconds: float = BEAT_TICK_SECONDS,
    ) -> None:
        self.broker = broker
        self.log = log
        """Where the sequencer reads what the broker did not bring (None: a hub whose broker
        never loses or reorders, as in tests without a database)."""
        self.gap_wait_seconds = gap_wait_seconds
        self.metrics = metrics
        self.buffer_bytes = buffer_bytes
        self.heartbeat_seconds = heartbeat_seconds
        self.beat_tick_seconds = beat_tick_seconds
        self.max_streams_per_user = max_streams_per_user
        self.write_timeout_seconds = write_timeout_seconds
        # Per user, the streams in the order they opened (dict keys: ordered, O(1) removal).
        self._subscribers: dict[int, dict[Subscriber, None]] = {}
        self._count = 0
        """Streams subscribed, all users: kept, not summed, since every open asks for it."""
        self._watching: dict[int, asyncio.Future[None]] = {}
        """Users whose first stream is waiting for ``broker.watch`` to return."""
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._count_changed = asyncio.Condition()
        self.shutting_down = False
        # The sequencer: the last position handed to streams, and batches that came early.
        self.position = 0
        self._early: dict[int, Batch] = {}
        self._fill_task: asyncio.Task[None] | None = None
        self._fill_to_head = False
        # The channel index: per local user, their memberships as spans of positions
        # ([joined, left or None]); per channel, the local users with a span in it; and for
        # users whose memberships are being loaded, the changes seen meanwhile.
        self._spans: dict[int, dict[int, list[list[int | None]]]] = {}
        self._channel_users: dict[int, set[int]] = {}
        self._loading_spans: dict[int, list[MembershipChange]] = {}
        self.sessions_ended_listeners: list[Callable[[set[str] | None], None]] = []
        """Called with the session keys that ended anywhere (None: maybe any, after the broker
        may have lost a control), e.g. to drop them from a cache of signed-in sessions."""
        self.users_changed_listeners: list[Callable[[set[int]], None]] = []
        """Called with the ids of users that changed anywhere (``users_changed``). After the
        broker may have lost a control, the sessions-ended listeners get None instead."""
        self.local_users_listeners: list[Callable[[int, bool], None]] = []
        """Called with ``(user_id, True)`` when a stream of a user has opened on this process
        (each time), ``(user_id, False)`` when their last one here has gone (``presence/``)."""
        metrics.streams_open.set_function(self.subscriber_count)

    async def start(self) -> None:
        if self.log is not None:
            self.position = await self.log.head()
        await self.broker.start(self)
        self._heartbeat_task = asyncio.create_task(self._beat(), name="tidings-heartbeat")
        self._sweep_task = asyncio.create_task(self._sweep_stalled(), name="tidings-stall-sweep")
        _running_hubs.add(self)

    async def stop(self) -> None:
        self.close_all("shutdown")
        for task in (self._heartbeat_task, self._sweep_task, self._fill_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.broker.stop()
        _running_hubs.discard(self)

    def subscriber_count(self, user_id: int | None = None) -> int:
        if user_id is not None:
            return len(self._subscribers.get(user_id, ()))
        return self._count

    async def wait_subscriber_count(self, count: int, user_id: int | None = None) -> None:
        """Return once exactly ``count`` streams (of ``user_id``, or in all) are subscribed."""
        async with self._count_changed:
            await self._count_changed.wait_for(lambda: self.subscriber_count(user_id) == count)

    async def _notify_count_changed(self) -> None:
        async with self._count_changed:
            self._count_changed.notify_all()

    async def subscribe(
        self, user_id: int, *, session_key: str | None = None, expires_at: float | None = None
    ) -> Subscriber:
        """Register a stream of ``user_id``; events published from now on reach it.

        A user past ``max_streams_per_user`` streams here loses the oldest: one browser needs
        one stream, so an old one is most likely a tab that is gone, or an abuser's.
        """
        subscriber = Subscriber(
            user_id, self.buffer_bytes, session_key=session_key, expires_at=expires_at
        )
        subscribers = self._subscribers.get(user_id)
        try:
            if subscribers is None:
                self._subscribers[user_id] = {subscriber: None}
                self._count += 1
                watched = self._watching[user_id] = asyncio.get_running_loop().create_future()
                try:
                    await self.broker.watch(user_id)
                    await self._load_spans(user_id)
                finally:
                    watched.set_result(None)
                    if self._watching.get(user_id) is watched:
                        del self._watching[user_id]
            else:
                self._make_room(subscribers)
                subscribers[subscriber] = None
                self._count += 1
                while user_id not in self._spans:
                    if (watching := self._watching.get(user_id)) is not None:
                        # The user's first stream is still waiting for the broker to confirm, or
                        # for the user's channels; until then, events might not reach this one.
                        await asyncio.shield(watching)
                        continue
                    # The stream that was loading the user's channels failed or was cancelled
                    # (or the index was dropped): this one loads them, or fails to open.
                    loading = self._watching[user_id] = asyncio.get_running_loop().create_future()
                    try:
                        await self._load_spans(user_id)
                    finally:
                        loading.set_result(None)
                        if self._watching.get(user_id) is loading:
                            del self._watching[user_id]
        except BaseException:
            self._forget(subscriber)
            if user_id not in self._subscribers:
                # The user's last stream here failed to open: stop receiving for them.
                with contextlib.suppress(Exception):
                    await self.broker.unwatch(user_id)
            raise
        await self._notify_count_changed()
        # Every open says so (the listeners keep their own set): with several streams of a
        # user opening at once, the first to finish is not always the first to have begun.
        self._tell_local_users(user_id, True)
        return subscriber

    def local_users(self) -> list[int]:
        """The users with a stream on this process."""
        return list(self._subscribers)

    def _tell_local_users(self, user_id: int, present: bool) -> None:
        for listener in self.local_users_listeners:
            try:
                listener(user_id, present)
            except Exception:
                logger.exception("a local users listener failed")

    def _make_room(self, subscribers: dict[Subscriber, None]) -> None:
        """Close the oldest open streams of a user so that one more fits the per-user cap."""
        still_open = [s for s in subscribers if not s.closed]
        for oldest in still_open[: max(0, len(still_open) + 1 - self.max_streams_per_user)]:
            oldest.close("replaced")
            self.metrics.streams_replaced.inc()

    def _forget(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.user_id)
        if subscribers is not None:
            if subscribers.pop(subscriber, 0) is None:  # it was there
                self._count -= 1
            if not subscribers:
                del self._subscribers[subscriber.user_id]
                self._drop_spans(subscriber.user_id)
                self._tell_local_users(subscriber.user_id, False)

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.user_id)
        if subscribers is None or subscriber not in subscribers:
            return
        del subscribers[subscriber]
        self._count -= 1
        await self._notify_count_changed()
        if not subscribers:
            del self._subscribers[subscriber.user_id]
            self._drop_spans(subscriber.user_id)
            self._tell_local_users(subscriber.user_id, False)
            try:
                await self.broker.unwatch(subscriber.user_id)
            except Exception:
                self.metrics.broker_errors.inc()
                logger.warning("broker unwatch failed", exc_info=True)

    async def end_sessions(self, user_id: int, session_keys: Sequence[str]) -> None:
        """Close ``user_id``'s streams opened with these sessions, on every process.

        Called after the commit that ended the sessions. Never raises: if the broker cannot
        carry it, streams elsewhere re-check their session when the broker is back (catch-up)
        and at their next reconnect.
        """
        if not session_keys:
            return
        control = {"type": END_SESSIONS, "sessions": list(session_keys)}
        try:
            await self.broker.publish_control(user_id, control)
        except Exception:
            self.metrics.broker_errors.inc()
            logger.warning("publishing the end of sessions failed", exc_info=True)

    async def users_changed(self, user_ids: Sequence[int]) -> None:
        """Tell every process (this one included) that these users changed, after the commit
        that changed them. Never raises: if the broker cannot carry it, every process drops
        its whole session cache when the broker is back (catch-up)."""
        if not user_ids:
            return
        control = {"type": USERS_CHANGED, "users": list(user_ids)}
        try:
            await self.broker.publish_control(user_ids[0], control)
        except Exception:
            self.metrics.broker_errors.inc()
            logger.warning("publishing a change of users failed", exc_info=True)

    def on_control(self, user_id: int, control: Mapping[str, Any]) -> None:
        """Apply a control that reached this process for ``user_id``'s streams."""
        if control.get("type") == USERS_CHANGED:
            changed = {u for u in control.get("users") or () if type(u) is int}
            for changed_listener in self.users_changed_listeners:
                changed_listener(changed)
            return
        if control.get("type") != END_SESSIONS:
            logger.warning("ignored an unknown control %r", control.get("type"))
            return
        ended = set(control.get("sessions") or ())
        for subscriber in tuple(self._subscribers.get(user_id, ())):
            if subscriber.session_key in ended:
                subscriber.close("session_ended")
        for listener in self.sessions_ended_listeners:
            listener(ended)

    async def publish(self, batch: Batch) -> None:
        """Hand a committed batch to this process's streams, then to the broker for the
        others. Never raises: the log keeps the events, and other processes read what the
        broker lost from it."""
        self.hand_on_committed(batch)
        await self.publish_to_others(batch)

    def hand_on_committed(self, batch: Batch) -> None:
        """This process's own committed batch, to its streams (the first half of ``publish``)."""
        self.metrics.events_published.inc(len(batch.events))
        self.on_batch(batch)

    async def publish_to_others(self, batch: Batch) -> None:
        """The second half of ``publish``: the batch to the other processes. Never raises."""
        try:
            await self.broker.publish(batch)
        except Exception:
            self.metrics.broker_errors.inc()
            logger.warning("publishing %d events failed", len(batch.events), exc_info=True)

    async def send_ephemeral(self, user_ids: Iterable[int], event: EventData) -> None:
        """Deliver ``event`` to the open streams of these users, on every process, once.

        Never logged, numbered or replayed: a stream that is not open, or opens later, does
        not get it, and its frame carries no ``id:``. Serialized once for all addressees.
        Never raises: if the broker cannot carry it (Redis down), it is lost.
        """
        event_type, data = event.event_type(), event.model_dump_json()
        events = [EphemeralEvent(user_id, event_type, data) for user_id in dict.fromkeys(user_ids)]
        if not events:
            return
        try:
            await self.broker.publish_ephemeral(events)
        except Exception:
            self.metrics.broker_errors.inc()
            logger.warning("an ephemeral %r event was lost", event_type, exc_info=True)

    def on_ephemeral(self, events: Sequence[EphemeralEvent]) -> None:
        """Put ephemeral events in the buffers of this process's streams of their addressees."""
        subscribers = self._subscribers
        for event in events:
            targets = subscribers.get(event.user_id)
            if targets:
                self._offer(targets, event)

    def _offer(self, targets: dict[Subscriber, None], item: Delivery) -> None:
        for subscriber in tuple(targets):
            if subscriber.closed_reason is None and not subscriber.offer(item):
                self.metrics.overflows.inc()

    # The sequencer: batches to streams in log order, complete.

    def on_batch(self, batch: Batch) -> None:
        """Take a committed batch: hand it on now if it is next, else hold it until what comes
        before it is here (or read from the log)."""
        if batch.last <= self.position:
            return  # handed on already (our own, or read from the log)
        if batch.first > self.position + 1:
            held = self._early.get(batch.first)
            if held is None or held.last < batch.last:
                self._early[batch.first] = batch
            self._start_fill()
            return
        self._hand_on(batch)
        self._release_early()

    def _release_early(self) -> None:
        while self._early:
            first = min(self._early)
            if first > self.position + 1:
                return
            self._hand_on(self._early.pop(first))

    def _hand_on(self, batch: Batch) -> None:
        """Deliver what of a batch is after ``position``, membership changes first at each
        position, and advance to its end."""
        changes = [m for m in batch.memberships if m.pos > self.position]
        next_change = 0
        subscribers = self._subscribers
        for event in batch.events:
            if event.pos <= self.position:
                continue
            while next_change < len(changes) and changes[next_change].pos <= event.pos:
                self._apply_membership(changes[next_change])
                next_change += 1
            if event.user_id is not None:
                targets = subscribers.get(event.user_id)
                if targets:
                    self._offer(targets, event)
            elif event.channel_id is not None:
                self._deliver_to_channel(event.channel_id, event)
        for change in changes[next_change:]:
            self._apply_membership(change)
        self.position = max(self.position, batch.last)

    def _deliver_to_channel(self, channel_id: int, event: StoredEvent) -> None:
        users = self._channel_users.get(channel_id)
        if not users:
            return
        pos = event.pos
        for user_id in tuple(users):
            spans = self._spans[user_id].get(channel_id, ())
            if any(
                joined is not None and joined <= pos and (left is None or pos < left)
                for joined, left in spans
            ):
                targets = self._subscribers.get(user_id)
                if targets:
                    self._offer(targets, event)

    def _start_fill(self) -> None:
        if self._fill_task is None or self._fill_task.done():
            self._fill_task = asyncio.create_task(self._fill(), name="tidings-sequencer-fill")

    async def _fill(self) -> None:
        """Read from the log what the broker did not bring: positions before a batch that came
        early (after a short wait for them to arrive), or up to the log's head after the
        broker may have dropped something. A page at a time, so that a process far behind
        (after a long broker outage) does not read the whole gap into memory at once."""
        await asyncio.sleep(self.gap_wait_seconds)
        backoff = self.gap_wait_seconds
        target = 0
        while True:
            if self.log is None:
                # Nothing to read the gap from: hand on what we have, in order.
                for first in sorted(self._early):
                    self._hand_on(self._early.pop(first))
                self._fill_to_head = False
                return
            try:
                if self._fill_to_head:
                    self._fill_to_head = False
                    target = max(target, await self.log.head())
                if self._early:
                    target = max(target, min(self._early) - 1)
                if self.position >= target:
                    self._release_early()
                    if not self._early and not self._fill_to_head:
                        return
                    continue
                after = self.position
                up_to = min(target, after + FILL_PAGE_POSITIONS)
                batch = await self.log.batch_between(after, up_to)
                if batch is None:
                    # Pruned: streams here cannot continue exactly, and the membership changes
                    # in the gap are gone with it, so the channel index cannot be brought up to
                    # date either. Drop it and end every local stream: each client reconnects,
                    # resyncs from the log, and its new stream reads its channels afresh.
                    self.position = max(self.position, up_to)
                    self._spans.clear()
                    self._channel_users.clear()
                    self.close_all("resync")
                else:
                    self.metrics.gap_fills.inc()
                    self._hand_on(batch)
                self._release_early()
                backoff = self.gap_wait_seconds
            except Exception:
                self.metrics.broker_errors.inc()
                logger.warning("reading missed events from the log failed", exc_info=True)
                backoff = min(max(backoff * 2, 0.1), 5.0)
                await asyncio.sleep(backoff)

    def catch_up_all(self) -> None:
        """After the broker may have dropped something: read the log up to its head, and make
        every local stream re-check its session (ending sessions travels on the broker too)."""
        self._fill_to_head = True
        self._start_fill()
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.offer(CATCH_UP)
        for listener in self.sessions_ended_listeners:
            listener(None)

    # The channel index: which local users a channel's events go to.

    async def _load_spans(self, user_id: int) -> None:
        """Index the user's channel memberships (their first stream here is opening).

        Changes that the sequencer hands on meanwhile are kept and applied on top: spans are
        keyed by position, so applying one twice changes nothing. Channel events handed on
        before this returns do not reach the user's new stream live; it reads them from the
        log, since it replays up to the head it reads after subscribing.
        """
        if self.log is None:
            self._spans.setdefault(user_id, {})
            return
        seen: list[MembershipChange] = []
        self._loading_spans[user_id] = seen
        try:
            loaded = await self.log.channel_spans(user_id, self.position)
        finally:
            del self._loading_spans[user_id]
        spans: dict[int, list[list[int | None]]] = {}
        for channel_id, joined, left in loaded:
            spans.setdefault(channel_id, []).append([joined, left])
        self._spans[user_id] = spans
        for change in seen:
            self._apply_membership(change)
        for channel_id in spans:
            self._channel_users.setdefault(channel_id, set()).add(user_id)

    def _drop_spans(self, user_id: int) -> None:
        for channel_id in self._spans.pop(user_id, {}):
            users = self._channel_users.get(channel_id)
            if users is not None:
                users.discard(user_id)
                if not users:
                    del self._channel_users[channel_id]

    def _apply_membership(self, change: MembershipChange) -> None:
        user_id, channel_id, pos = change.user_id, change.channel_id, change.pos
        loading = self._loading_spans.get(user_id)
        if loading is not None:
            loading.append(change)
        user_spans = self._spans.get(user_id)
        if user_spans is None:
            return
        spans = user_spans.setdefault(channel_id, [])
        if change.joined:
            if not any(joined == pos for joined, _ in spans):
                spans.append([pos, None])
            self._channel_users.setdefault(channel_id, set()).add(user_id)
        else:
            for span in spans:
                joined = span[0]
                if joined is not None and joined < pos and (span[1] is None or span[1] == pos):
                    span[1] = pos
            # Everything handed on from now on is at or after ``pos``: ended spans are done.
            spans[:] = [span for span in spans if span[1] is None or span[1] > pos]
            if not spans:
                del user_spans[channel_id]
                users = self._channel_users.get(channel_id)
                if users is not None:
                    users.discard(user_id)
                    if not users:
                        del self._channel_users[channel_id]

    def close_all(self, reason: str) -> None:
        if reason == "shutdown":
            self.shutting_down = True
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                subscriber.close(reason)

    async def _sweep_stalled(self) -> None:
        """Close streams stuck in one write for longer than the write timeout.

        One sweep for all streams, a few times per timeout, rather than a timer around every
        write: writes are the hot path (a heartbeat is 19,800 writes; a group message one per
        member), and a timer each cost more than the write itself. Closing a stream that is
        blocked writing cancels it; it then drops its connection.
        """
        loop = asyncio.get_running_loop()
        interval = max(0.05, self.write_timeout_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            too_old = loop.time() - self.write_timeout_seconds
            for subscribers in self._subscribers.values():
                for subscriber in subscribers:
                    started = subscriber.send_started_at
                    if started is not None and started < too_old:
                        self.metrics.stalls.inc()
                        subscriber.close("stalled")

    async def _beat(self) -> None:
        """Heartbeats for every stream from one timer, spread over the period: each tick
        (``beat_tick_seconds``) beats the streams of one slice of the users (by id), so every
        stream still gets one per ``heartbeat_seconds``. Beating all at once held the event loop
        for one long turn (10,000 streams: ~200 ms, every request and delivery waiting behind
        it). Streams whose session expired end."""
        loop = asyncio.get_running_loop()
        slices = max(1, int(self.heartbeat_seconds / self.beat_tick_seconds))
        tick = self.heartbeat_seconds / slices
        turn = 0
        while True:
            await asyncio.sleep(tick)
            self.beat_slice(turn, slices, loop.time())
            turn = (turn + 1) % slices

    def beat_slice(self, turn: int, slices: int, now: float) -> None:
        """A heartbeat to the streams of the users whose id is ``turn`` modulo ``slices``;
        those whose session expired by ``now`` (event-loop time) end instead."""
        for user_id, subscribers in self._subscribers.items():
            if user_id % slices != turn:
                continue
            for subscriber in subscribers:
                if subscriber.expires_at is not None and subscriber.expires_at <= now:
                    subscriber.close("session_expired")
                else:
                    subscriber.offer(HEARTBEAT)


def broker_from_url(url: str | None, *, prefix: str = "tidings") -> Broker:
    """``None`` or ``memory://``: in-process; ``redis://...``: Redis pub/sub between processes."""
    if url is None or url.startswith("memory://"):
        from tidings.realtime.brokers.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from tidings.realtime.brokers.redis import RedisBroker

        return RedisBroker(url, prefix=prefix)
    raise ValueError(f"unsupported broker URL: {url!r}")
