"""Delivering bots' events to their webhooks: in log order, one at a time, signed, retried.

Each process runs a ``WebhookDispatcher`` (started and stopped with the app's context). What
it delivers is read from the event log, never from memory: a bot's events are exactly what its
stream would replay (its own and its conversations' within its membership spans,
``log.events_page``), and the webhook's ``cursor`` says how far delivery got. So a restart,
or a process dying, loses nothing: whoever delivers next starts after the cursor.

One process at a time. A process delivers a webhook while it holds the webhook's lease
(``leased_until``, ``lease_owner``), claimed with a conditional UPDATE (free, expired, or its
own), renewed while it works (at half the lease), given back on a clean stop; a process that
dies lets go when the lease runs out (``WEBHOOK_LEASE_SECONDS``). Every write of a worker (the
attempt and the cursor) is conditional on still holding the lease; one that finds it gone stops.
A worker renews before an attempt whenever less than half the lease is left, and an attempt
lasts at most ``WEBHOOK_TIMEOUT_SECONDS``, so a live worker never posts on an expired lease
(unless its clock or database stalls for half a lease: keep the lease well above the timeout).
Leases are times written by one process and read by the others: their clocks must agree to well
within a lease (NTP does).

Order and retries. One event at a time: a 2xx moves the cursor past it; anything else (another
status, a timeout, a refused address, no connection) counts a failure and tries the *same*
event again after ``WEBHOOK_RETRY_BASE_SECONDS`` doubling per failure in a row, up to
``WEBHOOK_RETRY_MAX_SECONDS``, jittered (half to all of it). Nothing is skipped. A cursor behind
the log's retention floor (the receiver was failing for longer than the log keeps events) gets
one ``resync`` event, then delivery carries on from the floor.

At least once, not exactly once: if the process stops between the receiver's 2xx and the
cursor's update, the event goes again (receivers dedupe by ``Tidings-Event-Id``). A clean stop
lets an attempt under way finish and be recorded first, so only a crash repeats one.

Waking up. While a worker has nothing to send it waits for the hub's position (the last log
position this process's hub handed on: every process's commits, through the broker) to pass
the head it read: one task per process compares that number every ``HEAD_POLL_SECONDS``, in
memory, so an idle server does no database work for its webhooks, and a new event is read
within that interval of reaching the hub. (A hook in the hub would save the polling but tie
the hub to a domain; the comparison's loop measured ~2 ms of CPU a second.) Every quarter lease
a worker also looks anyway, and notes in its renewal how far it found nothing, so an idle
webhook's cursor keeps up with the log and never falls behind the floor. A new PUT wakes the
workers of the process that took it at once; a worker on another process sees it at its next
look (a quarter lease at most).

A retry reads its event from the log again, never from memory: meanwhile it may have been
rewritten (a deleted message's content taken out) or pruned (then ``resync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from tidings import __version__
from tidings.config import Settings
from tidings.db import Database, utcnow
from tidings.realtime.events import StoredEvent
from tidings.realtime.hub import Hub
from tidings.realtime.metrics import Metrics
from tidings.realtime.writer import RowLocks, Writer
from tidings.webhooks import store
from tidings.webhooks.addresses import AddressRefused, resolve_target

logger = logging.getLogger(__name__)

HEAD_POLL_SECONDS = 0.1
PAGE_EVENTS = 100
"""Events read from the log at a time for one webhook (then delivered one by one)."""
MAX_ERROR_LENGTH = 500
MAX_ANSWER_BYTES = 64 * 1024
"""Of a receiver's answer, at most this much is read (and thrown away)."""
USER_AGENT = f"Tidings-Webhook/{__version__}"


def event_body(event: StoredEvent) -> bytes:
    """The POSTed body: ``{"id": "<pos>", "type": ..., "data": {...}}`` (the stored payload as
    it is, not parsed again)."""
    return f'{{"id":"{event.pos}","type":{json.dumps(event.type)},"data":{event.data}}}'.encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``Tidings-Signature``: ``v1=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def retry_delay(failures: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after ``failures`` failures in a row: ``base`` doubling,
    at most ``cap``, jittered to between half and all of it (receivers coming back from an
    outage are not hit by every webhook at once)."""
    delay = min(cap, base * 2.0 ** min(failures - 1, 60))
    return float(delay * (0.5 + random.random() / 2))


def resync_event(floor: int) -> StoredEvent:
    """What a webhook gets instead of events pruned before it got them."""
    return StoredEvent(floor, "resync", json.dumps({"last_event_id": str(floor)}))


async def _wait_any(events: list[asyncio.Event], seconds: float) -> None:
    """Until one of ``events`` is set, or ``seconds`` have passed."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(0.0, seconds), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@dataclass(eq=False)
class _Worker:
    """The delivery of one webhook in this process, while it holds the lease."""

    webhook_id: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    pending: deque[StoredEvent] = field(default_factory=deque)
    """Events read from the log and not yet delivered, in order."""
    scanned: int = 0
    """A position up to which the log was found to hold nothing more for the bot."""
    task: asyncio.Task[None] | None = None


class WebhookDispatcher:
    """This process's deliveries: claims free webhooks, runs a worker for each it holds."""

    def __init__(
        self, db: Database, writer: Writer, hub: Hub, settings: Settings, metrics: Metrics
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.writer = writer
        self.hub = hub
        self.settings = settings
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"
        """This process's name in ``lease_owner`` (a new one on every start)."""
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self._workers: dict[int, _Worker] = {}
        self._wake = asyncio.Event()
        self._moved = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    @property
    def _look_seconds(self) -> float:
        """How often an idle worker looks at its row and the log anyway (and the claim loop
        for free webhooks): a quarter of the lease, at most 5 s for claims."""
        return self.settings.webhook_lease_seconds / 4

    async def start(self) -> None:
        timeout = self.settings.webhook_timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="tidings-webhook-claims"),
            asyncio.create_task(self._watch_head(), name="tidings-webhook-head"),
        ]

    async def stop(self) -> None:
        """Stop delivering: workers finish an attempt under way (and record it), then the
        leases are given back so another process (or this one, restarted) carries on at once."""
        self._stopping.set()
        workers = [w.task for w in self._workers.values() if w.task is not None]
        if workers:
            await asyncio.wait(workers, timeout=self.settings.webhook_timeout_seconds + 2)
        for task in [*self._tasks, *workers]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.writer.run(store.release, self.owner)
        except Exception:
            logger.warning("giving back the webhook leases failed (they expire)", exc_info=True)
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        """A webhook was set or changed: look for free ones, and make every worker re-read
        its row now (a new URL is retried at once)."""
        self._wake.set()
        for worker in self._workers.values():
            worker.wake.set()

    @property
    def delivering(self) -> list[int]:
        """The webhooks this process holds."""
        return sorted(self._workers)

    async def _watch_head(self) -> None:
        position = self.hub.position
        while True:
            await asyncio.sleep(HEAD_POLL_SECONDS)
            if self.hub.position != position:
                position = self.hub.position
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._claim_free()
            except Exception:
                logger.warning("looking for webhooks to deliver failed", exc_info=True)
            await _wait_any([self._wake, self._stopping], min(5.0, self._look_seconds))
            self._wake.clear()

    async def _claim_free(self) -> None:
        now = utcnow()
        for webhook_id in await self.db.run_query(store.claimable, self.owner, now):
            if webhook_id in self._workers or self._stopping.is_set():
                continue
            claimed = await self.writer.run(
                store.claim,
                webhook_id,
                self.owner,
                now,
                now + self.lease,
                locks=self._locks(webhook_id),
            )
            if claimed:
                worker = self._workers[webhook_id] = _Worker(webhook_id)
                worker.task = asyncio.create_task(
                    self._run(worker), name=f"tidings-webhook-{webhook_id}"
                )

    @staticmethod
    def _locks(webhook_id: int) -> RowLocks:
        return RowLocks(store.webhook_table, (webhook_id,))

    async def _run(self, worker: _Worker) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    if not await self._step(worker):
                        return
                except Exception:
                    # The database, most likely: try again shortly, still holding the lease
                    # (or finding it gone).
                    logger.warning(
                        "webhook %d: delivery step failed", worker.webhook_id, exc_info=True
                    )
                    await _wait_any([self._stopping], 1.0)
        finally:
            self._workers.pop(worker.webhook_id, None)

    async def _step(self, worker: _Worker) -> bool:
        """One step of a worker: renew, wait, read or deliver. False: stop (the webhook is
        gone or someone else's)."""
        webhook_id = worker.webhook_id
        state = await self.db.run_query(store.load, webhook_id)
        if state is None or state.lease_owner != self.owner:
            return False
        now = utcnow()
        if state.leased_until is None or state.leased_until - now < self.lease / 2:
            idle = None
            if not worker.pending and worker.scanned > state.cursor:
                idle = (state.cursor, worker.scanned)
            return bool(
                await self.writer.run(
                    store.renew,
                    webhook_id,
                    self.owner,
                    now + self.lease,
                    idle,
                    locks=self._locks(webhook_id),
                )
            )
        if state.next_attempt_at is not None and state.next_attempt_at > now:
            wait = (state.next_attempt_at - now).total_seconds()
            await _wait_any([worker.wake, self._stopping], min(wait, self._look_seconds))
            worker.wake.clear()
            return True
        while worker.pending and worker.pending[0].pos <= state.cursor:
            worker.pending.popleft()
        if not worker.pending:
            after = max(state.cursor, worker.scanned)
            head, page, floor = await self.db.run_query(
                store.next_events, state.bot_id, after, PAGE_EVENTS
            )
            if page is None:
                worker.pending.append(resync_event(floor))
            elif not page:
                worker.scanned = max(worker.scanned, head)
                await self._wait_for_events(worker, head)
                return True
            else:
                worker.pending.extend(page)
        if self._stopping.is_set():
            return False
        event = worker.pending[0]
        outcome = await self._post(state.url, state.secret, event)
        attempt = state.failures + 1
        next_attempt_at = None
        if not outcome.succeeded:
            delay = retry_delay(
                attempt,
                self.settings.webhook_retry_base_seconds,
                self.settings.webhook_retry_max_seconds,
            )
            next_attempt_at = utcnow() + timedelta(seconds=delay)
            logger.info(
                "webhook %d: event %d failed (%s), attempt %d; next in %.1f s",
                webhook_id,
                event.pos,
                outcome.error,
                attempt,
                delay,
            )
        kept = await self.writer.run(
            store.record_attempt,
            webhook_id,
            self.owner,
            event,
            attempt,
            outcome,
            next_attempt_at,
            locks=self._locks(webhook_id),
        )
        if outcome.succeeded:
            self.metrics.webhook_deliveries.inc()
            worker.pending.popleft()
        else:
            self.metrics.webhook_failures.inc()
            # A retry reads the log again: meanwhile the event may have been rewritten (a
            # deleted message's content taken out) or pruned (then the receiver gets resync).
            worker.pending.clear()
        return bool(kept)

    async def _wait_for_events(self, worker: _Worker, head: int) -> None:
        """Until the hub has handed on something after ``head`` (maybe for this bot), the
        webhook changes, or it is time to look anyway."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._look_seconds
        while self.hub.position <= head and not worker.wake.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stopping.is_set():
                break
            await _wait_any([self._moved, worker.wake, self._stopping], remaining)
        worker.wake.clear()

    async def _post(self, url: str, secret: str, event: StoredEvent) -> store.Outcome:
        """One attempt: the signed POST, and what came of it."""
        assert self._client is not None
        body = event_body(event)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Tidings-Event-Id": str(event.pos),
            "Tidings-Timestamp": timestamp,
            "Tidings-Signature": sign(secret, timestamp, body),
        }
        timeout = self.settings.webhook_timeout_seconds
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(timeout):
                target = await resolve_target(
                    url, allow_private=self.settings.webhook_allow_private_addresses
                )
                async with self._client.stream(
                    "POST",
                    target.url,
                    content=body,
                    headers={**headers, **target.headers},
                    extensions=target.extensions,
                ) as response:
                    status = response.status_code
                    # A short answer is read to its end, so that its connection can carry the
                    # next event; a longer one is cut off (and its connection closed).
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break
        except AddressRefused as refused:
            error = str(refused)
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {timeout:g} s"
        except (httpx.HTTPError, OSError) as failure:
            error = (
                f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            )
        if status is not None and 200 <= status < 300:
            error = None  # delivered, whatever happened to the rest of the answer
        elif status is not None:
            error = f"the receiver answered {status}"
            if 300 <= status < 400:
                error += " (redirects are not followed)"
        duration_ms = round((time.monotonic() - started) * 1000)
        return store.Outcome(
            status, None if error is None else error[:MAX_ERROR_LENGTH], duration_ms
        )
